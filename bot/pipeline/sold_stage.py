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


def sync_market(engine: Engine, market: Market, *, mode: str, seller: str, weth: str) -> MarketSync:
    bids = sync_bids(engine, market, mode, weth=weth)
    sales = sync_sales(engine, market, mode, seller)
    orders = sync_own_orders(engine, market, mode)
    sold = [a for a in sales.sold_artwork_ids if _mark_sold(engine, a)]
    return MarketSync(bids, sales, orders, sold)


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
