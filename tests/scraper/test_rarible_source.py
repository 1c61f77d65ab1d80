"""Rarible multichain source against the local API server: shapes, paging, cursors, faults."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scraper.errors import ApiKeyMissing, ApiKeyRejected
from scraper.http import HttpClient
from scraper.rarible import RaribleCollectionSource
from scraper.runner import run_source
from storage.db import session_scope
from storage.models import Listing
from storage.models.scrape import PriceObservation, ScrapeCursor, ScrapeRun
from tests.scraper.fake_marketplace import (
    API_KEY,
    FakeMarketplace,
    Fault,
    RunningServer,
    rarible_item,
)

COLLECTION = "ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5"
ITEMS_PATH = "/v0.1/items/byCollection"


def _source(server: RunningServer, client: HttpClient, page_size: int = 3, **kw: object):
    options = {"api_key": API_KEY, "base_url": server.url + "/v0.1", "page_size": page_size}
    options.update(kw)
    return RaribleCollectionSource(client, COLLECTION, **options)  # type: ignore[arg-type]


def _fill(market: FakeMarketplace, count: int) -> None:
    market.rarible_items[COLLECTION] = [rarible_item(COLLECTION, n) for n in range(1, count + 1)]


def _listings(engine: Engine) -> dict[str, Listing]:
    with session_scope(engine) as session:
        return {row.item_id: row for row in session.exec(select(Listing)).all()}


def _cursor(engine: Engine) -> ScrapeCursor:
    with session_scope(engine) as session:
        return session.exec(select(ScrapeCursor)).one()


def test_full_pass_stores_normalised_listings(server, market, client, engine) -> None:
    _fill(market, 7)
    market.rarible_items[COLLECTION][6]["bestSellOrder"] = None  # not for sale
    summary = run_source(engine, _source(server, client))
    assert (summary.status, summary.new, summary.pages, summary.failed) == ("completed", 7, 3, 0)

    stored = _listings(engine)
    assert len(stored) == 7
    first = stored[f"{COLLECTION}:1"]
    assert first.marketplace == "rarible" and first.source == "rarible"
    assert first.collection == COLLECTION and first.title == "Test Series"
    assert first.name == "Piece #1"
    assert first.creator == "ETHEREUM:0x" + "0" * 39 + "1"
    assert first.price == Decimal("0.5") and first.currency == "ETH"
    assert first.currency_decimals == 18 and first.price_usd == Decimal("1500.25")
    assert first.image_uri == "ipfs://bafybeigdyrzt00000001/image.png"  # ORIGINAL, not PREVIEW
    assert first.created_at is not None and first.created_at.isoformat().startswith("2024-03-01")
    assert first.listed_at is not None and first.listed_at.isoformat().startswith("2024-03-05")
    assert json.loads(first.raw_json or "{}")["tokenId"] == "1"
    unlisted = stored[f"{COLLECTION}:7"]
    assert unlisted.price is None and unlisted.currency is None

    cursor = _cursor(engine)
    assert cursor.cursor is None and cursor.passes_completed == 1
    sent = [r.query.get("continuation", [None])[0] for r in market.paths(ITEMS_PATH)]
    assert sent == [None, f"{COLLECTION}:3", f"{COLLECTION}:6"]
    assert all(r.query["size"] == ["3"] for r in market.paths(ITEMS_PATH))


def test_max_stops_and_next_run_resumes_from_the_stored_cursor(
    server, market, client, engine
) -> None:
    _fill(market, 8)
    first = run_source(engine, _source(server, client), max_items=4)
    assert (first.status, first.new) == ("stopped", 4)
    assert _cursor(engine).cursor == f"{COLLECTION}:4"
    assert [r.query["size"] for r in market.paths(ITEMS_PATH)] == [["3"], ["1"]]

    second = run_source(engine, _source(server, client))
    assert (second.status, second.new, second.unchanged) == ("completed", 4, 0)
    assert market.paths(ITEMS_PATH)[2].query["continuation"] == [f"{COLLECTION}:4"]
    assert len(_listings(engine)) == 8
    with session_scope(engine) as session:
        runs = session.exec(select(ScrapeRun).order_by(ScrapeRun.id)).all()
    assert [(r.status, r.start_cursor, r.end_cursor) for r in runs] == [
        ("stopped", None, f"{COLLECTION}:4"),
        ("completed", f"{COLLECTION}:4", None),
    ]


def test_a_new_pass_records_price_changes_as_observations(server, market, client, engine):
    _fill(market, 4)
    run_source(engine, _source(server, client))
    market.rarible_items[COLLECTION][1] = rarible_item(COLLECTION, 2, price="0.75")
    again = run_source(engine, _source(server, client))
    assert (again.new, again.updated, again.unchanged) == (0, 1, 3)

    listing = _listings(engine)[f"{COLLECTION}:2"]
    assert listing.price == Decimal("0.75")
    with session_scope(engine) as session:
        asks = session.exec(
            select(PriceObservation)
            .where(PriceObservation.listing_id == listing.id)
            .order_by(PriceObservation.id)
        ).all()
    assert [(a.kind, a.price) for a in asks] == [("ask", Decimal("0.5")), ("ask", Decimal("0.75"))]


def test_bids_and_last_sales_become_observations_once(server, market, client, engine) -> None:
    _fill(market, 2)
    item = market.rarible_items[COLLECTION][0]
    item["bestBidOrder"] = {
        "status": "ACTIVE",
        "make": {
            "type": {
                "@type": "ERC20",
                "contract": "ETHEREUM:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            },
            "value": "0.3",
        },
        "take": {"type": {"@type": "ERC721", "contract": COLLECTION}, "value": "1"},
        "takePriceUsd": "900",
        "createdAt": "2024-03-06T00:00:00Z",
    }
    item["lastSale"] = {
        "date": "2024-02-01T00:00:00Z",
        "seller": "ETHEREUM:0x1",
        "buyer": "ETHEREUM:0x2",
        "value": "1",
        "currency": {"@type": "ETH", "blockchain": "ETHEREUM"},
        "price": "0.2",
    }
    run_source(engine, _source(server, client))
    run_source(engine, _source(server, client))  # same bid and sale again: not duplicated
    with session_scope(engine) as session:
        seen = session.exec(select(PriceObservation).order_by(PriceObservation.id)).all()
    kinds = [(o.kind, o.price, o.currency) for o in seen]
    assert kinds.count(("bid", Decimal("0.3"), "WETH")) == 1
    assert kinds.count(("sale", Decimal("0.2"), "ETH")) == 1
    assert len([k for k in kinds if k[0] == "ask"]) == 2


def test_bad_items_are_reported_by_name_and_the_rest_stored(server, market, client, engine):
    _fill(market, 5)
    del market.rarible_items[COLLECTION][1]["bestSellOrder"]["makePrice"]
    del market.rarible_items[COLLECTION][3]["id"]
    summary = run_source(engine, _source(server, client, page_size=10))
    assert (summary.new, summary.failed, summary.status) == (3, 2, "completed")
    assert any(
        f"{COLLECTION}:2" in f and "missing field bestSellOrder.makePrice" in f
        for f in summary.failures
    )
    assert any("item #3" in f and "missing field item.id" in f for f in summary.failures)
    assert len(_listings(engine)) == 3


def test_missing_key_fails_before_any_request(server, market, client) -> None:
    with pytest.raises(ApiKeyMissing, match="BOT_RARIBLE_API_KEY"):
        _source(server, client, api_key=None)
    assert market.requests == []


def test_rejected_key_names_the_setting_and_writes_nothing(server, market, client, engine):
    _fill(market, 2)
    with pytest.raises(ApiKeyRejected, match=r"HTTP 403 .*BOT_RARIBLE_API_KEY"):
        run_source(engine, _source(server, client, api_key="wrong"))
    assert _listings(engine) == {}
    with session_scope(engine) as session:
        run = session.exec(select(ScrapeRun)).one()
    assert run.status == "failed" and "rejected the API key" in (run.error or "")


def test_429_retry_after_is_honoured(server, market, client, engine) -> None:
    _fill(market, 2)
    market.add_fault(ITEMS_PATH, Fault("429", retry_after="1"))
    summary = run_source(engine, _source(server, client))
    assert (summary.status, summary.new) == ("completed", 2)
    first, second = market.paths(ITEMS_PATH)[:2]
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.95  # the server asked for a second; we waited for it


def test_500s_are_retried_then_a_dead_api_keeps_the_cursor(server, market, client, engine):
    _fill(market, 6)
    market.add_fault(ITEMS_PATH, Fault("500"), times=2)
    first = run_source(engine, _source(server, client), max_items=3)
    assert (first.status, first.new) == ("stopped", 3)
    assert [r.status for r in market.paths(ITEMS_PATH)] == [500, 500, 200]

    market.add_fault(ITEMS_PATH, Fault("500"), times=10)  # more than max_attempts
    failed = run_source(engine, _source(server, client))
    assert failed.status == "failed" and "HTTP 500" in (failed.error or "")
    assert _cursor(engine).cursor == f"{COLLECTION}:3"  # nothing skipped

    market.faults.clear()
    resumed = run_source(engine, _source(server, client))
    assert (resumed.status, resumed.new) == ("completed", 3)
    assert len(_listings(engine)) == 6


def test_slow_responses_time_out_and_are_retried(server, market, engine) -> None:
    from scraper.http import HttpPolicy

    _fill(market, 2)
    market.add_fault(ITEMS_PATH, Fault("slow", delay_s=1.0))
    policy = HttpPolicy(rate_per_second=50, timeout_s=0.3, backoff_base_s=0.01, max_attempts=3)
    with HttpClient(policy) as impatient:
        summary = run_source(engine, _source(server, impatient))
    assert (summary.status, summary.new) == ("completed", 2)
    assert impatient.stats.retries == 1


def test_malformed_json_is_retried_and_then_reported(server, market, client, engine) -> None:
    _fill(market, 2)
    market.add_fault(ITEMS_PATH, Fault("malformed"))
    assert run_source(engine, _source(server, client)).new == 2

    market.add_fault(ITEMS_PATH, Fault("malformed"), times=10)
    summary = run_source(engine, _source(server, client))
    assert summary.status == "failed"
    assert "malformed response from" in (summary.error or "")


def test_user_agent_is_descriptive(server, market, client, engine) -> None:
    _fill(market, 1)
    run_source(engine, _source(server, client))
    agent = market.paths(ITEMS_PATH)[0].headers["User-Agent"]
    assert agent == "nftbot-tests/1.0 (+scraper suite)"
