"""The one interface every source implements, and the normalised listing it produces.

A source reads one collection of one marketplace, a page at a time:
`fetch_page(cursor) -> Page(listings, next_cursor, failures)`. `cursor=None` starts at the
beginning; `next_cursor=None` means the collection is exhausted. The cursor is opaque text the
runner stores between runs, so a source must be able to resume from any cursor it returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from scraper.errors import ItemError
from storage.money import parse_amount


@dataclass(frozen=True)
class PriceSeen:
    """A bid or a sale seen with a listing (its ask goes in the listing fields)."""

    kind: str  # storage.models.scrape.PriceKind value: bid or sale
    price: Decimal | None
    currency: str | None
    currency_decimals: int | None = None
    price_usd: Decimal | None = None
    event_at: datetime | None = None


@dataclass
class ScrapedListing:
    """`fields` are Listing attributes ready for `upsert_listing`; only the keys present are
    written, so a source that does not know the price (a sale event) leaves it alone."""

    fields: dict[str, Any]
    prices: list[PriceSeen] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.fields['marketplace']}:{self.fields['item_id']}"


@dataclass
class Page:
    listings: list[ScrapedListing]
    next_cursor: str | None
    failures: list[ItemError] = field(default_factory=list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        # `listings, next_cursor = source.fetch_page(cursor)` reads as the issue describes.
        return iter((self.listings, self.next_cursor))


@runtime_checkable
class Source(Protocol):
    name: str  # stored with cursors and runs: rarible, opensea, opensea-sales, page:<site>, kaggle
    collection: str  # the collection id / slug / site the cursor belongs to

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        """One page from `cursor`; `size` asks for at most that many listings (a hint)."""
        ...


# --- helpers the sources share ------------------------------------------------------------


def exact_decimal(value: Any, what: str, *, zero: bool = True) -> Decimal:
    """A money value from JSON (string or int) as an exact, bounded, non-negative Decimal
    (storage/money.py). Floats are refused: they have already lost digits."""
    return parse_amount(value, what, zero=zero)


MAX_DECIMALS = 36  # token decimals: ETH has 18; nothing real has more than 36


def scaled(value: Any, decimals: int, what: str) -> Decimal:
    """Base units (wei) to units: '1500000000000000000' with 18 decimals is Decimal('1.5')."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"{what}: {decimals} decimals is out of range (0 to {MAX_DECIMALS})")
    units = exact_decimal(value, what)
    if units != units.to_integral_value():
        raise ValueError(f"{what} in base units must be an integer, got {value!r}")
    # Shift the exponent by hand: scaleb/normalize would round to the context's 28 digits.
    sign, digits, exponent = units.as_tuple()
    return Decimal((sign, digits, int(exponent) - decimals))


def parse_time(value: Any, what: str) -> datetime | None:
    """ISO-8601 text or unix seconds to an aware UTC datetime; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} is not a timestamp: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"{what} is not a timestamp: {value!r}")


def require(mapping: Any, key: str, where: str) -> Any:
    """mapping[key], or a ValueError that says which field is missing where."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{where} is not an object")
    value = mapping.get(key)
    if value is None:
        raise ValueError(f"missing field {where}.{key}")
    return value
