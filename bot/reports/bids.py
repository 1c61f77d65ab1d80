"""`bot report bids`: the bids on each published artwork, per currency.

Highest is over ACTIVE bids (what could be accepted now); the bid count and bidders cover
every status (a cancelled or filled bid was still an offer). Prices are per item, exact, in
the bid's currency; USD is the marketplace's own figure for that bid, when it gave one.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from bot.reports import store
from bot.reports.model import Chart, Column, Report, Section
from storage.types import utcnow

COLUMNS = [
    Column("artwork_id", "artwork", "int"),
    Column("title", "title"),
    Column("category", "category"),
    Column("item_id", "item", "id"),
    Column("currency", "currency"),
    Column("bids", "bids", "int"),
    Column("active", "active", "int"),
    Column("highest_active", "highest active", "money"),
    Column("highest_active_usd", "highest active USD", "money"),
    Column("highest_ever", "highest ever", "money"),
    Column("bidder_count", "bidders", "int"),
    Column("bidders", "bidder addresses", "list"),
    Column("last_bid_at", "last bid seen", "time"),
]


def build(engine: Engine, *, mode: str, weth: str | None) -> Report:
    currencies = store.Currencies(weth)
    problems: list[str] = []
    with store.reading(engine) as session:
        infos = store.artworks(session)
        items = store.published(session, mode, problems)
        bids = store.bids(session, mode)
    groups: dict[tuple[str, str], list[store.BidRow]] = defaultdict(list)
    for bid in bids:
        groups[(bid.item_id, bid.currency)].append(bid)
    rows: list[dict[str, Any]] = []
    for (item_id, currency), group in groups.items():
        artwork_id = group[0].artwork_id or (
            items[item_id].artwork_id if item_id in items else None
        )
        info = infos.get(artwork_id or 0)
        active = [b.price for b in group if b.status == "ACTIVE" and b.price is not None]
        priced = [b for b in group if b.price is not None]
        top_active = max(
            (b for b in group if b.status == "ACTIVE" and b.price is not None),
            key=lambda b: b.price or Decimal(0),
            default=None,
        )
        bidders = sorted({b.maker for b in group})
        rows.append(
            {
                "artwork_id": artwork_id,
                "title": info.title if info else None,
                "category": info.category if info else None,
                "item_id": item_id,
                "currency": group[0].currency_symbol or currencies.label(currency),
                "bids": len(group),
                "active": len(active),
                "highest_active": top_active.price if top_active else None,
                "highest_active_usd": top_active.price_usd if top_active else None,
                "highest_ever": max((b.price for b in priced if b.price is not None), default=None),
                "bidder_count": len(bidders),
                "bidders": bidders,
                "last_bid_at": max(b.first_seen_at for b in group),
            }
        )
    bid_items = {item_id for item_id, _ in groups}
    for item_id, item in sorted(items.items()):
        if item_id in bid_items:
            continue
        info = infos.get(item.artwork_id)
        rows.append(
            {
                "artwork_id": item.artwork_id,
                "title": info.title if info else None,
                "category": info.category if info else None,
                "item_id": item_id,
                "currency": None,
                "bids": 0,
                "active": 0,
                "highest_active": None,
                "highest_active_usd": None,
                "highest_ever": None,
                "bidder_count": 0,
                "bidders": [],
                "last_bid_at": None,
            }
        )
    rows.sort(key=lambda r: (r["artwork_id"] is None, r["artwork_id"] or 0, r["currency"] or ""))
    for row in rows:
        row["label"] = f"#{row['artwork_id']}" if row["artwork_id"] is not None else row["item_id"]
    section = Section(
        "bids",
        "Bids per artwork",
        COLUMNS,
        rows,
        notes=[
            "highest: over ACTIVE bids; bids and bidders: every status. Prices per item, exact, "
            "in the bid's currency; USD as the marketplace reported it.",
            f"{len(items)} published item(s), {len(bids)} bid(s) recorded ({mode}).",
        ],
        chart=Chart(
            "bar",
            "Highest active bid per artwork",
            x="label",
            y="highest_active",
            series="currency",
            xlabel="artwork",
            ylabel="price per item",
        ),
    )
    return Report("bids", "Bids", utcnow(), mode, [section], problems=problems)
