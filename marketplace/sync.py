"""Bids and sales from the marketplace into the store, incrementally (rarible.md §7).

Bids are read per published item (all statuses, so cancellations and fills show up) and
upserted by order hash; only rows whose status or price changed are touched. Sales are read
from the SELL activity feed of our address with a stored cursor, one transaction per page
(rows and cursor together), so an interrupted sync resumes where it stopped and a re-read page
adds nothing twice. Amounts are exact decimals computed from the wei strings, each bounded
before it becomes a Decimal (storage/money.py): one absurd bid (`1E+999999999`) is skipped
and reported by its order hash, and the other bids and sales are still recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from marketplace.market import Market
from storage.db import session_scope
from storage.models.market import Bid, IntentStatus, MarketOrder, MintIntent, Sale, SyncCursor
from storage.money import parse_amount
from storage.types import utcnow

log = logging.getLogger(__name__)
BID_STATUSES = ("ACTIVE", "INACTIVE", "FILLED", "CANCELLED")


class SyncError(Exception):
    pass


@dataclass
class SyncReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    sold_artwork_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PublishedItem:
    artwork_id: int
    collection: str
    token_id: int

    @property
    def item_id(self) -> str:
        return f"{self.collection}:{self.token_id}"


def published_items(engine: Engine, mode: str) -> list[PublishedItem]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(MintIntent).where(
                MintIntent.mode == mode, MintIntent.status == IntentStatus.DONE.value
            )
        ).all()
        return [PublishedItem(r.artwork_id, r.collection, int(r.token_id)) for r in rows]


def _exact_ratio(numerator: Decimal, denominator: Decimal, decimals: int) -> Decimal:
    with localcontext() as context:
        context.prec = 100  # uint256 has 78 digits: no rounding on the way
        return (numerator / denominator).scaleb(-decimals).normalize()


def _currency(asset_type: dict[str, Any], weth: str | None) -> tuple[str, str | None, int | None]:
    """(currency id, symbol, decimals) of an indexer AssetType."""
    asset_class = str(asset_type.get("assetClass") or asset_type.get("@type") or "")
    if asset_class == "ETH":
        return "ETH", "ETH", 18
    contract = str(asset_type.get("contract", "")).split(":")[-1].lower()
    if asset_class.upper() == "ERC20":
        if weth and contract == weth.lower():
            return f"ERC20:{contract}", "WETH", 18
        return f"ERC20:{contract}", None, None
    return f"{asset_class}:{contract}", None, None


def _decimal(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return parse_amount(value, what)


def parse_bid(order: dict[str, Any], item: PublishedItem, weth: str | None) -> dict[str, Any]:
    """An indexer Order (a bid on our item) -> the Bid columns."""
    label = f"bid {order.get('hash') if isinstance(order, dict) else None} on {item.item_id}"
    try:
        make, take = order["make"], order["take"]
        order_id = str(order["hash"])
        make_value = parse_amount(make["value"], "make.value")
        take_value = parse_amount(take["value"], "take.value")
        maker = str(order["maker"]).split(":")[-1].lower()
        currency, symbol, decimals = _currency(make.get("assetType", {}), weth)
        if take_value <= 0:
            raise SyncError(f"bid {order_id} on {item.item_id} takes {take_value} items")
        if decimals is not None:
            price: Decimal | None = _exact_ratio(make_value, take_value, decimals)
        elif make.get("valueDecimal") is not None:  # the API's own decimal amount
            value = parse_amount(make["valueDecimal"], "make.valueDecimal")
            price = _exact_ratio(value, take_value, 0)
        else:
            price = None
        price_usd = _decimal(order.get("takePriceUsd") or order.get("priceUsd"), "priceUsd")
    except SyncError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise SyncError(f"{label} is malformed ({_reason(exc)})") from None
    status = "CANCELLED" if order.get("cancelled") else str(order.get("status") or "ACTIVE")
    return {
        "order_id": order_id,
        "artwork_id": item.artwork_id,
        "item_id": item.item_id,
        "maker": maker,
        "currency": currency,
        "currency_symbol": symbol,
        "price": price,
        "make_value": make_value,
        "take_value": take_value,
        "price_usd": price_usd,
        "status": status,
    }


def _reason(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__


def sync_bids(engine: Engine, market: Market, mode: str, *, weth: str | None) -> SyncReport:
    report = SyncReport()
    for item in published_items(engine, mode):
        fields_list: list[dict[str, Any]] = []
        raw: dict[str, str] = {}
        for order in market.bids_by_item(item.collection, item.token_id, BID_STATUSES):
            try:
                fields = parse_bid(order, item, weth)
            except SyncError as exc:  # one bad bid never stops the others
                report.skipped.append(str(exc))
                log.warning("%s", exc)
                continue
            fields_list.append(fields)
            raw[fields["order_id"]] = json.dumps(order, sort_keys=True)
        with session_scope(engine) as session:
            known = {
                bid.order_id: bid
                for bid in session.exec(
                    select(Bid).where(col(Bid.order_id).in_([f["order_id"] for f in fields_list]))
                ).all()
            }  # one query per item, not one per bid
            for fields in fields_list:
                existing = known.get(fields["order_id"])
                if existing is None:
                    session.add(Bid(**fields, mode=mode, raw_json=raw[fields["order_id"]]))
                    report.new += 1
                    continue
                changed = any(getattr(existing, k) != v for k, v in fields.items())
                if not changed:
                    report.unchanged += 1
                    continue
                for key, value in fields.items():
                    setattr(existing, key, value)
                existing.raw_json = raw[fields["order_id"]]
                existing.updated_at = utcnow()
                session.add(existing)
                report.updated += 1
    return report


def _union_item(activity: dict[str, Any]) -> str | None:
    nft_type = (activity.get("nft") or {}).get("type") or {}
    contract, token_id = nft_type.get("contract"), nft_type.get("tokenId")
    if contract is None or token_id is None:
        return None
    return f"{str(contract).split(':')[-1].lower()}:{int(str(token_id))}"


def parse_sale(activity: dict[str, Any], artwork_id: int | None, item_id: str) -> dict[str, Any]:
    try:
        payment = activity.get("payment") or {}
        currency, _, _ = _currency(payment.get("type") or {}, None)
        price = parse_amount(activity["price"], "price")
        amount = _decimal(payment.get("value"), "payment.value")
        price_usd = _decimal(activity.get("priceUsd"), "priceUsd")
        sold_at = datetime.fromisoformat(str(activity["date"]).replace("Z", "+00:00"))
        buyer = str(activity["buyer"]).split(":")[-1].lower()
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise SyncError(
            f"sale {activity.get('id')} of {item_id} is malformed ({_reason(exc)})"
        ) from None
    seller = activity.get("seller")
    return {
        "activity_id": str(activity["id"]),
        "tx_hash": activity.get("transactionHash")
        or (activity.get("blockchainInfo") or {}).get("transactionHash"),
        "artwork_id": artwork_id,
        "item_id": item_id,
        "kind": str(activity.get("type") or "SELL"),
        "buyer": buyer,
        "seller": str(seller).split(":")[-1].lower() if seller else None,
        "price": price,
        "amount": amount,
        "currency": currency,
        "price_usd": price_usd,
        "sold_at": sold_at,
    }


FeeLookup = Callable[[], int | None]
PROTOCOL_FEE_ORDER_TYPE = "RARIBLE_V2"  # our orders' type; its data version decides the fee


def api_protocol_fee(market: Market) -> int | None:
    """The seller-side protocol fee (bps) the API reports for our order type, or None when it
    reports none or cannot be read (the sale is still recorded; the report says so)."""
    try:
        fees = market.order_fees()
    except Exception as exc:  # a fee lookup never stops recording a sale
        log.warning("protocol fee lookup failed: %s", exc)
        return None
    value = (fees or {}).get(PROTOCOL_FEE_ORDER_TYPE)
    try:
        bps = int(str(value))
    except (TypeError, ValueError):
        return None
    return bps if 0 <= bps <= 10000 else None


class _Once:
    """Calls `lookup` at most once, when the first new sale needs it."""

    def __init__(self, lookup: FeeLookup | None) -> None:
        self._lookup = lookup
        self._done = lookup is None
        self._value: int | None = None

    def __call__(self) -> int | None:
        if not self._done and self._lookup is not None:
            self._value, self._done = self._lookup(), True
        return self._value


def _record_sales(
    engine: Engine,
    activities: list[dict[str, Any]],
    *,
    ours: dict[str, int],
    mode: str,
    fee: _Once,
    report: SyncReport,
    cursor_name: str,
    next_cursor: str | None,
) -> None:
    """One page of SELL activities and the cursor after it, in one transaction."""
    with session_scope(engine) as session:
        for activity in activities:
            if activity.get("reverted") or activity.get("@type", "SELL") != "SELL":
                continue
            item_id = _union_item(activity)
            if item_id is None or "id" not in activity:
                report.skipped.append(f"sale activity {activity.get('id')} names no item")
                continue
            if session.exec(select(Sale).where(Sale.activity_id == str(activity["id"]))).first():
                report.unchanged += 1
                continue
            try:
                fields = parse_sale(activity, ours.get(item_id), item_id)
            except SyncError as exc:
                report.skipped.append(str(exc))
                continue
            session.add(
                Sale(
                    **fields,
                    mode=mode,
                    protocol_fee_bps=fee(),
                    raw_json=json.dumps(activity, sort_keys=True),
                )
            )
            report.new += 1
            if fields["artwork_id"] is not None:
                report.sold_artwork_ids.append(fields["artwork_id"])
        if next_cursor:
            row = session.get(SyncCursor, cursor_name) or SyncCursor(name=cursor_name)
            row.cursor = next_cursor
            row.updated_at = utcnow()
            session.add(row)


def _stored_cursor(engine: Engine, name: str) -> str | None:
    with session_scope(engine) as session:
        stored = session.get(SyncCursor, name)
        return stored.cursor if stored else None


def sync_sales(
    engine: Engine,
    market: Market,
    mode: str,
    seller: str,
    *,
    protocol_fee: FeeLookup | None = None,
) -> SyncReport:
    """Read the SELL feed from the stored cursor; returns new sales and the artworks they sold.

    `protocol_fee` is asked once, at the first new sale, for the exchange's seller-side fee in
    effect (recorded with each new sale; the revenue report applies it to V3 orders)."""
    report = SyncReport()
    ours = {item.item_id: item.artwork_id for item in published_items(engine, mode)}
    cursor_name = f"sales:{mode}:{seller.lower()}"
    cursor = _stored_cursor(engine, cursor_name)
    fee = _Once(protocol_fee)
    while True:
        activities, next_cursor = market.sale_activities(seller, cursor)
        _record_sales(
            engine,
            activities,
            ours=ours,
            mode=mode,
            fee=fee,
            report=report,
            cursor_name=cursor_name,
            next_cursor=next_cursor,
        )
        if not activities or not next_cursor or next_cursor == cursor:
            return report
        cursor = next_cursor


def sync_item_sales(
    engine: Engine, market: Market, mode: str, *, protocol_fee: FeeLookup | None = None
) -> SyncReport:
    """Sales of our items by whoever owns them now: later owners' resales pay us royalties.

    Only items sold at least once can be resold, so only their feeds are read (one cursor per
    item); a sale already recorded from our own feed is counted as unchanged."""
    report = SyncReport()
    items = {item.item_id: item for item in published_items(engine, mode)}
    with session_scope(engine) as session:
        sold = set(
            session.exec(
                select(Sale.item_id).where(Sale.mode == mode, col(Sale.item_id).in_(list(items)))
            ).all()
        )
    ours = {item_id: item.artwork_id for item_id, item in items.items()}
    fee = _Once(protocol_fee)
    for item_id in sorted(sold):
        item = items[item_id]
        cursor_name = f"item-sales:{mode}:{item_id}"
        cursor = _stored_cursor(engine, cursor_name)
        while True:
            activities, next_cursor = market.item_sale_activities(
                item.collection, item.token_id, cursor
            )
            _record_sales(
                engine,
                activities,
                ours=ours,
                mode=mode,
                fee=fee,
                report=report,
                cursor_name=cursor_name,
                next_cursor=next_cursor,
            )
            if not activities or not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
    return report


def sync_own_orders(engine: Engine, market: Market, mode: str) -> SyncReport:
    """Re-read our sell orders that the store still holds as ACTIVE (filled, cancelled, expired
    orders show up here), the way a trading bot re-reads its open orders at start-up."""
    report = SyncReport()
    with session_scope(engine) as session:
        open_orders = session.exec(
            select(MarketOrder).where(
                MarketOrder.mode == mode,
                MarketOrder.status == IntentStatus.DONE.value,
                MarketOrder.market_status == "ACTIVE",
            )
        ).all()
        hashes = {row.id: row.order_hash for row in open_orders}
    for order_id, order_hash in hashes.items():
        found = market.get_order(order_hash)
        status = "MISSING" if found is None else str(found.get("status") or "ACTIVE")
        if found is not None and found.get("cancelled"):
            status = "CANCELLED"
        if status == "ACTIVE":
            report.unchanged += 1
            continue
        with session_scope(engine) as session:
            row = session.get(MarketOrder, order_id)
            if row is not None:
                row.market_status = status
                row.updated_at = utcnow()
                session.add(row)
                report.updated += 1
    return report
