"""Insert-or-update of listings by (marketplace, item id), shared by every importer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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
    changed = False
    price_changed = False
    for name, value in fields.items():
        if name in _NOT_COMPARED:
            continue
        if getattr(existing, name) != value:
            setattr(existing, name, value)
            changed = True
            price_changed = price_changed or name in _PRICE_FIELDS
    if not changed:
        return existing, UpsertOutcome.UNCHANGED
    existing.updated_at = utcnow()
    session.add(existing)
    if price_changed:
        _observe_ask(session, existing)
    return existing, UpsertOutcome.UPDATED


def _observe_ask(session: Session, listing: Listing) -> None:
    if listing.id is None:
        session.flush()  # the observation needs the listing's id
    session.add(
        PriceObservation(
            listing_id=listing.id,
            kind=PriceKind.ASK.value,
            price=listing.price,
            currency=listing.currency,
            currency_decimals=listing.currency_decimals,
            price_usd=listing.price_usd,
            source=listing.source,
            event_at=listing.listed_at,
        )
    )
