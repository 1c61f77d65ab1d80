"""End to end on loopback: pinned artworks -> `bot publish` on the local Rarible server ->
bidders post signed bids, a buyer fills our sell order, we accept a bid, the buyer resells ->
`bot bids sync` (notifying a local webhook) -> `bot report revenue` / `bot report bids`.

(The stages before pinning come with the pipeline; the artworks here start pinned.)"""

from __future__ import annotations

import csv
import io
import json
import secrets
from decimal import Decimal

import pytest
from sqlmodel import select

from marketplace.wallet import Wallet
from storage.db import session_scope
from storage.models import Artwork
from storage.models.market import MarketOrder, MintIntent, Sale
from tests.bot.market_helpers import list_minted, place_signed_bid
from tests.bot.webhook_server import running_hook
from tests.marketplace.cli_helpers import engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import running_rarible_server

API_KEY = "k-e2e"


@pytest.fixture
def market(data_dir, monkeypatch):  # type: ignore[no-untyped-def]
    with running_rarible_server(api_key=API_KEY) as (base, state), running_hook() as hook:
        for name, value in {
            "BOT_MARKETPLACE_MODE": "testnet",
            "BOT_RARIBLE_API_URL": base,
            "BOT_RARIBLE_API_KEY": API_KEY,
            "BOT_LISTING_KIND": "fixed-price",
            "BOT_LISTING_PRICE_ETH": "0.25",
            "BOT_WEBHOOK_URL": hook.url,
            "BOT_ALLOW_PRIVATE_ADDRESSES": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield base, state, hook


def test_bids_and_a_purchase_on_the_server_show_in_the_revenue_report(
    data_dir, monkeypatch, market
) -> None:  # type: ignore[no-untyped-def]
    base, state, hook = market
    _, address = setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    first, second = add_pinned_artwork(engine, 1), add_pinned_artwork(engine, 2)
    assert invoke("publish").exit_code == 0
    with session_scope(engine) as session:
        items = {
            i.artwork_id: f"{i.collection.lower()}:{int(i.token_id)}"
            for i in session.exec(select(MintIntent)).all()
        }
        orders = {o.artwork_id: o.order_hash for o in session.exec(select(MarketOrder)).all()}
    state.order_fees["RARIBLE_V2"] = 200  # what GET /v0.1/orders/settings/fees reports
    state.usd_rates["ETH"] = Decimal("2000")  # the marketplace's own USD prices

    alice, bob, buyer, collector = (Wallet(secrets.token_bytes(32)) for _ in range(4))
    place_signed_bid(base, API_KEY, state, items[second], alice, 10**17)
    top = place_signed_bid(base, API_KEY, state, items[second], bob, 3 * 10**17)
    synced = invoke("bids", "sync")
    assert synced.exit_code == 0, synced.output
    assert "bids: 2 new" in synced.output

    state.fill_order(orders[first], buyer.address)  # the buyer pays our fixed price (V2 order)
    state.fill_order(top, address)  # we accept bob's 0.3 WETH bid (our side: made elsewhere)
    resale = list_minted(base, API_KEY, items[first], buyer, 10**18)
    state.fill_order(resale, collector.address)  # the buyer resells for 1 ETH
    synced = invoke("bids", "sync")
    assert synced.exit_code == 0, synced.output
    assert "sales: 2 new, 1 resales" in synced.output and "sold: 2" in synced.output
    with session_scope(engine) as session:
        assert {s.protocol_fee_bps for s in session.exec(select(Sale)).all()} == {200}
        assert {a.state for a in session.exec(select(Artwork)).all()} == {"sold"}

    report = invoke("report", "revenue", "--format", "json")
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    sales = body["sections"]["sales"]["rows"]
    by_kind = {row["kind"]: row for row in sales}
    fixed = by_kind["sale"]  # V2 order: no protocol fee; our own royalty is not transferred
    assert (fixed["price"], fixed["protocol_fee"], fixed["revenue"], fixed["revenue_usd"]) == (
        "0.25",
        "0",
        "0.25",
        "500.00",
    )
    accepted = by_kind["sale (accepted bid)"]  # fee applied as for V3: 0.3 - 2% = 0.294 WETH
    assert (accepted["currency"], accepted["protocol_fee"], accepted["revenue"]) == (
        "WETH",
        "0.006",
        "0.294",
    )
    resold = by_kind["resale"]  # 10% royalty of 1 ETH, USD from the sale's own price
    assert (resold["revenue"], resold["revenue_usd"], resold["seller"]) == (
        "0.1",
        "200.00",
        buyer.address.lower(),
    )
    summary = {row["currency"]: row for row in body["sections"]["summary"]["rows"]}
    assert summary["ETH"]["revenue"] == "0.35" and summary["ETH"]["revenue_usd"] == "700.00"

    bids = invoke("report", "bids", "--format", "csv", "--section", "bids")
    rows = {r["artwork_id"]: r for r in csv.DictReader(io.StringIO(bids.stdout))}
    assert (rows[str(second)]["bids"], rows[str(second)]["highest_ever"]) == ("2", "0.3")
    assert rows[str(second)]["item_id"] == items[second]

    kinds = [b["event"] for b in hook.bodies()]
    assert kinds.count("highest_bid") == 1 and kinds.count("sale") == 3
    again = invoke("bids", "sync")
    assert again.exit_code == 0 and len(hook.bodies()) == 4  # nothing new, nothing resent
