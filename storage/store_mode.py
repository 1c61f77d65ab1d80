"""Which marketplace mode (dry-run, testnet, mainnet) a store belongs to.

A store records the mode it was created for (`store_info.marketplace_mode`), and opening it in
another mode is refused: dry-run artworks (signed but never sent) and testnet or mainnet ones
(real items on a marketplace) must never be counted, reconciled or published together.

Stores made before the mode was recorded are adopted on their first write-open:
- the mode is inferred from what the marketplace tables hold (mint intents, sell orders, token
  reservations, bids, sales all carry their mode): one mode found is recorded; when it is not
  the current one, the open is refused as for any other store of another mode;
- a store with no marketplace record at all is recorded under the current mode;
- a store holding records of several modes is refused with the counts; a person records the
  one it is for with `bot db mode --adopt MODE` (the other mode's rows stay, filtered out by
  their own `mode` column everywhere they are read).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.errors import StoreError
from storage.models.daemon import StoreInfo
from storage.models.market import Bid, MarketOrder, MintIntent, Sale, TokenReservation
from storage.types import utcnow

MODE_KEY = "marketplace_mode"
MODES = ("dry-run", "testnet", "mainnet")
_WITH_MODE = (MintIntent, MarketOrder, TokenReservation, Bid, Sale)


class ModeMismatch(StoreError):
    """The store belongs to another marketplace mode (exit status 2, one line)."""


def recorded_mode(connection: Connection) -> str | None:
    row = connection.execute(
        select(col(StoreInfo.value)).where(col(StoreInfo.key) == MODE_KEY)
    ).first()
    return None if row is None else str(row[0])


def modes_in_use(connection: Connection) -> Counter[str]:
    """Marketplace rows per mode, over every table that records one."""
    found: Counter[str] = Counter()
    for model in _WITH_MODE:
        table = model.__table__  # type: ignore[attr-defined,union-attr]
        rows = connection.execute(select(table.c.mode, func.count()).group_by(table.c.mode)).all()
        for mode, count in rows:
            found[str(mode)] += int(count)
    return found


def _refusal(where: str, stored: str, wanted: str) -> ModeMismatch:
    return ModeMismatch(
        f"database {where} belongs to the {stored} marketplace mode, and this run is "
        f"{wanted}: modes never share a store. Use BOT_MARKETPLACE_MODE={stored} with it, or "
        f"the {wanted} data dir (the default for each mode is data/<mode>)"
    )


def check_mode(engine: Engine, mode: str, where: str, *, adopt: bool = True) -> str:
    """Refuse a store of another mode; record `mode` on a store that has none yet (when
    `adopt`; a read-only open only checks). Returns how it went: 'recorded', 'adopted',
    'matches' or 'unrecorded' (read-only, nothing recorded yet)."""
    if mode not in MODES:
        raise ValueError(f"unknown marketplace mode {mode!r}")
    with engine.connect() as connection:
        stored = recorded_mode(connection)
        if stored is not None:
            if stored != mode:
                raise _refusal(where, stored, mode)
            return "matches"
        found = modes_in_use(connection)
    if len(found) > 1:
        counts = ", ".join(f"{m}: {n}" for m, n in sorted(found.items()))
        raise ModeMismatch(
            f"database {where} holds marketplace records of several modes ({counts}) from "
            "before the mode was recorded; record the one it belongs to with `bot db mode "
            "--adopt MODE`"
        )
    if found:
        (inferred,) = found
        if inferred != mode:
            raise _refusal(where, inferred, mode)
    if not adopt:
        return "unrecorded"
    try:
        record_mode(engine, mode)
    except IntegrityError:  # another process recorded it first: check what it wrote
        return check_mode(engine, mode, where, adopt=False)
    return "adopted" if found else "recorded"


def record_mode(engine: Engine, mode: str, *, replace: bool = False) -> None:
    """Write the store's mode. Without `replace`, an existing record wins (two processes
    adopting at once agree: the first insert stays and the second finds it)."""
    with engine.begin() as connection:
        stored = recorded_mode(connection)
        if stored is not None and not replace:
            if stored != mode:
                raise ModeMismatch(f"the store was recorded as {stored} meanwhile")
            return
        table = StoreInfo.__table__  # type: ignore[attr-defined]
        if stored is None:
            connection.execute(table.insert().values(key=MODE_KEY, value=mode, updated_at=utcnow()))
        else:
            connection.execute(
                table.update()
                .where(table.c.key == MODE_KEY)
                .values(value=mode, updated_at=utcnow())
            )
