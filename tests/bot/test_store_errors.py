"""A store that is damaged, read-only, full or unreachable: one line naming the database and
the reason, exit status 2, nothing half-written; read-only commands never write. Every case
runs the real CLI in a subprocess, as a user would meet it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.sample import SAMPLE_CSV
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing

CLI = "from bot.cli.app import main; main()"
# A disk that fills up: SQLite's own page limit gives the same SQLITE_FULL a full disk does.
# Installed in the subprocess on every new connection, before the CLI runs.
FULL_DISK = (
    "from sqlalchemy import event; from sqlalchemy.pool import Pool\n"
    "def cap(dbapi, record):\n"
    "    pages = dbapi.execute('PRAGMA page_count').fetchone()[0]\n"
    "    dbapi.execute(f'PRAGMA max_page_count={pages + 4}')\n"
    "event.listen(Pool, 'connect', cap)\n"
)
READ_ONLY_COMMANDS = [
    ["status"],
    ["db", "current"],
    ["config", "show"],
    ["bids", "list"],
    ["sales"],
    ["pins", "--no-check"],
]


def run_cli(
    *args: str, prelude: str = "", drop_root_powers: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", prelude + CLI, *args]
    if drop_root_powers and os.geteuid() == 0:
        # Root writes through any permission bits; without these capabilities a directory's
        # mode applies to it as to anyone (util-linux setpriv).
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--",
                   *command]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


def make_store(data_dir: Path, listings: int = 30) -> Path:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        for n in range(listings):
            upsert_listing(
                session,
                {
                    "source": "test",
                    "marketplace": "hive",
                    "item_id": f"i{n}",
                    "title": "Cats",
                    "price": f"{10 + n}",
                    "currency": "SWAP.HIVE",
                    "likes": n,
                    "nsfw": False,
                    "media_type": "PHOTO",
                    "year": 2020,
                },
            )
    engine.dispose()
    return data_dir / "bot.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_that_is_not_a_database(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "bot.db").write_bytes(b"\0" * 8192)  # zeroed
    expected = "database ", "bot.db is not a SQLite database (truncated or overwritten?)"
    one_line_error(run_cli("status"), *expected)
    one_line_error(run_cli("curate"), *expected)


def test_a_truncated_database(data_dir: Path) -> None:
    path = make_store(data_dir, listings=400)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    one_line_error(run_cli("curate"), "bot.db is damaged", "restore a backup")
    path.write_bytes(b"")  # truncated to nothing: refused, not rebuilt empty over the loss
    one_line_error(run_cli("status"), "bot.db is an empty file (truncated?)")
    assert path.stat().st_size == 0


def test_random_bytes_in_a_page_stop_a_write_before_it_starts(data_dir: Path) -> None:
    """Damage in a table the command does not read (here `sales`) would go unnoticed by the
    queries; the quick check before a writing command finds it, and nothing is written."""
    path = make_store(data_dir)
    with sqlite3.connect(path) as connection:
        root, page_size = connection.execute(
            "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master"
            " WHERE name = 'sales'"
        ).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(os.urandom(8) + b"\xff" * 56)
    before = digest(path)

    one_line_error(run_cli("curate"), "bot.db is damaged", "bot db check")
    assert digest(path) == before  # curate changed nothing
    check = run_cli("db", "check")
    assert check.returncode == 1 and "damaged" in check.stdout, check.stdout + check.stderr
    doctor = run_cli("doctor")
    assert "Traceback" not in doctor.stderr and "damaged" in doctor.stdout


def test_text_that_is_not_utf8_is_damage_not_a_traceback(data_dir: Path) -> None:
    path = make_store(data_dir)
    with sqlite3.connect(path) as connection:  # what random bytes over a row's text look like
        # A column curation reads (it reads only what it needs; item_id and title are not).
        connection.execute(
            "UPDATE listings SET media_type = CAST(x'ff00fe41' AS TEXT) WHERE id = 3"
        )
    one_line_error(run_cli("curate"), "bot.db is damaged", "Could not decode to UTF-8")


def test_a_read_only_data_dir_serves_reads_and_refuses_writes_in_one_line(
    data_dir: Path,
) -> None:
    path = make_store(data_dir)
    files_before = sorted(p.name for p in data_dir.iterdir())
    before = digest(path)
    data_dir.chmod(0o555)
    try:
        status = run_cli("status", "--json", drop_root_powers=True)
        assert status.returncode == 0 and '"candidate": 0' in status.stdout, status.stderr
        doctor = run_cli("doctor", drop_root_powers=True)
        assert "Traceback" not in doctor.stderr and "quick_check ok" in doctor.stdout
        one_line_error(
            run_cli("curate", drop_root_powers=True),
            "bot.db is read-only (its directory",
            "cannot be written)",
        )
    finally:
        data_dir.chmod(0o755)
    assert sorted(p.name for p in data_dir.iterdir()) == files_before
    assert digest(path) == before


def test_every_read_only_command_works_on_a_read_only_data_dir_and_creates_nothing(
    data_dir: Path,
) -> None:
    def run_all(drop_root_powers: bool = False) -> list[int]:
        # One interpreter runs every command through main() in turn (the import is the slow
        # part of a CLI start); the last line is each command's exit status.
        prelude = (
            "import json, sys\n"
            "from bot.cli.app import main\n"
            "codes = []\n"
            f"for args in {READ_ONLY_COMMANDS!r}:\n"
            "    sys.argv = ['bot', *args]\n"
            "    try:\n"
            "        main()\n"
            "        codes.append(0)\n"
            "    except SystemExit as exc:\n"
            "        codes.append(exc.code or 0)\n"
            "print(json.dumps(codes))\n"
            "raise SystemExit(0)\n"
        )
        result = run_cli(prelude=prelude, drop_root_powers=drop_root_powers)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert run_all() == [0] * len(READ_ONLY_COMMANDS)
    assert not data_dir.exists()  # a missing database reads as empty, and stays missing
    path = make_store(data_dir)
    before = digest(path)
    data_dir.chmod(0o555)
    try:
        assert run_all(drop_root_powers=True) == [0] * len(READ_ONLY_COMMANDS)
    finally:
        data_dir.chmod(0o755)
    assert digest(path) == before


def test_a_read_only_database_file(data_dir: Path) -> None:
    path = make_store(data_dir)
    path.chmod(0o444)
    try:
        assert run_cli("status", drop_root_powers=True).returncode == 0
        one_line_error(run_cli("curate", drop_root_powers=True), "bot.db is read-only")
    finally:
        path.chmod(0o644)


def test_read_only_commands_create_nothing(data_dir: Path) -> None:
    for command in (["status"], ["db", "current"]):
        result = run_cli(*command)
        assert result.returncode == 0, (command, result.stderr)
    assert not data_dir.exists()  # no data dir, no bot.db, no schema

    path = make_store(data_dir)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # an older revision: read commands must not migrate
        connection.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    engine.dispose()
    before = digest(path)
    one_line_error(run_cli("status"), "revision 0005", "bot db upgrade")
    assert digest(path) == before


def test_a_full_disk_stops_the_import_with_nothing_half_written(
    data_dir: Path, tmp_path: Path
) -> None:
    path = make_store(data_dir, listings=0)
    csv = tmp_path / "sample.csv"
    shutil.copy(SAMPLE_CSV, csv)
    result = run_cli("import", "kaggle", str(csv), prelude=FULL_DISK)
    one_line_error(result, "disk full while writing database", "bot.db")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM listings").fetchone() == (0,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_unreachable_postgresql_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket_bound_and_closed() as port:
        monkeypatch.setenv(
            "BOT_DATABASE_URL", f"postgresql+psycopg://bot:secret@127.0.0.1:{port}/x"
        )
        line = one_line_error(run_cli("status"), "cannot reach database", f"127.0.0.1:{port}/x")
    assert "secret" not in line  # the password never reaches the output


class socket_bound_and_closed:  # noqa: N801 - used as a context manager
    """A loopback port nobody listens on (bound, not listening, for the test's duration)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_database_password_never_reaches_the_output(
    db_url: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli.app import app

    # The test server trusts 127.0.0.1, so any password is accepted and must still be hidden.
    monkeypatch.setenv("BOT_DATABASE_URL", db_url.replace("postgres@", "postgres:s3cret-pw@"))
    runner = CliRunner()
    outputs = []
    for args in (
        ["init"],
        ["import", "kaggle", str(SAMPLE_CSV)],
        ["eda", "--out", str(tmp_path / "eda")],
        ["db", "current"],
        ["db", "check"],
        ["config", "show"],
    ):
        result = runner.invoke(app, args)
        bad_rows = args[0] == "import"  # the sample's two bad rows: exit 1, the rest imported
        assert result.exit_code == (1 if bad_rows else 0), (args, result.output)
        outputs.append(result.output)
    outputs += [p.read_text() for p in (tmp_path / "eda").glob("*.html")]
    assert "postgres:***@127.0.0.1" in "".join(outputs)
    assert not any("s3cret-pw" in output for output in outputs)
