"""Short write transactions for batch jobs (import, curation) that run beside other commands.

A long batch job that holds SQLite's single write lock for minutes makes every other writer
fail with "database is locked" once its busy timeout runs out. So batch jobs commit in chunks
of a few thousand rows, each in its own transaction, and each transaction takes the write
lock *first*: a read-then-write transaction in WAL mode cannot wait for the lock when another
writer committed in between (SQLITE_BUSY at once, busy timeout or not), a transaction that
starts with a write simply waits its turn.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.db import session_scope

_LOCKABLE = frozenset({"listings", "artworks"})
BATCH_CACHE_KIB = 256 * 1024
# Young-generation threshold while a bulk job runs (CPython's default is 700 allocations).
BULK_GC_THRESHOLD0 = 100_000


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cyclic garbage rarely while a bulk job (import, curation) runs.

    Such a job allocates millions of short-lived, acyclic containers (a dict per row, a
    tuple per bound row); with the default thresholds CPython's collector runs every 700 of
    them and keeps re-walking the objects that survive, which cost a fifth of a million-row
    import's CPU time. The objects alive before the job (modules, the ORM's registries) are
    frozen out of every collection, and young collections run every 100,000 allocations;
    reference counting still frees the rows at once, so memory is unchanged. Both are undone
    when the last of overlapping bulk jobs (threads of the daemon) ends.
    """
    with _bulk_lock:
        if not _bulk_jobs:  # the first of overlapping jobs (daemon threads) saves and sets
            _saved_thresholds[:] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(BULK_GC_THRESHOLD0, *_saved_thresholds[1:])
        _bulk_jobs.append(None)
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_jobs.pop()
            if not _bulk_jobs:  # the last one restores
                gc.set_threshold(*_saved_thresholds)
                gc.unfreeze()


_bulk_lock = threading.Lock()
_bulk_jobs: list[None] = []  # one entry per bulk job running in this process
_saved_thresholds: list[int] = []


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
