"""Claims: one owner at a time for a row, until an expiry (a lease).

A claimable table has two columns, `claim_owner` (who holds it: `host:pid:random`, see
`new_owner_id`) and `claim_expires_at`. Taking, renewing and releasing a claim are each one
conditional UPDATE, committed at once, and the caller acts only when that UPDATE changed the
row. Two processes (or two hosts sharing one PostgreSQL) racing for a row cannot both win: the
database serialises the UPDATEs and each one's WHERE is evaluated against the committed row
(SQLite holds its write lock; PostgreSQL re-checks the WHERE after a concurrent update under
READ COMMITTED). There is no read-then-write and nothing engine-specific.

An expired claim means its owner died or stalled: whoever takes it next must treat the owner's
work as possibly done (reconcile) before acting again. A claim held by a process of this host
that no longer exists (a kill -9) is taken over at once instead of waiting for the expiry;
that is a compare-and-set on the dead owner's id, so two survivors cannot both take it.
Expiry times come from the callers' clocks: hosts sharing a database keep them in sync (NTP),
and TTLs leave a margin for the difference.

The mint and order intents use claims for their sends (`marketplace/sending.py`); the same
functions serve any table with the two columns.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlalchemy.engine import Engine

from storage.types import utcnow

OWNER_COLUMN = "claim_owner"
EXPIRES_COLUMN = "claim_expires_at"


def new_owner_id() -> str:
    """`host:pid:random`: unique per holder; the host and pid tell whether it is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Holder:
    owner: str
    expires_at: datetime


def table_of(model_or_table: Any) -> Table:
    """The Core table of a sqlmodel class (or the table itself)."""
    if isinstance(model_or_table, Table):
        return model_or_table
    table = model_or_table.__table__
    assert isinstance(table, Table)
    return table


def _update(
    engine: Engine,
    table: Table,
    row_id: int,
    conditions: Iterable[ColumnElement[bool]],
    values: Mapping[str, Any],
) -> bool:
    with engine.begin() as connection:
        result = connection.execute(
            update(table).where(table.c.id == row_id, *conditions).values(**values)
        )
    return result.rowcount == 1


def holder(engine: Engine, model: Any, row_id: int) -> Holder | None:
    """Who holds the row's claim (expired or not); None when nobody does."""
    table = table_of(model)
    with engine.connect() as connection:
        row = connection.execute(
            select(table.c[OWNER_COLUMN], table.c[EXPIRES_COLUMN]).where(table.c.id == row_id)
        ).first()
    if row is None or row[0] is None:
        return None
    return Holder(row[0], row[1])


def take(
    engine: Engine,
    model: Any,
    row_id: int,
    owner: str,
    ttl_s: float,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Claim the row for `owner` until now + `ttl_s` if nobody holds it, its claim expired, its
    holder is a dead process of this host, or `owner` already holds it. `where` adds conditions
    (say, a status) and `values` more columns to set, in the same UPDATE. True if taken."""
    table = table_of(model)
    now = utcnow()
    owner_col, expires_col = table.c[OWNER_COLUMN], table.c[EXPIRES_COLUMN]
    claimed = {
        OWNER_COLUMN: owner,
        EXPIRES_COLUMN: now + timedelta(seconds=ttl_s),
        **(values or {}),
    }
    where = list(where)
    free = or_(owner_col.is_(None), expires_col <= now, owner_col == owner)
    if _update(engine, table, row_id, [free, *where], claimed):
        return True
    current = holder(engine, table, row_id)
    if current is None or not is_dead_here(current.owner):
        return False
    # Compare-and-set on the dead holder's id: of two survivors, one takes it over.
    return _update(engine, table, row_id, [owner_col == current.owner, *where], claimed)


def renew(
    engine: Engine,
    model: Any,
    row_id: int,
    owner: str,
    ttl_s: float,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Extend `owner`'s claim to now + `ttl_s` (and set `values`). False if it is no longer the
    holder: someone took the claim over after it expired, so the caller must not act."""
    table = table_of(model)
    expires = utcnow() + timedelta(seconds=ttl_s)
    return _update(
        engine,
        table,
        row_id,
        [table.c[OWNER_COLUMN] == owner, *where],
        {EXPIRES_COLUMN: expires, **(values or {})},
    )


def release(
    engine: Engine,
    model: Any,
    row_id: int,
    owner: str,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Give the claim up (and set `values` in the same UPDATE) if `owner` still holds it and
    `where` holds. False, changing nothing, otherwise."""
    table = table_of(model)
    return _update(
        engine,
        table,
        row_id,
        [table.c[OWNER_COLUMN] == owner, *where],
        {OWNER_COLUMN: None, EXPIRES_COLUMN: None, **(values or {})},
    )


def is_dead_here(owner: str) -> bool:
    """True only when `owner` names a process of this host that no longer runs (or is a zombie
    waiting to be reaped). Another host's owner, or a pid that exists, counts as alive: a reused
    pid only makes the caller wait for the expiry."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False
