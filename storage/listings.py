"""Insert-or-update of listings by (marketplace, item id), shared by every importer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from storage.models import Listing
from storage.models.scrape import PriceKind, PriceObservation
from storage.types import utcnow

# Bookkeeping columns never compared: they change on every sighting.
_NOT_COMPARED = frozenset({"id", "first_seen_at", "updated_at"})
# A change in any of these is a new asking price, recorded as a PriceObservation. Not
# price_usd alone: it moves with the exchange rate on every scrape.
_PRICE_FIELDS = ("price", "currency", "currency_decimals")


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
    """`upsert_listing` for a batch (a scraped page): same outcomes, same price observations,
    but one SELECT for the stored rows and multi-row INSERTs instead of one ORM object and one
    round trip per listing. Returns (listing id, outcome) in the order of `rows`.

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
    stored: dict[tuple[str, str], Listing] = {}
    by_marketplace: dict[str, list[str]] = {}
    for marketplace, item_id in keys:
        by_marketplace.setdefault(marketplace, []).append(item_id)
    for marketplace, item_ids in by_marketplace.items():
        for start in range(0, len(item_ids), 500):  # stay under SQLite's variable limit
            chunk = item_ids[start : start + 500]
            found = session.exec(
                select(Listing).where(
                    Listing.marketplace == marketplace,
                    Listing.item_id.in_(chunk),  # type: ignore[attr-defined]
                )
            ).all()
            stored.update({(row.marketplace, row.item_id): row for row in found})

    now = utcnow()
    results: list[tuple[int, UpsertOutcome] | None] = [None] * len(rows)
    fresh: list[tuple[int, dict[str, Any]]] = []
    asks: list[dict[str, Any]] = []
    for index, (key, row) in enumerate(zip(keys, rows, strict=True)):
        existing = stored.get(key)
        if existing is None:
            fresh.append((index, _with_defaults(row, now)))
            continue
        changed = _apply_changes(existing, row, now)
        if not changed:
            results[index] = (int(existing.id or 0), UpsertOutcome.UNCHANGED)
            continue
        session.add(existing)
        if any(name in _PRICE_FIELDS for name in changed):
            current = {name: getattr(existing, name) for name in _ASK_COLUMNS}
            asks.append(_ask_values(existing.id, current, now))
        results[index] = (int(existing.id or 0), UpsertOutcome.UPDATED)

    if fresh:
        session.flush()  # pending ORM updates first, then the batched INSERT
        inserted = session.execute(
            insert(Listing).returning(Listing.id, sort_by_parameter_order=True),  # type: ignore[call-overload]
            [values for _, values in fresh],
        ).all()
        for (index, values), (listing_id,) in zip(fresh, inserted, strict=True):
            results[index] = (int(listing_id), UpsertOutcome.NEW)
            if values.get("price") is not None:
                asks.append(_ask_values(listing_id, values, now))
    if asks:
        session.execute(insert(PriceObservation), asks)
    return [result for result in results if result is not None]


def _with_defaults(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A full INSERT row: the model's defaults for what the importer did not give."""
    values = {}
    for name, info in Listing.model_fields.items():
        if name == "id":
            continue
        if name in row:
            values[name] = row[name]
        elif name in ("first_seen_at", "updated_at"):
            values[name] = now
        else:
            values[name] = info.get_default(call_default_factory=True)
    return values


_ASK_COLUMNS = ("price", "currency", "currency_decimals", "price_usd", "source", "listed_at")


def _ask_values(listing_id: int | None, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "listing_id": listing_id,
        "kind": PriceKind.ASK.value,
        "price": values.get("price"),
        "currency": values.get("currency"),
        "currency_decimals": values.get("currency_decimals"),
        "price_usd": values.get("price_usd"),
        "source": values.get("source"),
        "event_at": values.get("listed_at"),
        "observed_at": now,
    }
