"""A throwaway PostgreSQL server for the tests: Debian's binaries, `initdb` in a temporary
directory, `pg_ctl start` on 127.0.0.1 at a free port (TCP only, no Unix socket), stopped and
deleted at the end. Durability is switched off (fsync, synchronous_commit): nothing here has to
survive a power cut, and it keeps a test database cheap.

PostgreSQL refuses to run as root; under root the server runs as the `postgres` system user
(which owns the temporary directory). Each test gets a database of its own
(`create_database`), dropped afterwards.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

SEARCH_DIRS = ("/usr/lib/postgresql",)  # Debian: /usr/lib/postgresql/<major>/bin


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    """The newest installed server's bin directory (initdb, pg_ctl), or None."""
    candidates: list[tuple[int, Path]] = []
    for root in SEARCH_DIRS:
        base = Path(root)
        if not base.is_dir():
            continue
        for version_dir in base.iterdir():
            bindir = version_dir / "bin"
            if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
                major = int(version_dir.name) if version_dir.name.isdigit() else 0
                candidates.append((major, bindir))
    on_path = shutil.which("pg_ctl")
    if not candidates and on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return max(candidates)[1] if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    run_as: str | None  # the system user the server runs as (None: the current user)
    _admin: Engine | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, args: Sequence[str], timeout: float = 60) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if completed.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}"
            )

    def start(self) -> None:
        self._run(["initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"], timeout=120)  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in settings.items()))
        log = self.root / "server.log"
        for attempt in range(3):  # the free port may be taken between the probe and the start
            with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write(f"port = {self.port}\n")  # the last setting of a name wins
            try:
                self._run(["pg_ctl", "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "60",
                           "start"], timeout=90)  # fmt: skip
                return
            except PostgresUnavailable:
                if attempt == 2:
                    raise
                self.port = _free_port()

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        return self._admin

    def create_database(self, template: str = "template0") -> str:
        """A new database: empty, or a copy of `template` (a database nobody is connected to)."""
        name = f"t_{secrets.token_hex(6)}"
        with self.admin().connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: engines a test left open must not keep the database alive.
        with self.admin().connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """Start a fresh server; raises PostgresUnavailable when none can run here."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (make test-deps installs Debian's postgresql)"
        )
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root, and no `postgres` user") from None
        run_as = "postgres"
    # Not under pytest's tmp_path: it is private to the current user (mode 700), and the
    # server may run as another one.
    root = Path(tempfile.mkdtemp(prefix="nftbot-pg-"))
    root.chmod(0o755)
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, port=_free_port(), run_as=run_as)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
