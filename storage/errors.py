"""Store errors a user can act on, in one line that names the database and the reason.

SQLite and PostgreSQL report a damaged, read-only, full or unreachable store as driver
exceptions (`sqlite3.DatabaseError`, psycopg's `OperationalError`, ...) that SQLAlchemy wraps;
left alone they end a command with a traceback, or are caught as "a bad row" and the batch goes
on writing into a broken store. `install(engine, where)` (called by `storage.db.make_engine`)
turns them, at the engine, into a `StoreError` that says what is wrong:

    database data/bot.db is not a SQLite database (truncated or overwritten?)
    database data/bot.db is read-only (its directory cannot be written)
    disk full while writing database data/bot.db

A `StoreError` is not a SQLAlchemy error on purpose: code that skips a bad row on
`SQLAlchemyError` does not skip it, so every write stops at the first such error, and the CLI
prints the line and exits with status 2. Transient conditions (a lock held by another writer, a
serialization failure on PostgreSQL) stay retryable: see `is_transient`.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError


class StoreError(Exception):
    """The store cannot be used as it is; `str(error)` is the line to show the user."""


class StoreDamaged(StoreError):
    """Not a database, or a database whose pages SQLite found inconsistent."""


class StoreReadOnly(StoreError):
    pass


class StoreFull(StoreError):
    pass


class StoreUnavailable(StoreError):
    """The database cannot be opened or reached (a missing directory, a server that is down)."""


class StoreBusy(StoreError):
    """Another process holds the lock longer than the busy timeout; retrying may succeed."""


# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_FULL = {"53100"}  # disk_full
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction (a standby, or a read-only session)
_PG_DAMAGED = {"XX001", "XX002"}  # data_corrupted, index_corrupted
_PG_UNAVAILABLE = {"3D000", "28000", "28P01", "57P01", "57P02", "57P03", "53300"}
_PG_TRANSIENT = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout


def describe(url: str) -> str:
    """How a database is named in messages: a SQLite file by its path as configured, any other
    database by its URL with the password hidden."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def classify(exc: BaseException, where: str) -> StoreError | None:
    """The `StoreError` that explains `exc`, or None when it is not about the store itself
    (a constraint violation, a bug in a query, ...)."""
    original: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if isinstance(original, StoreError):
        return original
    if isinstance(original, sqlite3.Error):
        return _classify_sqlite(original, where)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None or type(original).__module__.startswith("psycopg"):
        return _classify_postgres(original, sqlstate, where)
    return None


def _classify_sqlite(error: sqlite3.Error, where: str) -> StoreError | None:
    message = str(error)
    code = getattr(error, "sqlite_errorcode", None)
    name = getattr(error, "sqlite_errorname", None) or ""
    if code is None:
        # Raised by Python's sqlite3 module itself: text that is not UTF-8 is what random
        # bytes over a row look like (nftbot only ever stores valid text).
        if message.startswith("Could not decode to UTF-8"):
            return StoreDamaged(
                f"database {where} is damaged ({message.split(' with text')[0]}): restore a "
                "backup; `bot db check` lists the damage"
            )
        return None
    primary = code & 0xFF
    if primary == sqlite3.SQLITE_NOTADB:
        return StoreDamaged(
            f"database {where} is not a SQLite database (truncated or overwritten?)"
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return StoreDamaged(
            f"database {where} is damaged ({message}; truncated or overwritten?): restore a "
            "backup; `bot db check` lists the damage"
        )
    if primary == sqlite3.SQLITE_FULL:
        return StoreFull(f"disk full while writing database {where}")
    if primary == sqlite3.SQLITE_READONLY:
        if name == "SQLITE_READONLY_DIRECTORY":
            return StoreReadOnly(
                f"database {where} is read-only (its directory {Path(where).parent} cannot be "
                "written)"
            )
        return StoreReadOnly(f"database {where} is read-only ({message})")
    if primary == sqlite3.SQLITE_PERM:
        return StoreReadOnly(f"database {where} is read-only ({message})")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreUnavailable(f"cannot open database {where} ({message})")
    if primary == sqlite3.SQLITE_IOERR:
        return StoreUnavailable(f"I/O error on database {where} ({name or message})")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusy(f"database {where} is locked by another process ({message})")
    return None


def _classify_postgres(error: BaseException, sqlstate: str | None, where: str) -> StoreError | None:
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if sqlstate in _PG_FULL:
        return StoreFull(f"disk full while writing database {where} ({first_line})")
    if sqlstate in _PG_READ_ONLY:
        return StoreReadOnly(f"database {where} is read-only ({first_line})")
    if sqlstate in _PG_DAMAGED:
        return StoreDamaged(f"database {where} is damaged ({first_line}): restore a backup")
    if sqlstate in _PG_UNAVAILABLE:
        return StoreUnavailable(f"cannot use database {where}: {first_line}")
    if sqlstate is None and type(error).__name__ == "OperationalError":
        # No SQLSTATE: the client could not reach the server, or lost the connection.
        return StoreUnavailable(f"cannot reach database {where}: {first_line}")
    return None


def classify_os_error(exc: OSError) -> StoreError | None:
    """A full or read-only file system met while writing the data dir (blobs, the IPFS
    blockstore, the outbox): the same one line as for the database itself."""
    where = exc.filename if exc.filename is not None else "the data dir"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(f"disk full while writing {where}")
    if exc.errno == errno.EROFS:
        return StoreReadOnly(f"{where} is on a read-only file system")
    if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename is not None:
        return StoreReadOnly(f"{where} is read-only (permission denied)")
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying the whole transaction: a lock held by another writer (SQLite) or a
    serialization failure / deadlock (PostgreSQL)."""
    if isinstance(exc, StoreBusy):
        return True
    original: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if isinstance(original, sqlite3.OperationalError):
        return "locked" in str(original) or "busy" in str(original)
    return getattr(original, "sqlstate", None) in _PG_TRANSIENT


def install(engine: Engine, where: str) -> None:
    """Raise a `StoreError` instead of the driver's exception wherever `classify` knows it."""

    def translate(context: ExceptionContext) -> None:
        if context.is_pre_ping:  # the pool handles a stale connection by reconnecting
            return
        found = classify(context.original_exception, where)
        if found is not None:
            raise found from context.sqlalchemy_exception

    event.listen(engine, "handle_error", translate)


__all__ = [
    "StoreBusy",
    "StoreDamaged",
    "StoreError",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
    "classify",
    "classify_os_error",
    "describe",
    "install",
    "is_transient",
]
