"""What the bot tells a person about: each event is a small frozen dataclass with a `kind`, a
`key` that identifies it within its kind (the dedupe key: one notification per kind and key),
a one-line `summary()` for chat webhooks and `data()` for the JSON payload.

Text that came from strangers (titles, error messages) is made one plain line here; the
payload formats escape what their chat syntax needs (bot/notify/payloads.py).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from bot.text import printable
from storage.types import utcnow

MAX_TEXT = 300  # a title or an error in a chat line; the JSON data keeps them whole


class Event(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    def summary(self) -> str: ...
    def data(self) -> dict[str, Any]: ...


def _line(text: str | None, limit: int = MAX_TEXT) -> str:
    return printable(" ".join((text or "").split()), limit=limit)


def _money(amount: Decimal | None, currency: str, usd: Decimal | None) -> str:
    if amount is None:
        return f"an unknown amount of {currency}"
    shown = f"{amount:f} {currency}"
    return f"{shown} (${usd:,.2f})" if usd is not None else shown


def _artwork(artwork_id: int | None, title: str | None) -> str:
    name = f"artwork {artwork_id}" if artwork_id is not None else "an item"
    return f"{name} \u201c{_line(title, 120)}\u201d" if title else name


def _fields(event: Any) -> dict[str, Any]:
    """The dataclass fields of `event` as JSON values (decimals exact, times ISO 8601)."""
    return {f.name: _jsonable(getattr(event, f.name)) for f in fields(event)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class SaleEvent:
    """One of our items sold (a primary sale by us, or a resale that pays us royalties)."""

    kind: ClassVar[str] = "sale"
    activity_id: str
    artwork_id: int | None
    item_id: str
    price: Decimal
    currency: str
    buyer: str
    sold_at: datetime
    seller: str | None = None
    price_usd: Decimal | None = None
    tx_hash: str | None = None
    title: str | None = None
    resale: bool = False

    @property
    def key(self) -> str:
        return self.activity_id

    def summary(self) -> str:
        what = "resold (royalties to us)" if self.resale else "sold"
        return (
            f"Sale: {_artwork(self.artwork_id, self.title)} {what} for "
            f"{_money(self.price, self.currency, self.price_usd)} to {self.buyer}"
        )

    def data(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True)
class HighestBidEvent:
    """A bid higher than every earlier active bid on the artwork, in its currency."""

    kind: ClassVar[str] = "highest_bid"
    order_id: str
    artwork_id: int | None
    item_id: str
    price: Decimal | None
    currency: str
    bidder: str
    price_usd: Decimal | None = None
    previous_price: Decimal | None = None
    title: str | None = None

    @property
    def key(self) -> str:
        return self.order_id

    def summary(self) -> str:
        before = (
            f" (was {self.previous_price:f} {self.currency})"
            if self.previous_price is not None
            else " (first bid)"
        )
        return (
            f"New highest bid on {_artwork(self.artwork_id, self.title)}: "
            f"{_money(self.price, self.currency, self.price_usd)} from {self.bidder}{before}"
        )

    def data(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True)
class ArtworkFailedEvent:
    """An artwork parked as `failed` after its last retry: it needs a person."""

    kind: ClassVar[str] = "artwork_failed"
    artwork_id: int
    stage: str
    error: str
    attempts: int
    title: str | None = None
    at: datetime = field(default_factory=utcnow)

    @property
    def key(self) -> str:
        # Parked again after a person's retry is a new event: the attempt count has grown.
        return f"{self.artwork_id}:{self.attempts}"

    def summary(self) -> str:
        return (
            f"Failed: {_artwork(self.artwork_id, self.title)} parked at stage {_line(self.stage)}"
            f" after {self.attempts} attempts: {_line(self.error)}"
        )

    def data(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True)
class DaemonEvent:
    """The daemon started or stopped (`state`), with an optional reason (SIGTERM, ...)."""

    state: str  # started | stopped
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    detail: str | None = None
    at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if self.state not in ("started", "stopped"):
            raise ValueError(f"daemon state must be started or stopped, not {self.state!r}")

    @property
    def kind(self) -> str:
        return f"daemon_{self.state}"

    @property
    def key(self) -> str:
        return f"{self.host}:{self.pid}:{self.at.isoformat()}"

    def summary(self) -> str:
        why = f": {_line(self.detail)}" if self.detail else ""
        return f"Daemon {self.state} on {_line(self.host, 100)} (pid {self.pid}){why}"

    def data(self) -> dict[str, Any]:
        return _fields(self)
