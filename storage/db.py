"""Engine and session helpers. SQLite runs in WAL mode so the daemon and the CLI can share it.

Nothing here is a module-level singleton: callers create an engine from a URL and pass it on.
Every engine translates the driver's errors about the store itself (damaged, read-only, full,
unreachable) into one-line `storage.errors.StoreError`s.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.pool import QueuePool, StaticPool
from sqlmodel import Session, SQLModel, create_engine

from storage import errors, schema
from storage.models import load_all_models

# upgrade: run pending revisions (tests, `bot db upgrade`, the daemon's auto-upgrade);
# check: create an empty database, refuse an older or newer one (every other command);
# skip: leave the schema alone (tools that inspect a database as it is).
SchemaPolicy = Literal["upgrade", "check", "skip"]
BUSY_TIMEOUT_MS = 30_000


def make_engine(
    url: str, *, schema_policy: SchemaPolicy = "upgrade", read_only: bool = False
) -> Engine:
    """Create an engine; for SQLite, create the parent dir, enable WAL and foreign keys.

    `read_only`: for commands that only read. Nothing is created or changed: SQLite opens the
    file read-only (`mode=ro`), PostgreSQL runs read-only transactions, and a database that
    does not exist yet (or has no tables) reads as an empty store held in memory.

    Every model module is imported first, so foreign keys between tables of different
    capabilities always resolve whichever module a caller happened to import.
    """
    load_all_models()
    where = errors.describe(url)
    if read_only:
        return _read_only_engine(url, where, schema_policy)
    path = _sqlite_path(url)
    if make_url(url).get_backend_name() == "sqlite":
        if path is not None:
            _make_parent(path)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    errors.install(engine, where)
    if schema_policy == "upgrade":
        schema.upgrade(engine)
    elif schema_policy == "check":
        _refuse_empty_file(path, where)
        schema.check(engine)
    return engine


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other engines and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.classify_os_error(exc) or errors.StoreUnavailable(
            f"cannot create the directory of database {path}: {exc.strerror}"
        ) from exc


def _refuse_empty_file(path: Path | None, where: str) -> None:
    """SQLite takes an empty file for an empty database; the bot never leaves one (WAL mode
    writes the header at once), so a zero-byte bot.db is a truncated one. Refuse it rather
    than build a fresh schema over the loss."""
    if path is not None and path.is_file() and path.stat().st_size == 0:
        raise errors.StoreDamaged(
            f"database {where} is an empty file (truncated?): restore a backup, or delete it "
            "to start a new database"
        )


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Sanity-check every b-tree page as it is read: random bytes over the file are reported
    # as damage at the first read instead of being used.
    cursor.execute("PRAGMA cell_size_check=ON")
    cursor.close()


def _read_only_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cell_size_check=ON")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _read_only_engine(url: str, where: str, schema_policy: SchemaPolicy) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is None or not path.exists():
            return _empty_store(where)
        _refuse_empty_file(path, where)
        uri = _read_only_uri(path)
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            ),
            poolclass=QueuePool,
        )
        event.listen(engine, "connect", _read_only_pragmas)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
    errors.install(engine, where)
    if schema_policy == "skip":
        return engine
    if schema.state(engine).is_empty:
        engine.dispose()
        return _empty_store(where)
    schema.check(engine)  # refuses an older or a newer schema; never writes (not empty)
    return engine


def _read_only_uri(path: Path) -> str:
    """`mode=ro` opens without writing the database. In WAL mode even a reader needs the
    -shm file: in a directory we cannot write, with no -wal file (no writer has the database
    open), `immutable=1` reads the file as it is; otherwise SQLite uses the existing files."""
    from urllib.parse import quote

    absolute = path.resolve()
    uri = f"file:{quote(str(absolute))}?mode=ro"
    wal = absolute.with_name(absolute.name + "-wal")
    if not os.access(absolute.parent, os.W_OK) and not wal.exists():
        uri += "&immutable=1"
    return uri


def _empty_store(where: str) -> Engine:
    """A store with every table and no rows, in memory: what a database that does not exist
    yet contains, without creating it."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    SQLModel.metadata.create_all(engine)
    errors.install(engine, where)
    return engine


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for other engines and in-memory ones)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return Path(database) if database and database != ":memory:" else None


def sqlite_backup(engine: Engine, *, suffix: str) -> Path | None:
    """A consistent copy of a SQLite database next to it (the WAL included), via SQLite's
    online backup API; None when there is no file to copy."""
    source = sqlite_file(engine)
    if source is None or not source.exists():
        return None
    target = source.with_name(source.name + suffix)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        destination = sqlite3.connect(target)
        try:
            raw.backup(destination)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            destination.close()
            target.unlink(missing_ok=True)  # never leave a partial copy that looks usable
            raise (errors.classify(exc, str(target)) or exc) from exc
        finally:
            destination.close()
    return target


def integrity_problems(engine: Engine, *, full: bool = False, limit: int = 20) -> list[str] | None:
    """What SQLite's own checker finds wrong with the database file: `PRAGMA quick_check`
    (every page and record; linear in the file size) or, with `full`, `PRAGMA
    integrity_check` (also that every index matches its table; a few times slower).
    [] when it is sound; None on engines without such a check (PostgreSQL: use pg_amcheck)."""
    try:
        return _sqlite_check(engine, full=full, limit=limit)
    except errors.StoreDamaged as exc:  # so damaged that the check itself cannot run
        return [str(exc)]


def refuse_damaged(engine: Engine) -> None:
    """Raise `StoreDamaged` when `PRAGMA quick_check` finds the SQLite file damaged, so that
    a command stops before it writes into it (about 2 ms per MB of database, warm cache)."""
    problems = _sqlite_check(engine, full=False, limit=1)
    if problems:
        where = errors.describe(engine.url.render_as_string(hide_password=False))
        raise errors.StoreDamaged(
            f"database {where} is damaged ({problems[0]}): restore a backup; `bot db check` "
            "lists the damage"
        )


def _sqlite_check(engine: Engine, *, full: bool, limit: int) -> list[str] | None:
    if engine.dialect.name != "sqlite":
        return None
    pragma = "integrity_check" if full else "quick_check"
    with engine.connect() as connection:
        rows = connection.execute(text(f"PRAGMA {pragma}({int(limit)})")).scalars().all()
    # SQLite prefixes page errors with "*** in database main ***" and a newline: one line each.
    problems = [" ".join(str(row).replace("*** in database main ***", "").split()) for row in rows]
    return [] if problems == ["ok"] else problems


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
