"""`bot publish`, `bot bids sync|list`, `bot sales` end to end through the CLI: dry-run to the
outbox, testnet against the local Rarible server."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlmodel import SQLModel, select

from storage.db import session_scope
from storage.models import Artwork, ArtworkEvent, ArtworkState
from storage.models.market import MintIntent
from tests.marketplace.cli_helpers import PASSPHRASE, engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import RaribleState, running_rarible_server

pytestmark = pytest.mark.usefixtures("store_env")  # each test on SQLite and on PostgreSQL


@pytest.fixture
def rarible(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with running_rarible_server(api_key="k-test") as (base, state):
        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        monkeypatch.setenv("BOT_RARIBLE_API_KEY", "k-test")
        yield state


def _states(data_dir: Path) -> dict[int, str]:
    with session_scope(engine_for(data_dir)) as session:
        return {a.id or 0: a.state for a in session.exec(select(Artwork)).all()}


def test_dry_run_signs_everything_into_the_outbox_and_sends_nothing(data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_LISTING_KIND", "fixed-price")
    engine = engine_for(data_dir)
    ids = [add_pinned_artwork(engine, n) for n in (1, 2)]
    result = invoke("publish")
    assert result.exit_code == 0, result.output
    assert "dry-run" in result.output
    assert _states(data_dir) == {i: "listed" for i in ids}
    outbox = data_dir / "outbox"
    mints = sorted(outbox.glob("mint-*.json"))
    orders = sorted(outbox.glob("order-*.json"))
    assert len(mints) == 2 and len(orders) == 2
    record = json.loads(mints[0].read_text())
    assert record["id"].startswith("dry-") and record["request"]["path"] == "/v0.1/nft/mints"
    assert record["request"]["body"]["signatures"][0].startswith("0x")
    with session_scope(engine) as session:
        assert all(i.item_id.startswith("dry-") for i in session.exec(select(MintIntent)).all())
    again = invoke("publish")
    assert again.exit_code == 0 and "nothing to publish" in again.output
    assert len(list(outbox.glob("*.json"))) == 4


def test_testnet_publish_respects_max_and_cap(data_dir, monkeypatch, rarible: RaribleState) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    ids = [add_pinned_artwork(engine, n) for n in range(1, 5)]
    assert invoke("publish", "--max", "2").exit_code == 0
    assert sorted(_states(data_dir).values()) == ["listed", "listed", "pinned", "pinned"]
    monkeypatch.setenv("BOT_PUBLISH_CAP", "1")
    result = invoke("publish", "--max", "5")
    assert "publishing at most 1" in result.output
    assert sorted(_states(data_dir).values()) == ["listed", "listed", "listed", "pinned"]
    assert rarible.mint_posts == 3 and len(rarible.items) == 3 and rarible.order_posts == 0
    result = invoke("publish", "--artwork", str(ids[-1]))
    assert result.exit_code == 0 and _states(data_dir)[ids[-1]] == "listed"
    with session_scope(engine) as session:
        events = session.exec(select(ArtworkEvent).where(ArtworkEvent.artwork_id == ids[0])).all()
    assert [e.to_state for e in events][-4:] == ["minting", "minted", "listing", "listed"]


def test_fixed_price_order_lands_on_the_server(
    data_dir, monkeypatch, rarible: RaribleState
) -> None:  # type: ignore[no-untyped-def]
    _, address = setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_LISTING_KIND", "fixed-price")
    monkeypatch.setenv("BOT_LISTING_PRICE_ETH", "0.25")
    add_pinned_artwork(engine_for(data_dir), 1)
    assert invoke("publish").exit_code == 0
    (order,) = rarible.orders.values()
    assert order["maker"] == address.lower() and order["take"]["value"] == "250000000000000000"
    assert order["make"]["assetType"]["assetClass"] == "ERC721_LAZY"
    assert order["data"]["dataType"] == "RARIBLE_V2_DATA_V2"
    assert order["end"] - order["start"] == 30 * 86400


def test_one_bad_artwork_does_not_stop_the_batch(
    data_dir, monkeypatch, rarible: RaribleState
) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    good = add_pinned_artwork(engine, 1)
    with session_scope(engine) as session:  # a pinned artwork whose metadata pin is missing
        bad = add_pinned_artwork(engine, 2)
        session.exec(__import__("sqlalchemy").text(f"DELETE FROM pins WHERE artwork_id = {bad}"))
    result = invoke("publish")
    assert result.exit_code == 1
    assert _states(data_dir) == {good: "listed", bad: "failed"}
    with session_scope(engine) as session:
        failed = session.get(Artwork, bad)
        assert failed is not None and failed.failed_stage == ArtworkState.MINTING.value
        assert f"artwork {bad} has no pinned metadata" in (failed.error or "")


def test_rejected_mint_fails_the_artwork_with_the_servers_reason(data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    artwork = add_pinned_artwork(engine_for(data_dir), 1)
    # A server on another chain: our Sepolia signature cannot recover there.
    with running_rarible_server(chain_id=1) as (base, state):
        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        assert invoke("publish").exit_code == 1
    with session_scope(engine_for(data_dir)) as session:
        row = session.get(Artwork, artwork)
        assert row is not None and row.state == "failed"
        assert "rejected with HTTP 400" in (row.error or "")
        assert "InvalidCreatorSignature" in (row.error or "")
    assert state.items == {} and state.mint_posts == 1


def test_unknown_collection_is_named_in_the_error(data_dir, monkeypatch, rarible) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_RARIBLE_COLLECTION", "0x" + "42" * 20)
    artwork = add_pinned_artwork(engine_for(data_dir), 1)
    assert invoke("publish").exit_code == 1
    with session_scope(engine_for(data_dir)) as session:
        row = session.get(Artwork, artwork)
        assert row is not None and "0x" + "42" * 20 in (row.error or "")
    assert rarible.items == {} and rarible.mint_posts == 0


def test_bids_and_sales_sync_through_the_cli(data_dir, monkeypatch, rarible: RaribleState) -> None:  # type: ignore[no-untyped-def]
    _, address = setup_wallet(data_dir, monkeypatch)
    artwork = add_pinned_artwork(engine_for(data_dir), 1)
    assert invoke("publish").exit_code == 0
    (item,) = rarible.items.values()
    token_id = int(item["tokenId"])
    rarible.place_bid(item["contract"], token_id, "0x" + "ab" * 20, 3 * 10**17, price_usd="900")
    rarible.place_bid(item["contract"], token_id, "0x" + "ac" * 20, 4 * 10**17)
    result = invoke("bids", "sync")
    assert result.exit_code == 0 and "bids: 2 new" in result.output
    listed = json.loads(invoke("bids", "list", "--json").output)
    assert [b["price"] for b in listed] == ["0.4", "0.3"] and listed[1]["price_usd"] == "900"
    assert {b["currency"] for b in listed} == {"WETH"}

    rarible.record_sale(
        item["contract"], token_id, seller=address, buyer="0x" + "ee" * 20, price_eth="0.4"
    )
    synced = invoke("bids", "sync").output
    assert "sales: 1 new" in synced and "sold: 1" in synced
    report = json.loads(invoke("sales", "--json").output)
    assert report["gross"] == {"ETH": "0.4"} and report["sales"][0]["artwork_id"] == artwork
    assert _states(data_dir)[artwork] == "sold"
    assert "bids: 0 new, 0 updated, 2 unchanged; sales: 0 new" in invoke("bids", "sync").output


def test_mainnet_needs_explicit_confirmation(data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "mainnet")
    result = invoke("publish")
    assert result.exit_code == 2 and "BOT_MAINNET_CONFIRM" in result.output


def test_key_never_reaches_logs_db_outbox_or_output(data_dir, monkeypatch, caplog, rarible) -> None:  # type: ignore[no-untyped-def]
    key, _ = setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("BOT_LISTING_KIND", "fixed-price")
    engine = engine_for(data_dir)
    for n in (1, 2):
        add_pinned_artwork(engine, n)
    rarible.add_fault("POST", "/v0.1/nft/mints", "500_after_store")  # error paths log too
    rarible.add_fault("GET", "/v0.1/nft/items/", "429")
    caplog.set_level(logging.DEBUG)
    outputs = [invoke("publish").output, invoke("bids", "sync").output]
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "dry-run")
    add_pinned_artwork(engine, 3)
    outputs += [invoke("publish").output, invoke("wallet", "export-public").output]
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "wrong passphrase!")
    outputs.append(invoke("publish").output)
    assert "wrong passphrase" in outputs[-1]
    engine.dispose()

    secrets_to_hide = [key, key.upper(), PASSPHRASE, "k-test"]  # k-test: the API key
    texts = [*outputs, caplog.text]
    for text in texts:
        for secret in secrets_to_hide:
            assert secret not in text
    stored = [p for p in data_dir.rglob("*") if p.is_file() and p.parent.name != "wallet"]
    if engine.dialect.name == "sqlite":
        assert any(p.name.startswith("bot.db") for p in stored)
    else:  # PostgreSQL: every stored row, as text
        with engine.connect() as connection:
            rows = [
                repr(tuple(row))
                for table in SQLModel.metadata.sorted_tables
                for row in connection.execute(table.select())
            ]
        assert rows and not any(s in row for row in rows for s in [key, PASSPHRASE, "k-test"])
    assert any(p.parent.name == "outbox" for p in stored)
    raw_key = bytes.fromhex(key)
    for path in stored:
        blob = path.read_bytes()
        assert key.encode() not in blob and key.upper().encode() not in blob
        assert raw_key not in blob and PASSPHRASE.encode() not in blob, path
        assert b"k-test" not in blob, path


def test_an_unexpected_error_is_recorded_on_its_artwork_only(data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.context import AppContext
    from bot.pipeline.publish import open_publisher, run_publish
    from bot.settings import load_settings

    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    first, second = add_pinned_artwork(engine, 1), add_pinned_artwork(engine, 2)
    publisher = open_publisher(AppContext(load_settings()))
    real_mint = publisher.market.mint_lazy
    calls: list[int] = []

    def flaky_mint(body):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full while writing the outbox")
        return real_mint(body)

    publisher.market.mint_lazy = flaky_mint  # type: ignore[method-assign]
    report = run_publish(publisher)
    assert report.outcomes[first] == "failed: RuntimeError: disk full while writing the outbox"
    assert report.outcomes[second] == "listed"
    with session_scope(engine) as session:
        row = session.get(Artwork, first)
        assert (
            row is not None and row.failed_stage == "minting" and "disk full" in (row.error or "")
        )
    publisher.market.mint_lazy = real_mint  # type: ignore[method-assign]
    assert run_publish(publisher).outcomes == {first: "listed"}  # retried from the failed stage


def test_an_expired_fixed_price_order_is_replaced_once(data_dir, monkeypatch, rarible) -> None:  # type: ignore[no-untyped-def]
    from storage.models.market import MarketOrder

    setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_LISTING_KIND", "fixed-price")
    engine = engine_for(data_dir)
    sold_out, expired = add_pinned_artwork(engine, 1), add_pinned_artwork(engine, 2)
    assert invoke("publish").exit_code == 0
    assert invoke("publish").output.count("relisted") == 0  # nothing expired yet
    with session_scope(engine) as session:
        for order in session.exec(select(MarketOrder)).all():
            order.end_ts = 1_000  # long past
            if order.artwork_id == sold_out:
                order.market_status = "FILLED"  # a filled order is a sale, never relisted
            session.add(order)
    result = invoke("publish")
    assert result.exit_code == 0 and "relisted, listed" in result.output
    with session_scope(engine) as session:
        rows = session.exec(select(MarketOrder).where(MarketOrder.artwork_id == expired)).all()
        assert sorted(r.status for r in rows) == ["done", "expired"]
        new = next(r for r in rows if r.status == "done")
        assert new.end_ts > 1_000 and new.order_hash in rarible.orders
    assert len(rarible.orders) == 3 and _states(data_dir) == {sold_out: "listed", expired: "listed"}
    assert "relisted" not in invoke("publish").output  # the new order is live: nothing to do
