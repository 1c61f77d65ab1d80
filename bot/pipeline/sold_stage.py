"""listed -> sold: bids, sales and our own orders from the marketplace into the store.

One call for the CLI (`bot bids sync`) and the daemon: bids on every published item, the sale
feed since the stored cursor, a re-read of our sell orders still held as active; artworks whose
sale was seen move to `sold`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from marketplace.market import Market
from marketplace.sync import SyncReport, sync_bids, sync_own_orders, sync_sales
from storage.artworks import transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState

log = logging.getLogger(__name__)


@dataclass
class MarketSync:
    bids: SyncReport
    sales: SyncReport
    orders: SyncReport
    sold: list[int]


def sync_market(engine: Engine, market: Market, *, mode: str, seller: str, weth: str) -> MarketSync:
    bids = sync_bids(engine, market, mode, weth=weth)
    sales = sync_sales(engine, market, mode, seller)
    orders = sync_own_orders(engine, market, mode)
    sold: list[int] = []
    with session_scope(engine) as session:
        for artwork_id in sales.sold_artwork_ids:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                continue
            if artwork.state == ArtworkState.LISTED.value:
                transition(session, artwork, ArtworkState.SOLD, reason="sale seen on the market")
                sold.append(artwork_id)
            elif artwork.state != ArtworkState.SOLD.value:
                log.warning("artwork %s sold while %s; state left as is", artwork_id, artwork.state)
    return MarketSync(bids, sales, orders, sold)
