"""Insert-or-update of listings by (marketplace, item id), shared by every importer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from storage.models import Listing
from storage.types import utcnow

# Bookkeeping columns never compared: they change on every sighting.
_NOT_COMPARED = frozenset({"id", "first_seen_at", "updated_at"})


class UpsertOutcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def upsert_listing(session: Session, fields: dict[str, Any]) -> tuple[Listing, UpsertOutcome]:
    """Create the listing or update the stored one in place. `fields` are Listing attributes.

    Only values that differ are written, so re-importing the same data is a no-op and
    `updated_at` keeps meaning "last real change".
    """
    marketplace, item_id = fields["marketplace"], fields["item_id"]
    existing = session.exec(
        select(Listing).where(Listing.marketplace == marketplace, Listing.item_id == item_id)
    ).first()
    if existing is None:
        listing = Listing(**fields)
        session.add(listing)
        return listing, UpsertOutcome.NEW
    changed = False
    for name, value in fields.items():
        if name in _NOT_COMPARED:
            continue
        if getattr(existing, name) != value:
            setattr(existing, name, value)
            changed = True
    if not changed:
        return existing, UpsertOutcome.UNCHANGED
    existing.updated_at = utcnow()
    session.add(existing)
    return existing, UpsertOutcome.UPDATED
