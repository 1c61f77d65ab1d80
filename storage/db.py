"""Engine and session helpers. SQLite runs in WAL mode so the daemon and the CLI can share it.

Nothing here is a module-level singleton: callers create an engine from a URL and pass it on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from storage import schema
from storage.models import load_all_models

# upgrade: run pending revisions (tests, `bot db upgrade`, the daemon's auto-upgrade);
# check: create an empty database, refuse an older or newer one (every other command);
# skip: leave the schema alone (tools that inspect a database as it is).
SchemaPolicy = Literal["upgrade", "check", "skip"]


def make_engine(url: str, *, schema_policy: SchemaPolicy = "upgrade") -> Engine:
    """Create an engine; for SQLite, create the parent dir, enable WAL and foreign keys.

    Every model module is imported first, so foreign keys between tables of different
    capabilities always resolve whichever module a caller happened to import.
    """
    load_all_models()
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if schema_policy == "upgrade":
        schema.upgrade(engine)
    elif schema_policy == "check":
        schema.check(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
        finally:
            destination.close()
    return target


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
