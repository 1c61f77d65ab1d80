"""A throwaway PostgreSQL cluster on 127.0.0.1 (a free port) for tests that must hold on both
engines. Needs the PostgreSQL server binaries (Debian: postgresql-15); as root it runs them as
the `postgres` user, since PostgreSQL refuses to run as root. Tests skip when it cannot start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class PostgresUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yields a SQLAlchemy URL (psycopg) of an empty database; stops and removes the cluster."""
    bin_dir = next((d for d in BIN_DIRS if (d / "initdb").exists()), None)
    if bin_dir is None:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    prefix: list[str] = []
    root = tempfile.mkdtemp(prefix="nftbot-pg-")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = Path(root) / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise PostgresUnavailable(f"{Path(args[0]).name}: {done.stderr.strip()[-500:]}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "bot", "--no-sync")
        options = f"-h 127.0.0.1 -p {port} -k {root} -F"
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            f"{root}/log",
            "-w",
            "start",
        )
        try:
            yield f"postgresql+psycopg://bot@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
