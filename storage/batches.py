"""Short write transactions for batch jobs (import, curation) that run beside other commands.

A long batch job that holds SQLite's single write lock for minutes makes every other writer
fail with "database is locked" once its busy timeout runs out. So batch jobs commit in chunks
of a few thousand rows, each in its own transaction, and each transaction takes the write
lock *first*: a read-then-write transaction in WAL mode cannot wait for the lock when another
writer committed in between (SQLITE_BUSY at once, busy timeout or not), a transaction that
starts with a write simply waits its turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.db import session_scope

_LOCKABLE = frozenset({"listings", "artworks"})
BATCH_CACHE_KIB = 256 * 1024


@contextmanager
def write_transaction(engine: Engine, *, lock_table: str) -> Iterator[Session]:
    """`session_scope` that holds the write lock from its first statement (SQLite)."""
    if lock_table not in _LOCKABLE:
        raise ValueError(f"not a table to lock on: {lock_table!r}")
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":
            # Batches touch index pages all over a large table: a page cache that holds them
            # saves re-reading them from the OS for every row (SQLite's default is 2 MiB).
            session.execute(text(f"PRAGMA cache_size = -{BATCH_CACHE_KIB}"))
            # A write that matches nothing: it takes the lock (waiting politely) and changes
            # nothing. PostgreSQL locks rows, not the database, and needs none of this.
            session.execute(text(f"UPDATE {lock_table} SET id = id WHERE 0"))
        yield session
