"""Driver errors translated into one-line store errors (storage/errors.py)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from storage import errors


def _sqlite_error(kind: type[sqlite3.Error], code: int, name: str, message: str) -> sqlite3.Error:
    error = kind(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("code", "name", "message", "kind", "line"),
    [
        (26, "SQLITE_NOTADB", "file is not a database", errors.StoreDamaged,
         "database data/bot.db is not a SQLite database (truncated or overwritten?)"),
        (11, "SQLITE_CORRUPT", "database disk image is malformed", errors.StoreDamaged,
         "database data/bot.db is damaged (database disk image is malformed;"),
        (13, "SQLITE_FULL", "database or disk is full", errors.StoreFull,
         "disk full while writing database data/bot.db"),
        (1544, "SQLITE_READONLY_DIRECTORY", "attempt to write a readonly database",
         errors.StoreReadOnly, "database data/bot.db is read-only (its directory data cannot"),
        (8, "SQLITE_READONLY", "attempt to write a readonly database", errors.StoreReadOnly,
         "database data/bot.db is read-only (attempt to write a readonly database)"),
        (5, "SQLITE_BUSY", "database is locked", errors.StoreBusy,
         "database data/bot.db is locked by another process"),
    ],
)  # fmt: skip
def test_sqlite_errors_become_one_line(
    code: int, name: str, message: str, kind: type[errors.StoreError], line: str
) -> None:
    found = errors.classify(
        _sqlite_error(sqlite3.OperationalError, code, name, message), "data/bot.db"
    )
    assert isinstance(found, kind) and str(found).startswith(line)
    assert "\n" not in str(found)


def test_a_constraint_violation_is_not_a_store_error() -> None:
    violation = _sqlite_error(sqlite3.IntegrityError, 2067, "SQLITE_CONSTRAINT_UNIQUE", "UNIQUE")
    assert errors.classify(violation, "data/bot.db") is None


def test_postgresql_errors_by_sqlstate() -> None:
    import psycopg.errors as pg

    cases = {
        pg.DiskFull("could not extend file"): errors.StoreFull,
        pg.ReadOnlySqlTransaction("cannot execute UPDATE"): errors.StoreReadOnly,
        pg.DataCorrupted("invalid page"): errors.StoreDamaged,
        pg.InvalidCatalogName('database "x" does not exist'): errors.StoreUnavailable,
        pg.OperationalError("connection failed: Connection refused"): errors.StoreUnavailable,
    }
    for error, kind in cases.items():
        assert isinstance(errors.classify(error, "postgresql://u:***@h/x"), kind), error
    assert errors.classify(pg.UniqueViolation("duplicate key"), "x") is None
    assert errors.is_transient(pg.SerializationFailure("could not serialize"))
    assert errors.is_transient(pg.DeadlockDetected("deadlock detected"))
    assert not errors.is_transient(pg.DiskFull("full"))


def test_full_and_read_only_file_systems() -> None:
    full = errors.classify_os_error(OSError(errno.ENOSPC, "No space left", "data/blobs/ab"))
    assert str(full) == "disk full while writing data/blobs/ab"
    read_only = errors.classify_os_error(OSError(errno.EROFS, "Read-only", "data/outbox/1.json"))
    assert isinstance(read_only, errors.StoreReadOnly)
    assert errors.classify_os_error(OSError(errno.ENOENT, "No such file", "x")) is None


def test_urls_are_named_without_their_password() -> None:
    assert errors.describe("sqlite:///data/bot.db") == "data/bot.db"
    assert (
        errors.describe("postgresql+psycopg://bot:hunter2@db:5432/nftbot")
        == "postgresql+psycopg://bot:***@db:5432/nftbot"
    )
