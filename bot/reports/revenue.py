"""`bot report revenue`: sales and what they earned us, over time, per generated NFT against
its source NFT, and per category.

Revenue per sale follows bot/reports/proceeds.py (the exchange's own arithmetic): a primary
sale earns the price less the protocol fee (V3 orders only, at the rate recorded with the
sale, else BOT_PROTOCOL_FEE_BPS), less our sell order's origin fees, less royalties paid to
others (royalties to us stay ours); a resale by a later owner earns only our royalties. USD
figures use each sale's own USD price from the marketplace (revenue x priceUsd / price,
rounded to cents); a sale without one has no USD value: no exchange rate is ever assumed.

"Monetary value" (the study's evaluation): each generated NFT's revenue against its source
NFT's listed price, as a ratio only when both are in the same currency or both have a USD
value; otherwise the row says why they are not comparable (the Kaggle listings are priced in
SWAP.HIVE and carry no USD value).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from sqlalchemy.engine import Engine

from bot.reports import store
from bot.reports.model import Chart, Column, Report, Section
from bot.reports.proceeds import Part, SellTerms, royalty_income, seller_proceeds
from storage.types import utcnow

PERIODS = ("day", "week", "month")
CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")


def period_of(moment: datetime, period: str) -> str:
    if period == "month":
        return moment.strftime("%Y-%m")
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m-%d")


@dataclass
class SaleLine:
    sale: store.SaleRow
    artwork_id: int | None
    currency: str
    resale: bool
    protocol_fee: Decimal | None
    origin_fees: Decimal | None
    royalties_paid: Decimal | None
    revenue: Decimal
    revenue_usd: Decimal | None
    basis: str


def _usd(amount: Decimal, sale: store.SaleRow) -> Decimal | None:
    if sale.price_usd is None or sale.price <= 0:
        return None
    with localcontext() as exact:
        exact.prec = 120
        return (amount * sale.price_usd / sale.price).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _order_hash(sale: store.SaleRow) -> str | None:
    try:
        raw = json.loads(sale.raw_json or "{}")
    except ValueError:
        return None
    value = raw.get("sellerOrderHash") if isinstance(raw, dict) else None
    return str(value).split(":")[-1].lower() if value else None


def _sale_line(
    sale: store.SaleRow,
    *,
    items: dict[str, store.Published],
    orders: dict[str, store.OrderInfo],
    currencies: store.Currencies,
    our_addresses: set[str],
    fee_setting: int | None,
) -> SaleLine:
    item = items.get(sale.item_id)
    ours = set(our_addresses) | ({item.creator} if item else set())
    royalties: tuple[Part, ...] = item.royalties if item else ()
    decimals = currencies.decimals(sale.currency)
    seller = (sale.seller or "").lower()
    artwork_id = (
        sale.artwork_id if sale.artwork_id is not None else (item.artwork_id if item else None)
    )
    label = currencies.label(sale.currency)
    if seller and seller not in ours:
        income = royalty_income(sale.price, decimals, royalties, ours)
        ours_bps = sum(p.bps for p in royalties if p.account in ours)
        return SaleLine(
            sale,
            artwork_id,
            label,
            True,
            None,
            None,
            None,
            income,
            _usd(income, sale),
            f"resale by {seller}: our royalties, {ours_bps} bps of the price",
        )
    order = orders.get(_order_hash(sale) or "")
    if order is None and sale.kind != "ACCEPT_BID" and artwork_id is not None:
        same = [o for o in orders.values() if o.artwork_id == artwork_id and o.price == sale.price]
        order = same[-1] if same else None
    rate = sale.protocol_fee_bps if sale.protocol_fee_bps is not None else fee_setting
    if order is not None:
        applies = order.data_type == "V3"
        basis = f"our sell order {order.order_hash} (data {order.data_type})"
        terms_origin, terms_payouts, maker = order.origin_fees, order.payouts, order.maker
    else:
        applies = True
        basis = (
            "our side's order is not in the store (an accepted bid?): protocol fee deducted "
            "as for a V3 order, no origin fees"
        )
        terms_origin, terms_payouts = (), ()
        maker = seller or (item.creator if item else "")
    if applies:
        if rate is None:
            basis += "; protocol fee rate unknown: not deducted"
        else:
            basis += f"; protocol fee {rate} bps"
    if not item:
        basis += "; item not minted by the bot: royalties unknown"
    proceeds = seller_proceeds(
        sale.price,
        decimals,
        SellTerms(
            maker=maker,
            protocol_fee_bps=(rate or 0) if applies else 0,
            origin_fees=terms_origin,
            payouts=terms_payouts,
            royalties=royalties,
        ),
        ours,
    )
    return SaleLine(
        sale,
        artwork_id,
        label,
        False,
        proceeds.protocol_fee,
        proceeds.origin_fees_to_others,
        proceeds.royalties_to_others,
        proceeds.to_us,
        _usd(proceeds.to_us, sale),
        basis,
    )


SALE_COLUMNS = [
    Column("sold_at", "sold at", "time"),
    Column("artwork_id", "artwork", "int"),
    Column("title", "title"),
    Column("item_id", "item", "id"),
    Column("kind", "kind"),
    Column("price", "price", "money"),
    Column("currency", "currency"),
    Column("protocol_fee", "protocol fee", "money"),
    Column("origin_fees", "origin fees", "money"),
    Column("royalties_paid", "royalties to others", "money"),
    Column("revenue", "revenue", "money"),
    Column("price_usd", "price USD", "money"),
    Column("revenue_usd", "revenue USD", "usd"),
    Column("buyer", "buyer", "id"),
    Column("seller", "seller", "id"),
    Column("tx_hash", "tx", "id"),
    Column("activity_id", "activity", "id"),
    Column("basis", "how"),
]


def _add(total: Decimal | None, value: Decimal | None) -> Decimal | None:
    if value is None:
        return total
    return value if total is None else total + value


def build(
    engine: Engine,
    *,
    mode: str,
    weth: str | None,
    our_addresses: set[str],
    protocol_fee_bps: int | None,
    period: str = "day",
) -> Report:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    currencies = store.Currencies(weth)
    problems: list[str] = []
    with store.reading(engine) as session:
        infos = store.artworks(session)
        items = store.published(session, mode, problems)
        orders = store.orders(session, mode, problems)
        sales = store.sales(session, mode)
        bids = store.bids(session, mode, active_only=True)
    ours = {a.lower() for a in our_addresses}
    lines = [
        _sale_line(
            sale,
            items=items,
            orders=orders,
            currencies=currencies,
            our_addresses=ours,
            fee_setting=protocol_fee_bps,
        )
        for sale in sales
    ]
    with localcontext() as exact:
        exact.prec = 120  # sums of wei-exact amounts must not round
        sections = [
            _summary(lines),
            _sales_section(lines, infos),
            _over_time(lines, period),
            _monetary_value(lines, infos, items, bids, currencies),
            _by_category(lines, infos, items, bids),
        ]
    notes = [
        "Revenue = price - protocol fee (V3 orders) - our sell order's origin fees - royalties "
        "paid to others, as ExchangeV2 computes it (floor per basis point, in wei); a resale "
        "by a later owner earns our royalties only.",
        "USD: each sale's own USD price from the marketplace, rounded to cents; no exchange "
        "rate is assumed.",
    ]
    return Report("revenue", "Sales and revenue", utcnow(), mode, sections, notes, problems)


def _summary(lines: list[SaleLine]) -> Section:
    per: dict[str, dict[str, Any]] = {}
    for line in lines:
        row = per.setdefault(
            line.currency,
            {
                "currency": line.currency,
                "sales": 0,
                "resales": 0,
                "gross": Decimal(0),
                "protocol_fees": Decimal(0),
                "origin_fees": Decimal(0),
                "royalties_paid": Decimal(0),
                "revenue": Decimal(0),
                "revenue_usd": None,
                "without_usd": 0,
            },
        )
        if line.resale:
            row["resales"] += 1
        else:
            row["sales"] += 1
            row["gross"] += line.sale.price
            row["protocol_fees"] += line.protocol_fee or 0
            row["origin_fees"] += line.origin_fees or 0
            row["royalties_paid"] += line.royalties_paid or 0
        row["revenue"] += line.revenue
        row["revenue_usd"] = _add(row["revenue_usd"], line.revenue_usd)
        row["without_usd"] += line.revenue_usd is None
    return Section(
        "summary",
        "Totals per currency",
        [
            Column("currency", "currency"),
            Column("sales", "sales", "int"),
            Column("resales", "resales", "int"),
            Column("gross", "gross (our sales)", "money"),
            Column("protocol_fees", "protocol fees", "money"),
            Column("origin_fees", "origin fees", "money"),
            Column("royalties_paid", "royalties to others", "money"),
            Column("revenue", "revenue", "money"),
            Column("revenue_usd", "revenue USD", "usd"),
            Column("without_usd", "sales without USD", "int"),
        ],
        list(per.values()),
        notes=[] if lines else ["No sales recorded yet (bot bids sync reads them)."],
    )


def _sales_section(lines: list[SaleLine], infos: dict[int, store.ArtworkInfo]) -> Section:
    rows = []
    for line in lines:
        sale = line.sale
        info = infos.get(line.artwork_id or 0)
        kind = "resale" if line.resale else "sale"
        if sale.kind == "ACCEPT_BID":
            kind += " (accepted bid)"
        rows.append(
            {
                "sold_at": sale.sold_at,
                "artwork_id": line.artwork_id,
                "title": info.title if info else None,
                "item_id": sale.item_id,
                "kind": kind,
                "price": sale.price,
                "currency": line.currency,
                "protocol_fee": line.protocol_fee,
                "origin_fees": line.origin_fees,
                "royalties_paid": line.royalties_paid,
                "revenue": line.revenue,
                "price_usd": sale.price_usd,
                "revenue_usd": line.revenue_usd,
                "buyer": sale.buyer,
                "seller": sale.seller,
                "tx_hash": sale.tx_hash,
                "activity_id": sale.activity_id,
                "basis": line.basis,
            }
        )
    return Section("sales", "Sales", SALE_COLUMNS, rows)


def _over_time(lines: list[SaleLine], period: str) -> Section:
    per: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        key = (period_of(line.sale.sold_at, period), line.currency)
        row = per.setdefault(
            key,
            {
                "period": key[0],
                "currency": key[1],
                "sales": 0,
                "resales": 0,
                "gross": Decimal(0),
                "revenue": Decimal(0),
                "revenue_usd": None,
            },
        )
        row["resales" if line.resale else "sales"] += 1
        if not line.resale:
            row["gross"] += line.sale.price
        row["revenue"] += line.revenue
        row["revenue_usd"] = _add(row["revenue_usd"], line.revenue_usd)
    return Section(
        "over_time",
        f"Revenue per {period}",
        [
            Column("period", period),
            Column("currency", "currency"),
            Column("sales", "sales", "int"),
            Column("resales", "resales", "int"),
            Column("gross", "gross (our sales)", "money"),
            Column("revenue", "revenue", "money"),
            Column("revenue_usd", "revenue USD", "usd"),
        ],
        [per[key] for key in sorted(per)],
        chart=Chart(
            "line",
            f"Revenue per {period}",
            x="period",
            y="revenue",
            series="currency",
            xlabel=period,
            ylabel="revenue",
        ),
    )


def _revenue_by_artwork(lines: list[SaleLine]) -> dict[int, list[SaleLine]]:
    found: dict[int, list[SaleLine]] = defaultdict(list)
    for line in lines:
        if line.artwork_id is not None:
            found[line.artwork_id].append(line)
    return found


def _compare(
    sold: list[SaleLine], info: store.ArtworkInfo | None
) -> tuple[str | None, Decimal | None, Decimal | None, Decimal | None, str]:
    """(revenue currency, revenue, revenue USD, ratio, how they compare)."""
    currencies = sorted({line.currency for line in sold})
    revenue = sum((line.revenue for line in sold), Decimal(0)) if len(currencies) == 1 else None
    usd_known = bool(sold) and all(line.revenue_usd is not None for line in sold)
    revenue_usd = (
        sum((line.revenue_usd or Decimal(0) for line in sold), Decimal(0)) if usd_known else None
    )
    currency = currencies[0] if len(currencies) == 1 else ("mixed" if currencies else None)
    if not sold:
        return None, None, None, None, "not sold"
    source_price = info.source_price if info else None
    source_currency = (info.source_currency or "") if info else ""
    source_usd = info.source_price_usd if info else None
    if (
        revenue is not None
        and source_price
        and source_price > 0
        and currency is not None
        and currency.upper() == source_currency.upper()
    ):
        ratio = (revenue / source_price).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)
        return currency, revenue, revenue_usd, ratio, f"same currency ({currency})"
    if revenue_usd is not None and source_usd and source_usd > 0:
        ratio = (revenue_usd / source_usd).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)
        return currency, revenue, revenue_usd, ratio, "in USD"
    why = f"revenue in {', '.join(currencies)}, source in {source_currency or 'no currency'}"
    if source_usd is None:
        why += "; the source has no USD value"
    if revenue_usd is None:
        why += "; a sale has no USD value"
    return currency, revenue, revenue_usd, None, f"not comparable: {why}"


def _monetary_value(
    lines: list[SaleLine],
    infos: dict[int, store.ArtworkInfo],
    items: dict[str, store.Published],
    bids: list[store.BidRow],
    currencies: store.Currencies,
) -> Section:
    by_artwork = _revenue_by_artwork(lines)
    artwork_ids = sorted({i.artwork_id for i in items.values()} | set(by_artwork))
    top_bid: dict[int, store.BidRow] = {}
    for bid in bids:
        if bid.artwork_id is None or bid.price is None:
            continue
        best = top_bid.get(bid.artwork_id)
        if best is None or (bid.price_usd or 0, bid.price) > (best.price_usd or 0, best.price or 0):
            top_bid[bid.artwork_id] = bid
    rows = []
    for artwork_id in artwork_ids:
        info = infos.get(artwork_id)
        sold = by_artwork.get(artwork_id, [])
        currency, revenue, revenue_usd, ratio, how = _compare(sold, info)
        best = top_bid.get(artwork_id)
        rows.append(
            {
                "artwork_id": artwork_id,
                "label": f"#{artwork_id}",
                "title": info.title if info else None,
                "category": info.category if info else None,
                "source": f"{info.source_marketplace}:{info.source_item_id}" if info else None,
                "source_price": info.source_price if info else None,
                "source_currency": info.source_currency if info else None,
                "source_price_usd": info.source_price_usd if info else None,
                "revenue": revenue,
                "revenue_currency": currency,
                "revenue_usd": revenue_usd,
                "highest_bid": best.price if best else None,
                "highest_bid_currency": (best.currency_symbol or currencies.label(best.currency))
                if best
                else None,
                "ratio": ratio,
                "comparison": how,
            }
        )
    return Section(
        "monetary_value",
        "Generated NFT against its source NFT",
        [
            Column("artwork_id", "artwork", "int"),
            Column("title", "title"),
            Column("category", "category"),
            Column("source", "source NFT", "id"),
            Column("source_price", "source price", "money"),
            Column("source_currency", "source currency"),
            Column("source_price_usd", "source USD", "money"),
            Column("revenue", "revenue", "money"),
            Column("revenue_currency", "revenue currency"),
            Column("revenue_usd", "revenue USD", "usd"),
            Column("highest_bid", "highest active bid", "money"),
            Column("highest_bid_currency", "bid currency"),
            Column("ratio", "revenue / source", "ratio"),
            Column("comparison", "comparison"),
        ],
        rows,
        notes=[
            "ratio = revenue / source price, only in one currency or both in USD (to 4 places); "
            "otherwise the row says why they cannot be compared."
        ],
        chart=Chart(
            "bar",
            "Revenue / source price",
            x="label",
            y="ratio",
            xlabel="artwork",
            ylabel="ratio",
        ),
    )


def _by_category(
    lines: list[SaleLine],
    infos: dict[int, store.ArtworkInfo],
    items: dict[str, store.Published],
    bids: list[store.BidRow],
) -> Section:
    published: dict[str, int] = defaultdict(int)
    for item in items.values():
        info = infos.get(item.artwork_id)
        published[info.category if info else store.NO_CATEGORY] += 1
    artworks: dict[str, int] = defaultdict(int)
    sold: dict[str, int] = defaultdict(int)
    for info in infos.values():
        if info.state == "rejected":
            continue
        artworks[info.category] += 1
        sold[info.category] += info.state == "sold"
    active_bids: dict[str, int] = defaultdict(int)
    for bid in bids:
        info = infos.get(bid.artwork_id or 0)
        active_bids[info.category if info else store.NO_CATEGORY] += 1
    money: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        info = infos.get(line.artwork_id or 0)
        category = info.category if info else store.NO_CATEGORY
        row = money.setdefault(
            (category, line.currency),
            {"gross": Decimal(0), "revenue": Decimal(0), "revenue_usd": None},
        )
        if not line.resale:
            row["gross"] += line.sale.price
        row["revenue"] += line.revenue
        row["revenue_usd"] = _add(row["revenue_usd"], line.revenue_usd)
    categories = sorted(set(artworks) | set(published) | {c for c, _ in money})
    rows = []
    for category in categories:
        base = {
            "category": category,
            "artworks": artworks.get(category, 0),
            "published": published.get(category, 0),
            "sold": sold.get(category, 0),
            "active_bids": active_bids.get(category, 0),
        }
        found = sorted((cur, row) for (cat, cur), row in money.items() if cat == category)
        if not found:
            rows.append(
                {**base, "currency": None, "gross": None, "revenue": None, "revenue_usd": None}
            )
        for currency, row in found:
            rows.append({**base, "currency": currency, **row})
    return Section(
        "by_category",
        "By category",
        [
            Column("category", "category"),
            Column("artworks", "artworks", "int"),
            Column("published", "published", "int"),
            Column("sold", "sold", "int"),
            Column("active_bids", "active bids", "int"),
            Column("currency", "currency"),
            Column("gross", "gross (our sales)", "money"),
            Column("revenue", "revenue", "money"),
            Column("revenue_usd", "revenue USD", "usd"),
        ],
        rows,
        notes=["artworks: every artwork not rejected by curation."],
        chart=Chart(
            "barh",
            "Revenue by category",
            x="category",
            y="revenue",
            series="currency",
            xlabel="revenue",
            ylabel="category",
        ),
    )
