"""Price history: asks recorded on change, and the batched upsert equal to the one-by-one one."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from scraper.runner import run_source
from scraper.source import Page, ScrapedListing
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing, upsert_listings
from storage.models import Listing
from storage.models.scrape import PriceObservation

COMPARED = ("marketplace", "item_id", "source", "name", "price", "currency", "price_usd", "nsfw")


def _asks(engine) -> list[tuple[str, Decimal | None, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(PriceObservation).order_by(PriceObservation.id)).all()
        ids = {x.id: f"{x.marketplace}:{x.item_id}" for x in session.exec(select(Listing)).all()}
    return [(ids[row.listing_id], row.price, row.currency) for row in rows]


def test_asks_are_recorded_on_new_and_on_price_change_only(db_url: str) -> None:
    engine = make_engine(db_url)
    base = {"source": "t", "marketplace": "m", "item_id": "x", "price": Decimal("1")}
    for fields in (
        base,
        {**base, "price_usd": Decimal("3000")},  # USD moved: updated, no new ask
        {**base, "price_usd": Decimal("3000"), "name": "renamed"},
        {**base, "price": Decimal("1.5")},
        {**base, "price": Decimal("1.5")},
    ):
        with session_scope(engine) as session:
            upsert_listing(session, dict(fields))
    assert _asks(engine) == [("m:x", Decimal("1"), None), ("m:x", Decimal("1.5"), None)]


def test_batched_upsert_matches_one_by_one(tmp_path: Path, db_url: str) -> None:
    rng = random.Random(6)
    one = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    batch = make_engine(db_url)  # on PostgreSQL too: same outcomes as SQLite one by one
    for round_ in range(6):
        rows = []
        for item in rng.sample(range(40), 15):
            row = {"source": "t", "marketplace": rng.choice(["m1", "m2"]), "item_id": str(item)}
            if rng.random() < 0.8:
                row["price"] = Decimal(rng.choice(["1", "2", "2.50", "0.000000000000000001"]))
                row["currency"] = "ETH"
            if rng.random() < 0.5:
                row["name"] = f"n{rng.randint(0, 2)}"
            rows.append(row)
        with session_scope(one) as session:
            singles = [upsert_listing(session, dict(r))[1] for r in rows]
        with session_scope(batch) as session:
            batched = [outcome for _, outcome in upsert_listings(session, [dict(r) for r in rows])]
        assert batched == singles, round_
    states = []
    for engine in (one, batch):
        with session_scope(engine) as session:
            listings = session.exec(select(Listing).order_by(Listing.marketplace, Listing.item_id))
            states.append([tuple(getattr(x, c) for c in COMPARED) for x in listings.all()])
    assert states[0] == states[1]
    assert sorted(_asks(one), key=str) == sorted(_asks(batch), key=str)  # order within a batch
    assert len(_asks(one)) > 20


def test_a_batch_naming_an_item_twice_keeps_the_last(db_url: str) -> None:
    engine = make_engine(db_url)
    row = {"source": "t", "marketplace": "m", "item_id": "x", "price": Decimal("1")}
    with session_scope(engine) as session:
        outcomes = upsert_listings(session, [row, {**row, "price": Decimal("2")}])
    assert [o for _, o in outcomes] == ["new", "updated"]
    assert [a[1] for a in _asks(engine)] == [Decimal("1"), Decimal("2")]


class _OnePage:
    name, collection = "t", "c"

    def __init__(self, listings: list[ScrapedListing]) -> None:
        self.listings = listings

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        return Page(self.listings, None)


def test_a_row_the_store_refuses_fails_alone(db_url: str) -> None:
    engine = make_engine(db_url)
    rows = [
        {"source": "t", "marketplace": "m", "item_id": str(n), "price": Decimal(n)}
        for n in range(4)
    ]
    rows[2]["price"] = 2.5  # a float: DecimalText refuses it at write time
    summary = run_source(engine, _OnePage([ScrapedListing(r) for r in rows]))
    assert (summary.new, summary.failed) == (3, 1)
    assert "m:2: not stored" in summary.failures[0] and "never a float" in summary.failures[0]
