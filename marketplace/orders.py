"""Fixed-price sell orders for lazy items, with the same intent/act/reconcile discipline as the
mint (rarible.md §6.5): the order is signed and stored with its locally computed hash
(LibOrder.hashKey, the id the API reports) before it is sent, so a lookup by hash tells whether
an interrupted upsert got through. One live order per artwork and mode is enforced by the
database (`uq_market_order_live`): of two publishers preparing an order at once, the second
insert fails and that publisher leaves the artwork to the first (`IntentBusy`).
"""

from __future__ import annotations

import json
import logging
import secrets
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from marketplace.assets import (
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    erc721_lazy_asset,
    eth_asset,
)
from marketplace.eip712 import Order, Signer, order_typed_data
from marketplace.market import Market
from marketplace.networks import Network
from marketplace.royalties import MAX_ROYALTY_BPS, royalty_total_bps
from marketplace.sending import IntentBusy, IntentMissing, Send, SendClaim, send_once
from storage.models.market import (
    NOT_LIVE_ORDER_STATUSES,
    IntentStatus,
    MarketOrder,
    MintIntent,
)

log = logging.getLogger(__name__)
WEI_PER_ETH = Decimal(10) ** 18


class OrderError(ValueError):
    pass


def eth_to_wei(amount: str | Decimal) -> int:
    """'0.05' -> 50000000000000000, exactly; refuses fractions of a wei and non-positive prices."""
    with localcontext() as context:
        context.prec = 100  # the default 28 digits would round large prices silently
        value = Decimal(str(amount)) * WEI_PER_ETH
    if value <= 0 or value != value.to_integral_value():
        raise OrderError(f"price {amount} ETH is not a positive whole number of wei")
    return int(value)


def live_order(session: Session, artwork_id: int, mode: str) -> MarketOrder | None:
    return session.exec(
        select(MarketOrder).where(
            MarketOrder.artwork_id == artwork_id,
            MarketOrder.mode == mode,
            col(MarketOrder.status).not_in([s.value for s in NOT_LIVE_ORDER_STATUSES]),
        )
    ).first()


def expired_orders(session: Session, mode: str, now: int) -> list[MarketOrder]:
    """Our sell orders that were live on the market and whose end has passed unfilled."""
    return list(
        session.exec(
            select(MarketOrder).where(
                MarketOrder.mode == mode,
                MarketOrder.status == IntentStatus.DONE.value,
                MarketOrder.end_ts > 0,
                MarketOrder.end_ts <= now,
                col(MarketOrder.market_status).not_in(("FILLED",)),
            )
        ).all()
    )


def prepare_sell_order(
    session: Session,
    *,
    mint: MintIntent,
    network: Network,
    signer: Signer,
    price_eth: str | Decimal,
    start: int,
    end: int,
    version: OrderDataVersion = OrderDataVersion.V2,
) -> MarketOrder:
    """Sign a sell order for the lazy item (make ERC721_LAZY x1, take ETH) and store it."""
    existing = live_order(session, mint.artwork_id, mint.mode)
    if existing is not None:
        return existing
    if mint.status != IntentStatus.DONE.value:
        raise OrderError(f"artwork {mint.artwork_id}: the item is not minted yet ({mint.status})")
    if end and end <= start:
        raise OrderError(f"artwork {mint.artwork_id}: order end {end} is not after start {start}")
    price_wei = eth_to_wei(price_eth)
    lazy_json = json.loads(mint.payload_json)
    if royalty_total_bps(lazy_json) > MAX_ROYALTY_BPS:  # minted before the cap: unsellable
        raise OrderError(
            f"artwork {mint.artwork_id}: its item carries {royalty_total_bps(lazy_json)} bps of"
            f" royalties; Rarible's exchange reverts every sale above {MAX_ROYALTY_BPS}"
        )
    lazy = LazyMint721.from_lazy_nft_json(lazy_json)
    order = Order(
        maker=signer.address,
        make=Asset(erc721_lazy_asset(lazy), 1),
        take=Asset(eth_asset(), price_wei),
        salt=secrets.randbits(255) + 1,  # non-zero: salt 0 orders only work for the maker
        start=start,
        end=end,
        data=OrderData(version, is_make_fill=True),
    )
    signature = signer.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    row = MarketOrder(
        artwork_id=mint.artwork_id,
        mint_intent_id=mint.id or 0,
        mode=mint.mode,
        order_hash=order.hash_key(),
        make_value="1",
        take_currency="ETH",
        price=Decimal(str(price_eth)),
        price_wei=Decimal(price_wei),
        salt=str(order.salt),
        start_ts=start,
        end_ts=end,
        data_type=version.value,
        payload_json=json.dumps(order.as_form(signature), sort_keys=True),
    )
    artwork_id = mint.artwork_id  # a failed flush expires `mint`: nothing may load it after
    session.add(row)
    try:
        session.flush()  # uq_market_order_live speaks now: one live order per artwork and mode
    except IntegrityError:
        raise IntentBusy(f"artwork {artwork_id} is being listed by another process") from None
    return row


def order_sending(market: Market) -> Send:
    """How a sell order is sent, looked up (by its hash) and recorded."""

    def done_values(row: MarketOrder, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "remote_id": str(response.get("hash") or response.get("id") or row.order_hash),
            "market_status": str(response.get("status") or "ACTIVE"),
        }

    return Send(
        describe=lambda row: f"sell order {row.order_hash} (artwork {row.artwork_id})",
        lookup=lambda row: market.get_order(row.order_hash),
        request=lambda row: market.upsert_order(
            json.loads(row.payload_json), order_hash=row.order_hash
        ),
        done_values=done_values,
    )


def submit_order(
    engine: Engine, order_id: int, market: Market, claim: SendClaim | None = None
) -> MarketOrder:
    """Upsert the signed order under a send claim; after a possible earlier send it is looked up
    by hash first (rules in `marketplace/sending.py`)."""
    claim = claim or SendClaim.fresh(market.claim_ttl_s)
    try:
        return send_once(engine, MarketOrder, order_id, claim, order_sending(market))
    except IntentMissing:
        raise OrderError(f"order {order_id} does not exist") from None
