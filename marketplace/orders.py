"""Fixed-price sell orders for lazy items, with the same intent/act/reconcile discipline as the
mint (rarible.md §6.5): the order is signed and stored with its locally computed hash
(LibOrder.hashKey, the id the API reports) before it is sent, so a lookup by hash tells whether
an interrupted upsert got through.
"""

from __future__ import annotations

import json
import logging
import secrets
from decimal import Decimal, localcontext

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from marketplace.assets import (
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    erc721_lazy_asset,
    eth_asset,
)
from marketplace.client import AmbiguousSubmission, RaribleAuthError, RaribleRejected
from marketplace.eip712 import Order, Signer, order_typed_data
from marketplace.market import Market
from marketplace.minting import IntentBusy, claim_for_sending
from marketplace.networks import Network
from storage.db import session_scope
from storage.models.market import IntentStatus, MarketOrder, MintIntent
from storage.types import utcnow

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
            col(MarketOrder.status).not_in(
                (IntentStatus.REJECTED.value, IntentStatus.EXPIRED.value)
            ),
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
    lazy = LazyMint721.from_lazy_nft_json(json.loads(mint.payload_json))
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
    session.add(row)
    session.flush()
    return row


def reconcile_order(engine: Engine, order_id: int, market: Market) -> MarketOrder:
    with session_scope(engine) as session:
        row = session.get(MarketOrder, order_id)
        if row is None:
            raise OrderError(f"order {order_id} does not exist")
        found = market.get_order(row.order_hash)
        if found is not None:
            _mark_done(row, found)
            log.info("order %s found on reconcile (%s)", row.order_hash, row.market_status)
        session.add(row)
        return row


def _mark_done(row: MarketOrder, response: dict[str, object]) -> None:
    now = utcnow()
    row.status = IntentStatus.DONE.value
    row.remote_id = str(response.get("hash") or response.get("id") or row.order_hash)
    row.market_status = str(response.get("status") or "ACTIVE")
    row.error = None
    row.done_at = row.updated_at = now


def submit_order(engine: Engine, order_id: int, market: Market) -> MarketOrder:
    """Upsert the signed order once; after a possible earlier send, look it up first."""
    with session_scope(engine) as session:
        row = session.get(MarketOrder, order_id)
        if row is None:
            raise OrderError(f"order {order_id} does not exist")
        status = IntentStatus(row.status)
    if status in (IntentStatus.DONE, IntentStatus.REJECTED):
        return row
    if status in (IntentStatus.SENDING, IntentStatus.AMBIGUOUS):
        row = reconcile_order(engine, order_id, market)
        if row.status == IntentStatus.DONE.value:
            return row
    with session_scope(engine) as session:
        claimed = claim_for_sending(session, MarketOrder, order_id, row.status, row.sends)
        row = session.get(MarketOrder, order_id)
        assert row is not None
        if not claimed:
            raise IntentBusy(f"order {row.order_hash} is being sent by another process")
    try:
        response = market.upsert_order(json.loads(row.payload_json), order_hash=row.order_hash)
    except RaribleAuthError as exc:
        _finish(engine, order_id, IntentStatus.SIGNED, error=str(exc))
        raise
    except RaribleRejected as exc:
        _finish(engine, order_id, IntentStatus.REJECTED, error=str(exc))
        raise
    except AmbiguousSubmission as exc:
        _finish(engine, order_id, IntentStatus.AMBIGUOUS, error=str(exc))
        log.warning("order %s: %s; looking it up", row.order_hash, exc)
        row = reconcile_order(engine, order_id, market)
        if row.status != IntentStatus.DONE.value:
            raise
        return row
    return _finish(engine, order_id, IntentStatus.DONE, response=response)


def _finish(
    engine: Engine,
    order_id: int,
    status: IntentStatus,
    *,
    error: str | None = None,
    response: dict[str, object] | None = None,
) -> MarketOrder:
    with session_scope(engine) as session:
        row = session.get(MarketOrder, order_id)
        assert row is not None
        if status is IntentStatus.DONE:
            _mark_done(row, response or {})
        else:
            row.status = status.value
            row.error = (error or "")[:4000]
            row.updated_at = utcnow()
        session.add(row)
        return row
