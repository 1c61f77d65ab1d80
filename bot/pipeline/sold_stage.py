"""listed -> sold: bids, sales and our own orders from the marketplace into the store.

One call for the CLI (`bot bids sync`) and the daemon: bids on every published item, the sale
feed since the stored cursor, resales of our sold items (royalties to us), a re-read of our
sell orders still held as active; artworks whose sale was seen move to `sold`. With a
notifier, each new sale and each artwork's new highest bid becomes a notification.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.notify import market_events
from bot.notify.webhook import Notifier, NullNotifier
from marketplace.market import Market
from marketplace.sync import (
    SyncReport,
    api_protocol_fee,
    sync_bids,
    sync_item_sales,
    sync_own_orders,
    sync_sales,
)
from storage.artworks import StaleState, transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState

log = logging.getLogger(__name__)


@dataclass
class MarketSync:
    bids: SyncReport
    sales: SyncReport
    orders: SyncReport
    sold: list[int]
    resales: SyncReport | None = None


def sync_market(
    engine: Engine,
    market: Market,
    *,
    mode: str,
    seller: str,
    weth: str,
    protocol_fee_bps: int | None = None,
    notifier: Notifier | NullNotifier | None = None,
) -> MarketSync:
    """`protocol_fee_bps`: the seller-side fee to record with new sales (BOT_PROTOCOL_FEE_BPS);
    None asks the API once, when the first new sale is recorded."""
    notifying = notifier is not None and notifier.enabled
    before = market_events.snapshot(engine, mode) if notifying else None

    def fee() -> int | None:
        return protocol_fee_bps if protocol_fee_bps is not None else api_protocol_fee(market)

    bids = sync_bids(engine, market, mode, weth=weth)
    sales = sync_sales(engine, market, mode, seller, protocol_fee=fee)
    resales = sync_item_sales(engine, market, mode, protocol_fee=fee)
    orders = sync_own_orders(engine, market, mode)
    sold = [a for a in sales.sold_artwork_ids if _mark_sold(engine, a)]
    if notifier is not None and before is not None:
        symbols = {f"ERC20:{weth.lower()}": "WETH"}
        for event in market_events.events_since(engine, mode, before, symbols=symbols):
            notifier.notify(event)
    return MarketSync(bids, sales, orders, sold, resales)


def _mark_sold(engine: Engine, artwork_id: int) -> bool:
    """listed -> sold; read again if another process changed the artwork meanwhile."""
    for _ in range(2):
        try:
            with session_scope(engine) as session:
                artwork = session.get(Artwork, artwork_id)
                if artwork is None:
                    return False
                if artwork.state == ArtworkState.LISTED.value:
                    reason = "sale seen on the market"
                    return transition(session, artwork, ArtworkState.SOLD, reason=reason)
                if artwork.state != ArtworkState.SOLD.value:
                    log.warning(
                        "artwork %s sold while %s; state left as is", artwork_id, artwork.state
                    )
                return False
        except StaleState as exc:
            log.info("%s; reading it again", exc)
    return False
