"""Sale and new-highest-bid events from what a marketplace sync added to the store.

`snapshot()` before the sync notes the last sale row and the highest active bid per artwork
and currency; `events_since()` after it turns every sale row added since into a SaleEvent and
every artwork whose highest active bid rose into one HighestBidEvent (the new top bid only,
so a first sync that finds fifty bids on an item sends one event, not fifty). Rows that were
in the store before (an upgraded database, an earlier sync) never become events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.notify.events import Event, HighestBidEvent, SaleEvent
from storage.db import session_scope
from storage.models import Artwork, Listing
from storage.models.market import Bid, MintIntent, Sale

BidKey = tuple[int, str]  # (artwork id, currency)


@dataclass(frozen=True)
class TopBid:
    order_id: str
    price: Decimal


@dataclass
class MarketSnapshot:
    last_sale_id: int = 0
    top_bids: dict[BidKey, TopBid] = field(default_factory=dict)


def _top_bids(session: Session, mode: str) -> dict[BidKey, TopBid]:
    rows = session.exec(
        select(Bid).where(
            Bid.mode == mode,
            Bid.status == "ACTIVE",
            col(Bid.artwork_id).is_not(None),
            col(Bid.price).is_not(None),
        )
    ).all()
    top: dict[BidKey, TopBid] = {}
    for bid in rows:
        key = (bid.artwork_id or 0, bid.currency)
        price = bid.price if bid.price is not None else Decimal(0)
        best = top.get(key)
        # The earliest bid wins a tie: an equal later bid is not a *higher* one.
        if best is None or price > best.price:
            top[key] = TopBid(bid.order_id, price)
    return top


def snapshot(engine: Engine, mode: str) -> MarketSnapshot:
    with session_scope(engine) as session:
        last = session.exec(select(func.max(Sale.id)).where(Sale.mode == mode)).one()
        return MarketSnapshot(int(last or 0), _top_bids(session, mode))


def _titles(session: Session, artwork_ids: Iterable[int]) -> dict[int, str | None]:
    ids = sorted(set(artwork_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Artwork.id, Listing.name, Listing.title)
        .join(Listing, col(Listing.id) == col(Artwork.listing_id))
        .where(col(Artwork.id).in_(ids))
    ).all()
    return {int(a or 0): name or title for a, name, title in rows}


def _creators(session: Session, mode: str) -> dict[str, str]:
    """item id -> the address that minted it (ours)."""
    rows = session.exec(select(MintIntent).where(MintIntent.mode == mode)).all()
    return {f"{r.collection.lower()}:{int(r.token_id)}": r.creator.lower() for r in rows}


def events_since(
    engine: Engine, mode: str, before: MarketSnapshot, *, symbols: dict[str, str] | None = None
) -> list[Event]:
    """`symbols` maps currency ids to display names (`ERC20:<weth>` -> `WETH`)."""
    names = symbols or {}
    events: list[Event] = []
    with session_scope(engine) as session:
        sales = session.exec(
            select(Sale)
            .where(Sale.mode == mode, col(Sale.id) > before.last_sale_id)
            .order_by(col(Sale.sold_at), col(Sale.id))
        ).all()
        after = _top_bids(session, mode)
        risen = {
            key: bid
            for key, bid in after.items()
            if key not in before.top_bids
            or (
                bid.order_id != before.top_bids[key].order_id
                and bid.price > before.top_bids[key].price
            )
        }
        bids = {
            b.order_id: b
            for b in session.exec(
                select(Bid).where(col(Bid.order_id).in_([b.order_id for b in risen.values()]))
            ).all()
        }
        titles = _titles(
            session,
            [s.artwork_id for s in sales if s.artwork_id is not None] + [k[0] for k in risen],
        )
        creators = _creators(session, mode) if sales else {}
        for sale in sales:
            creator = creators.get(sale.item_id)
            events.append(
                SaleEvent(
                    activity_id=sale.activity_id,
                    artwork_id=sale.artwork_id,
                    item_id=sale.item_id,
                    price=sale.price,
                    currency=names.get(sale.currency, sale.currency),
                    buyer=sale.buyer,
                    seller=sale.seller,
                    sold_at=sale.sold_at,
                    price_usd=sale.price_usd,
                    tx_hash=sale.tx_hash,
                    title=titles.get(sale.artwork_id or 0),
                    resale=bool(creator and sale.seller and sale.seller.lower() != creator),
                )
            )
        for (artwork_id, currency), top in sorted(risen.items()):
            bid = bids[top.order_id]
            previous = before.top_bids.get((artwork_id, currency))
            events.append(
                HighestBidEvent(
                    order_id=bid.order_id,
                    artwork_id=artwork_id,
                    item_id=bid.item_id,
                    price=bid.price,
                    currency=bid.currency_symbol or names.get(currency, currency),
                    bidder=bid.maker,
                    price_usd=bid.price_usd,
                    previous_price=previous.price if previous else None,
                    title=titles.get(artwork_id),
                )
            )
    return events
