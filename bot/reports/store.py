"""Reading what the reports need from the store, in plain values. Only SELECTs: a report opens
a session, reads and closes it without committing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.reports.proceeds import Part
from storage.models import Artwork, ArtworkEvent, Listing
from storage.models.market import Bid, IntentStatus, MarketOrder, MintIntent, Sale

NO_CATEGORY = "(none)"


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session that is never committed: closing it ends the transaction without writing
    (the rows read stay usable, detached)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass(frozen=True)
class ArtworkInfo:
    id: int
    state: str
    category: str
    title: str | None
    source_marketplace: str
    source_item_id: str
    source_price: Decimal | None
    source_currency: str | None
    source_price_usd: Decimal | None


@dataclass(frozen=True)
class Published:
    """One of our lazy-minted items: who minted it and the royalties it carries."""

    artwork_id: int
    item_id: str
    creator: str
    royalties: tuple[Part, ...]


@dataclass(frozen=True)
class OrderInfo:
    """One of our sell orders, as signed."""

    order_hash: str
    artwork_id: int
    maker: str
    data_type: str  # V1, V2, V3
    price: Decimal
    origin_fees: tuple[Part, ...]
    payouts: tuple[Part, ...]


class Currencies:
    """Currency ids (`ETH`, `ERC20:<address>`) to display names and decimals. Only what is
    known for sure: ETH and the network's WETH have 18 decimals; other ERC-20s stay unknown."""

    def __init__(self, weth: str | None) -> None:
        self.weth_id = f"ERC20:{weth.lower()}" if weth else None

    def label(self, currency: str) -> str:
        if currency == self.weth_id:
            return "WETH"
        return currency

    def decimals(self, currency: str) -> int | None:
        return 18 if currency in ("ETH", self.weth_id) else None


def artworks(session: Session) -> dict[int, ArtworkInfo]:
    columns: list[Any] = [
        Artwork.id,
        Artwork.state,
        Artwork.category,
        Listing.name,
        Listing.title,
        Listing.marketplace,
        Listing.item_id,
        Listing.price,
        Listing.currency,
        Listing.price_usd,
    ]
    query = sa_select(*columns).join(Listing, col(Listing.id) == col(Artwork.listing_id))
    rows = _rows(session, query)
    return {
        artwork_id or 0: ArtworkInfo(
            id=artwork_id or 0,
            state=state,
            category=category or NO_CATEGORY,
            title=name or title,
            source_marketplace=marketplace,
            source_item_id=item_id,
            source_price=price,
            source_currency=currency,
            source_price_usd=price_usd,
        )
        for (
            artwork_id,
            state,
            category,
            name,
            title,
            marketplace,
            item_id,
            price,
            currency,
            price_usd,
        ) in rows
    }


# Rows as plain tuples (named like the model's columns): building ORM objects for tens of
# thousands of bids or events costs ten times the query.


class BidRow(NamedTuple):
    order_id: str
    artwork_id: int | None
    item_id: str
    maker: str
    currency: str
    currency_symbol: str | None
    price: Decimal | None
    price_usd: Decimal | None
    status: str
    first_seen_at: datetime


class SaleRow(NamedTuple):
    id: int | None
    activity_id: str
    tx_hash: str | None
    artwork_id: int | None
    item_id: str
    kind: str
    buyer: str
    seller: str | None
    price: Decimal
    currency: str
    price_usd: Decimal | None
    sold_at: datetime
    protocol_fee_bps: int | None
    raw_json: str | None


class EventRow(NamedTuple):
    artwork_id: int
    from_state: str | None
    to_state: str
    reason: str | None
    at: datetime


class ArtworkRow(NamedTuple):
    id: int | None
    state: str
    reason: str | None
    failed_stage: str | None
    error: str | None
    attempts: int


def _select(model: Any, names: tuple[str, ...]) -> Any:
    """SELECT those columns of `model` (SQLAlchemy Core: rows, not objects)."""
    return sa_select(*(getattr(model, name) for name in names))


def _rows(session: Session, query: Any) -> list[Any]:
    return list(session.connection().execute(query).all())


def bids(session: Session, mode: str, *, active_only: bool = False) -> list[BidRow]:
    query = _select(Bid, BidRow._fields).where(col(Bid.mode) == mode)
    if active_only:
        query = query.where(col(Bid.status) == "ACTIVE")
    return [BidRow(*row) for row in _rows(session, query.order_by(col(Bid.id)))]


def sales(session: Session, mode: str) -> list[SaleRow]:
    query = (
        _select(Sale, SaleRow._fields)
        .where(col(Sale.mode) == mode)
        .order_by(col(Sale.sold_at), col(Sale.id))
    )
    return [SaleRow(*row) for row in _rows(session, query)]


def events(session: Session) -> list[EventRow]:
    query = _select(ArtworkEvent, EventRow._fields).order_by(
        col(ArtworkEvent.artwork_id), col(ArtworkEvent.at), col(ArtworkEvent.id)
    )
    return [EventRow(*row) for row in _rows(session, query)]


def artwork_rows(session: Session) -> list[ArtworkRow]:
    return [ArtworkRow(*row) for row in _rows(session, _select(Artwork, ArtworkRow._fields))]


def published(session: Session, mode: str, problems: list[str]) -> dict[str, Published]:
    """item id -> our minted item (intents the marketplace has)."""
    found: dict[str, Published] = {}
    rows = session.exec(
        select(MintIntent).where(
            MintIntent.mode == mode, MintIntent.status == IntentStatus.DONE.value
        )
    ).all()
    for intent in rows:
        item_id = f"{intent.collection.lower()}:{int(intent.token_id)}"
        try:
            royalties = Part.parse(json.loads(intent.payload_json).get("royalties") or [])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.append(
                f"mint intent {intent.id} (artwork {intent.artwork_id}): royalties "
                f"unreadable ({type(exc).__name__}); counted as none"
            )
            royalties = ()
        found[item_id] = Published(intent.artwork_id, item_id, intent.creator.lower(), royalties)
    return found


def orders(session: Session, mode: str, problems: list[str]) -> dict[str, OrderInfo]:
    """order hash -> our sell order."""
    found: dict[str, OrderInfo] = {}
    for row in session.exec(select(MarketOrder).where(MarketOrder.mode == mode)).all():
        try:
            form = json.loads(row.payload_json)
            data = form.get("data") or {}
            info = OrderInfo(
                order_hash=row.order_hash.lower(),
                artwork_id=row.artwork_id,
                maker=str(form["maker"]).lower(),
                data_type=row.data_type.removeprefix("RARIBLE_V2_DATA_"),
                price=row.price,
                origin_fees=Part.parse(data.get("originFees") or []),
                payouts=Part.parse(data.get("payouts") or []),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.append(
                f"sell order {row.order_hash}: order data unreadable ({type(exc).__name__})"
            )
            continue
        found[info.order_hash] = info
    return found
