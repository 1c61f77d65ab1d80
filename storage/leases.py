"""Leases: a worker holds the artworks it has in work until an expiry.

An artwork in work carries `claim_owner` (the worker: `host:pid:random`) and
`claim_expires_at`. A worker takes a batch of artworks with ONE statement that both picks and
marks them, so two workers never take the same artwork:

- PostgreSQL: `UPDATE artworks SET claim_owner = … WHERE id IN (SELECT id … FOR UPDATE SKIP
  LOCKED LIMIT n) RETURNING id`: rows another worker is claiming right now are skipped instead
  of waited for, and the WHERE is re-checked on the locked rows.
- SQLite: the same UPDATE without `FOR UPDATE` (SQLite has no row locks): a write takes the
  database's single write lock, so the pick and the mark are atomic.

A lease ends when its worker releases it, when it expires (a worker that crashed or stalled:
its artworks go to the next worker that asks), or at once when its owner is a process of this
host that no longer exists (kill -9), which `release_dead_owners` clears with a compare-and-set
on the dead owner's id. Whoever takes an artwork whose lease expired must treat the earlier
worker's step as possibly done: every stage is idempotent, and the irreversible ones
(mint, list) reconcile with the marketplace before they send anything.

The columns are named as the send claims of the mint and order intents (`claim_owner`,
`claim_expires_at`), so the single-row claim functions serve artworks too. Expiry times come
from the workers' clocks: hosts sharing a database keep them in sync (NTP), and the lease TTL
leaves a margin for the difference.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.engine import Engine

from storage.models import Artwork
from storage.types import utcnow

_T = Artwork.__table__  # type: ignore[attr-defined]
owner_column = _T.c.claim_owner
expires_column = _T.c.claim_expires_at


def new_owner_id() -> str:
    """`host:pid:random`: unique per worker; the host and pid tell whether it still runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def is_dead_here(owner: str) -> bool:
    """True only when `owner` names a process of this host that no longer runs (or is a
    zombie). Another host's owner, or a pid that exists, counts as alive: a reused pid only
    makes the others wait for the expiry."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def claim_batch(
    engine: Engine,
    owner: str,
    ttl_s: float,
    *,
    where: Iterable[ColumnElement[bool]],
    order_by: Sequence[ColumnElement[object]] = (),
    limit: int = 100,
) -> list[int]:
    """Lease up to `limit` artworks matching `where` that nobody holds (or whose lease expired,
    or that `owner` holds already) to `owner` for `ttl_s` seconds; returns their ids in
    `order_by` order. One statement: see the module docstring."""
    now = utcnow()
    free = or_(owner_column.is_(None), expires_column <= now, owner_column == owner)
    pick = select(_T.c.id).where(and_(free, *where)).order_by(*order_by, _T.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(_T)
        .where(_T.c.id.in_(pick.scalar_subquery()))
        .values(claim_owner=owner, claim_expires_at=now + timedelta(seconds=ttl_s))
        .returning(_T.c.id)
    )
    with engine.begin() as connection:
        taken = {int(row[0]) for row in connection.execute(statement)}
        if not taken:
            return []
        # RETURNING gives no order: read it back in the order the caller asked for.
        ordered = connection.execute(
            select(_T.c.id).where(_T.c.id.in_(taken)).order_by(*order_by, _T.c.id)
        )
        return [int(row[0]) for row in ordered]


def claim_one(engine: Engine, owner: str, artwork_id: int, ttl_s: float) -> bool:
    """Lease one artwork (a person's explicit choice), whatever its state; False when another
    live worker holds it."""
    return bool(claim_batch(engine, owner, ttl_s, where=[_T.c.id == artwork_id], limit=1))


def renew(engine: Engine, owner: str, artwork_ids: Iterable[int], ttl_s: float) -> set[int]:
    """Extend `owner`'s leases; returns the ids it still holds (a lease that expired and was
    taken by another worker is lost: the caller must stop working on that artwork)."""
    ids = list(artwork_ids)
    if not ids:
        return set()
    statement = (
        update(_T)
        .where(_T.c.id.in_(ids), owner_column == owner)
        .values(claim_expires_at=utcnow() + timedelta(seconds=ttl_s))
        .returning(_T.c.id)
    )
    with engine.begin() as connection:
        return {int(row[0]) for row in connection.execute(statement)}


def holds(engine: Engine, owner: str, artwork_id: int) -> bool:
    """Whether `owner` holds a live lease on the artwork now."""
    with engine.connect() as connection:
        row = connection.execute(
            select(owner_column, expires_column).where(_T.c.id == artwork_id)
        ).first()
    return row is not None and row[0] == owner and row[1] is not None and row[1] > utcnow()


def release(engine: Engine, owner: str, artwork_ids: Iterable[int] | None = None) -> int:
    """Give up `owner`'s leases (all of them, or those of `artwork_ids`); returns how many."""
    conditions = [owner_column == owner]
    if artwork_ids is not None:
        ids = list(artwork_ids)
        if not ids:
            return 0
        conditions.append(_T.c.id.in_(ids))
    with engine.begin() as connection:
        result = connection.execute(
            update(_T).where(*conditions).values(claim_owner=None, claim_expires_at=None)
        )
    return int(result.rowcount or 0)


def release_dead_owners(engine: Engine) -> dict[str, int]:
    """Clear the unexpired leases of processes of this host that no longer run (a kill -9):
    their artworks are free at once instead of at the expiry. Compare-and-set on each dead
    owner's id, so two survivors doing this at once change each row once."""
    now = utcnow()
    with engine.connect() as connection:
        owners = (
            connection.execute(
                select(owner_column)
                .where(owner_column.is_not(None), expires_column > now)
                .distinct()
            )
            .scalars()
            .all()
        )
    freed: dict[str, int] = {}
    for owner in owners:
        if owner and is_dead_here(owner):
            count = release(engine, owner)
            if count:
                freed[owner] = count
    return freed


def leases_held(engine: Engine) -> dict[str, int]:
    """Live leases per owner (for `bot status`)."""
    now = utcnow()
    with engine.connect() as connection:
        rows = connection.execute(
            select(owner_column, _T.c.id).where(owner_column.is_not(None), expires_column > now)
        ).all()
    counts: dict[str, int] = {}
    for owner, _id in rows:
        counts[owner] = counts.get(owner, 0) + 1
    return counts
