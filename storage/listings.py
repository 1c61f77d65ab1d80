"""Insert-or-update of listings by (marketplace, item id), shared by every importer."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import Listing
from storage.models.scrape import PriceKind, PriceObservation
from storage.types import utcnow

# Bookkeeping columns never compared: they change on every sighting.
_NOT_COMPARED = frozenset({"id", "first_seen_at", "updated_at"})
# A change in any of these is a new asking price, recorded as a PriceObservation. Not
# price_usd alone: it moves with the exchange rate on every scrape.
_PRICE_FIELDS = ("price", "currency", "currency_decimals")


_LISTINGS: Table = Listing.__table__  # type: ignore[attr-defined]
_OBSERVATIONS: Table = PriceObservation.__table__  # type: ignore[attr-defined]


class UpsertOutcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def upsert_listing(session: Session, fields: dict[str, Any]) -> tuple[Listing, UpsertOutcome]:
    """Create the listing or update the stored one in place. `fields` are Listing attributes.

    Only values that differ are written, so re-importing the same data is a no-op and
    `updated_at` keeps meaning "last real change". A new listing with a price, and every
    later change of its price, also adds an `ask` PriceObservation: history is never lost.
    """
    marketplace, item_id = fields["marketplace"], fields["item_id"]
    existing = session.exec(
        select(Listing).where(Listing.marketplace == marketplace, Listing.item_id == item_id)
    ).first()
    if existing is None:
        listing = Listing(**fields)
        session.add(listing)
        if listing.price is not None:
            _observe_ask(session, listing)
        return listing, UpsertOutcome.NEW
    changed = _apply_changes(existing, fields, utcnow())
    if not changed:
        return existing, UpsertOutcome.UNCHANGED
    session.add(existing)
    if any(name in _PRICE_FIELDS for name in changed):
        _observe_ask(session, existing)
    return existing, UpsertOutcome.UPDATED


def _apply_changes(existing: Listing, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Write the values that differ onto `existing`; returns them (empty: nothing changed)."""
    changed = {
        name: value
        for name, value in fields.items()
        if name not in _NOT_COMPARED and getattr(existing, name) != value
    }
    for name, value in changed.items():
        setattr(existing, name, value)
    if changed:
        existing.updated_at = now
    return changed


def _observe_ask(session: Session, listing: Listing) -> None:
    session.add(
        PriceObservation(  # type: ignore[call-arg]
            listing=listing,  # listing_id is filled at flush, even for a new listing
            kind=PriceKind.ASK.value,
            price=listing.price,
            currency=listing.currency,
            currency_decimals=listing.currency_decimals,
            price_usd=listing.price_usd,
            source=listing.source,
            event_at=listing.listed_at,
        )
    )


def upsert_listings(
    session: Session, rows: list[dict[str, Any]]
) -> list[tuple[int, UpsertOutcome]]:
    """`upsert_listing` for a batch (a scraped page, an import batch): same outcomes, same
    price observations, but Core statements instead of one ORM object per listing: one SELECT
    per 500 keys, one multi-row INSERT for the new listings (their ids read back by key), one
    executemany UPDATE per set of changed columns, one INSERT for the observations. Returns
    (listing id, outcome) in the order of `rows`.

    A batch that names the same item twice goes through `upsert_listing` one by one, so the
    second occurrence sees the first.
    """
    keys = [(row["marketplace"], row["item_id"]) for row in rows]
    if len(set(keys)) != len(keys):
        one_by_one = []
        for row in rows:
            listing, outcome = upsert_listing(session, row)
            session.flush()
            one_by_one.append((int(listing.id or 0), outcome))
        return one_by_one
    session.flush()  # pending ORM changes first: the statements below bypass the ORM
    table = _LISTINGS
    stored = _stored_rows(session, keys, full=True)

    now = utcnow()
    results: list[tuple[int, UpsertOutcome] | None] = [None] * len(rows)
    fresh: list[int] = []  # indexes of the new rows
    changes: dict[frozenset[str], list[dict[str, Any]]] = {}
    asks: list[dict[str, Any]] = []
    for index, (key, row) in enumerate(zip(keys, rows, strict=True)):
        existing = stored.get(key)
        if existing is None:
            fresh.append(index)
            continue
        changed = {
            name: value
            for name, value in row.items()
            if name not in _NOT_COMPARED and existing[name] != value
        }
        listing_id = int(existing["id"])
        if not changed:
            results[index] = (listing_id, UpsertOutcome.UNCHANGED)
            continue
        changes.setdefault(frozenset(changed), []).append(
            {**changed, "updated_at": now, "_listing_id": listing_id}
        )
        if any(name in _PRICE_FIELDS for name in changed):
            current = {name: changed.get(name, existing[name]) for name in _ASK_COLUMNS}
            asks.append(_ask_values(listing_id, current, now))
        results[index] = (listing_id, UpsertOutcome.UPDATED)

    for columns, params in changes.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("_listing_id"))
            .values({name: bindparam(name) for name in (*sorted(columns), "updated_at")})
        )
        session.execute(statement, params)
    if fresh:
        new_rows, given, defaults = _same_columns([rows[index] for index in fresh], now)
        new_keys = [keys[index] for index in fresh]
        ids, consecutive = _insert_listings(session, new_keys, given, new_rows, defaults)
        for index, key in zip(fresh, new_keys, strict=True):
            results[index] = (ids[key], UpsertOutcome.NEW)
        if consecutive is not None:
            _observe_new_asks(session, consecutive, now)
        else:
            for key, row in zip(new_keys, new_rows, strict=True):
                if row.get("price") is not None:
                    asks.append(_ask_values(ids[key], {**defaults, **row}, now))
    if asks:
        insert_many(session, _OBSERVATIONS, asks)
    return [result for result in results if result is not None]


def _same_columns(
    rows: list[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], tuple[str, ...], dict[str, Any]]:
    """The new rows with one set of columns (the rows' own, in the usual case where they all
    give the same ones; else every column any of them gives, a missing one taking the
    model's default), that set, and the defaults for the columns none of them gives.

    One set of columns is one INSERT statement, so the rows get their ids in batch order."""
    given = tuple(rows[0])
    if any(tuple(row) != given for row in rows):
        given = tuple(dict.fromkeys(name for row in rows for name in row))
        every_default = _defaults_for(frozenset(), now)
        rows = [{name: row.get(name, every_default[name]) for name in given} for row in rows]
    return rows, given, _defaults_for(frozenset(given), now)


def _insert_listings(
    session: Session,
    keys: list[tuple[str, str]],
    given: tuple[str, ...],
    rows: list[dict[str, Any]],
    defaults: dict[str, Any],
) -> tuple[dict[tuple[str, str], int], tuple[int, int] | None]:
    """Insert new listings that all give the columns `given` (the rest take `defaults`);
    their ids by key, and (first, last) when the ids are consecutive.

    One statement per call: each row is the defaults' tuple plus the row's values, made in
    C (no merged dict per row). Defaults that are NULL are left out of the statement: the
    table has no other default for them, and a million rows bind a few million fewer values.

    SQLite gives a new row the largest rowid + 1, so rows inserted by one statement in one
    write transaction get consecutive ids in order: read the largest id before and after, and
    if the difference is exactly the number of rows, the ids are known without a query. Any
    other outcome (another database, a rowid at its limit) reads them back by key.
    """
    constant = {
        name: value
        for name, value in defaults.items()
        if value is not None or _LISTINGS.c[name].server_default is not None
    }
    shared = tuple(constant.values())
    values = operator.itemgetter(*given)
    if len(given) == 1:
        records = [(*shared, values(row)) for row in rows]
    else:
        records = [shared + values(row) for row in rows]
    sqlite = session.connection().dialect.name == "sqlite"
    before = _max_listing_id(session) if sqlite else None
    insert_rows(session, _LISTINGS, (*constant, *given), records)
    if before is not None and _max_listing_id(session) == before + len(rows):
        ids = {key: before + offset for offset, key in enumerate(keys, start=1)}
        return ids, (before + 1, before + len(rows))
    found = _stored_rows(session, keys, full=False)
    return {key: int(value) for key, value in found.items()}, None


def _observe_new_asks(session: Session, id_range: tuple[int, int], now: datetime) -> None:
    """The `ask` observation of every new listing with a price in `id_range`, copied inside
    the database from the rows just written (the values `_ask_values` would send, without
    converting a million of them in Python)."""
    listings = _LISTINGS.c
    session.execute(
        insert(_OBSERVATIONS).from_select(
            [
                "listing_id",
                "kind",
                "price",
                "currency",
                "currency_decimals",
                "price_usd",
                "source",
                "event_at",
                "observed_at",
            ],
            sa_select(
                listings.id,
                literal(_ASK),
                listings.price,
                listings.currency,
                listings.currency_decimals,
                listings.price_usd,
                listings.source,
                listings.listed_at,
                literal(now, type_=_OBSERVATIONS.c.observed_at.type),
            )
            .where(listings.id.between(*id_range), listings.price.is_not(None))
            .order_by(listings.id),
        )
    )


def _max_listing_id(session: Session) -> int:
    return int(session.execute(sa_select(func.coalesce(func.max(_LISTINGS.c.id), 0))).scalar_one())


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows given as dicts: one `insert_rows` per set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for names, group in groups.items():
        values = operator.itemgetter(*names)
        if len(names) == 1:
            insert_rows(session, table, names, [(values(row),) for row in group])
        else:
            insert_rows(session, table, names, [values(row) for row in group])


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT many rows (values in `columns` order) with one driver-level executemany.

    The columns' own bind processors convert the values (DecimalText, UTCDateTime, the
    dialect's DATETIME format), exactly as a Core INSERT would, but without SQLAlchemy's
    per-row parameter bookkeeping, which costs more than the database itself for a million
    rows. A value shared by many rows (the batch's timestamp) is converted once.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    order = list(compiled.positiontup or ()) if compiled.positional else names
    position = [names.index(name) for name in order]
    processors = [
        (index, processor)
        for index, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        is not None
    ]
    # Column by column: the transposition is done in C, and a column whose rows all hold the
    # same object (the batch's timestamp) is converted once.
    given = list(zip(*rows, strict=True))
    values: list[Sequence[Any]] = [given[i] for i in position]
    for index, process in processors:
        values[index] = _converted(values[index], process)
    params: list[Any] = list(zip(*values, strict=True))
    if not compiled.positional:
        params = [dict(zip(order, record, strict=True)) for record in params]
    connection.exec_driver_sql(compiled.string, params)


def _converted(column: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """`process` applied to every value of one column but None (which stays None)."""
    first = column[0]
    if all(value is first for value in column):
        return [None if first is None else process(first)] * len(column)
    return [None if value is None else process(value) for value in column]


def _stored_rows(
    session: Session, keys: list[tuple[str, str]], *, full: bool
) -> dict[tuple[str, str], Any]:
    """Stored listings by (marketplace, item id): their ids, or (`full`) whole rows for the
    ones that exist. SQLite gets the keys as one JSON array; other databases in chunks."""
    table = _LISTINGS
    by_marketplace: dict[str, list[str]] = {}
    for marketplace, item_id in keys:
        by_marketplace.setdefault(marketplace, []).append(item_id)
    ids: dict[tuple[str, str], int] = {}
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    for marketplace, item_ids in by_marketplace.items():
        if sqlite:  # all keys as one JSON text: one statement, no 500-variable limit
            matches = connection.exec_driver_sql(
                "SELECT item_id, id FROM listings WHERE marketplace = ?"
                " AND item_id IN (SELECT value FROM json_each(?))",
                (marketplace, json.dumps(item_ids)),
            )
            ids.update(((marketplace, item_id), listing_id) for item_id, listing_id in matches)
            continue
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            query = select(table.c.item_id, table.c.id).where(
                table.c.marketplace == marketplace, table.c.item_id.in_(chunk)
            )
            for item_id, listing_id in session.execute(query).tuples():
                ids[(marketplace, item_id)] = listing_id
    if not full or not ids:
        return ids
    rows: dict[tuple[str, str], Any] = {}
    found = list(ids.values())
    for start in range(0, len(found), 500):
        whole = sa_select(table).where(table.c.id.in_(found[start : start + 500]))
        for row in session.execute(whole).mappings():
            rows[(row["marketplace"], row["item_id"])] = row
    return rows


def _defaults_for(given: frozenset[str], now: datetime) -> dict[str, Any]:
    """The model's defaults for every column an importer did not give (one per key set)."""
    values: dict[str, Any] = {}
    for name, info in Listing.model_fields.items():
        if name == "id" or name in given:
            continue
        if name in ("first_seen_at", "updated_at"):
            values[name] = now
        else:
            values[name] = info.get_default(call_default_factory=True)
    return values


_ASK_COLUMNS = ("price", "currency", "currency_decimals", "price_usd", "source", "listed_at")


_ASK = PriceKind.ASK.value


def _ask_values(listing_id: int | None, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "listing_id": listing_id,
        "kind": _ASK,
        "price": values.get("price"),
        "currency": values.get("currency"),
        "currency_decimals": values.get("currency_decimals"),
        "price_usd": values.get("price_usd"),
        "source": values.get("source"),
        "event_at": values.get("listed_at"),
        "observed_at": now,
    }
