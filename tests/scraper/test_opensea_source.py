"""OpenSea v2 listings and sale events against the local API server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from scraper.errors import ApiKeyMissing
from scraper.opensea import OpenSeaListingsSource, OpenSeaSalesSource
from scraper.runner import run_source
from storage.db import session_scope
from storage.models import Listing
from storage.models.scrape import PriceObservation, ScrapeCursor
from tests.scraper.fake_marketplace import (
    API_KEY,
    opensea_listing,
    opensea_nft,
    opensea_sale,
)

SLUG = "generative-dreams"
CONTRACT = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"


def _fill(market, count: int) -> None:
    market.opensea_listings[SLUG] = [
        opensea_listing(CONTRACT, n, str(n * 10**17)) for n in range(1, count + 1)
    ]
    for n in range(1, count + 1):
        market.opensea_nfts[f"ethereum/{CONTRACT.lower()}/{n}"] = opensea_nft(CONTRACT, n, SLUG)


def _listings(engine) -> dict[str, Listing]:
    with session_scope(engine) as session:
        return {row.item_id: row for row in session.exec(select(Listing)).all()}


def test_listings_are_paged_priced_exactly_and_enriched(server, market, client, engine) -> None:
    _fill(market, 5)
    market.opensea_nfts.pop(f"ethereum/{CONTRACT.lower()}/5")  # details missing: still listed
    source = OpenSeaListingsSource(client, SLUG, api_key=API_KEY, base_url=server.url, page_size=2)
    summary = run_source(engine, source)
    assert (summary.status, summary.new, summary.pages) == ("completed", 5, 3)

    stored = _listings(engine)
    item = stored[f"ethereum:{CONTRACT.lower()}:3"]
    assert item.marketplace == "opensea" and item.collection == SLUG
    assert item.price == Decimal("0.3") and item.currency == "ETH"
    assert item.currency_decimals == 18
    assert item.name == "OS Piece #3" and item.image_uri == "https://img.example/os/3.png"
    assert item.listed_at is not None and int(item.listed_at.timestamp()) == 1709640000
    assert stored[f"ethereum:{CONTRACT.lower()}:5"].name is None

    pages = market.paths(f"/api/v2/listings/collection/{SLUG}/all")
    hashes = [None, ["0x" + "0" * 63 + "2"], ["0x" + "0" * 63 + "4"]]
    assert [r.query.get("next") for r in pages] == hashes
    assert all(r.headers.get("X-API-KEY") == API_KEY for r in market.requests)
    with session_scope(engine) as session:
        assert session.exec(select(ScrapeCursor)).one().passes_completed == 1


def test_a_wei_price_keeps_every_digit(server, market, client, engine) -> None:
    market.opensea_listings[SLUG] = [opensea_listing(CONTRACT, 1, "123456789012345678901234567")]
    source = OpenSeaListingsSource(client, SLUG, api_key=API_KEY, base_url=server.url, enrich=False)
    run_source(engine, source)
    (stored,) = _listings(engine).values()
    assert stored.price == Decimal("123456789.012345678901234567")


def test_sales_record_observations_without_touching_the_ask(server, market, client, engine):
    _fill(market, 1)
    listings = OpenSeaListingsSource(client, SLUG, api_key=API_KEY, base_url=server.url)
    run_source(engine, listings)
    market.opensea_events[SLUG] = [
        opensea_sale(CONTRACT, 1, SLUG, "250000000000000000", 1709000000),
        opensea_sale(CONTRACT, 2, SLUG, "70000000000000000", 1709100000),
    ]
    bad = opensea_sale(CONTRACT, 3, SLUG, "1", 1709200000)
    del bad["payment"]
    market.opensea_events[SLUG].append(bad)
    sales = OpenSeaSalesSource(client, SLUG, api_key=API_KEY, base_url=server.url)
    summary = run_source(engine, sales)
    assert (summary.new, summary.updated, summary.failed) == (1, 0, 1)
    assert "missing field sale.payment" in summary.failures[0]

    stored = _listings(engine)
    assert stored[f"ethereum:{CONTRACT.lower()}:1"].price == Decimal("0.1")  # the ask stays
    assert stored[f"ethereum:{CONTRACT.lower()}:2"].price is None  # sold, never listed by us
    with session_scope(engine) as session:
        sold = session.exec(select(PriceObservation).where(PriceObservation.kind == "sale")).all()
    assert sorted(o.price for o in sold) == [Decimal("0.07"), Decimal("0.25")]
    assert {r.query["event_type"][0] for r in market.paths("/api/v2/events/")} == {"sale"}


def test_missing_opensea_key_is_a_clear_error(client) -> None:
    with pytest.raises(ApiKeyMissing, match="BOT_OPENSEA_API_KEY"):
        OpenSeaListingsSource(client, SLUG, api_key=None)


def test_a_second_pass_only_looks_up_nfts_it_lacks(server, market, client, engine) -> None:
    from functools import partial

    from scraper.listing_images import listings_without_details

    _fill(market, 4)
    needs = partial(listings_without_details, engine, "opensea")
    source = OpenSeaListingsSource(
        client, SLUG, api_key=API_KEY, base_url=server.url, needs_details=needs
    )
    run_source(engine, source)
    assert len(market.paths("/api/v2/chain/")) == 4
    market.opensea_listings[SLUG].append(opensea_listing(CONTRACT, 5, "5"))
    market.opensea_nfts[f"ethereum/{CONTRACT.lower()}/5"] = opensea_nft(CONTRACT, 5, SLUG)
    summary = run_source(engine, source)
    assert (summary.new, summary.unchanged) == (1, 4)
    assert [r.path.rsplit("/", 1)[1] for r in market.paths("/api/v2/chain/")][4:] == ["5"]
