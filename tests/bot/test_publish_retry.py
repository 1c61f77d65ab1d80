"""A failed listing is retried as a listing (reconciled by its order hash first), a failed mint
as a mint; retries stop after `max_attempts`; an artwork another process listed never goes
back to failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.context import AppContext
from bot.pipeline.publish import fail_stage, open_publisher, run_publish
from bot.settings import load_settings
from storage.db import session_scope
from storage.models import Artwork, ArtworkState
from storage.models.market import MarketOrder
from tests.marketplace.cli_helpers import engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import RaribleState, running_rarible_server


@pytest.fixture
def rarible(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with running_rarible_server(timeout_fault_s=0.3) as (base, state):
        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        yield state


def _posts(state: RaribleState, path: str) -> int:
    """Requests that reached the server, answered or not (`mint_posts` counts stored ones)."""
    return sum(1 for request in state.requests if request == ("POST", path))


def _artwork(data_dir: Path, artwork_id: int) -> Artwork:
    with session_scope(engine_for(data_dir)) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        return artwork


@pytest.mark.parametrize("fault", ["500", "429", "timeout", "500_after_store"])
def test_a_failed_listing_is_retried_as_a_listing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rarible: RaribleState, fault: str
) -> None:
    setup_wallet(data_dir, monkeypatch)
    monkeypatch.setenv("BOT_LISTING_KIND", "fixed-price")
    artwork_id = add_pinned_artwork(engine_for(data_dir), 1)
    rarible.add_fault("POST", "/v0.1/order/orders", fault)
    if fault == "500_after_store":  # stored, but the lookup right after lags behind
        rarible.add_fault("GET", "/v0.1/order/orders/0x", "404")
    first = invoke("publish")
    assert first.exit_code == 1, first.output
    failed = _artwork(data_dir, artwork_id)
    assert (failed.state, failed.failed_stage) == ("failed", "listing")
    stored = 1 if fault == "500_after_store" else 0
    assert len(rarible.orders) == stored  # live on the market or not: the bot says failed

    again = invoke("publish")
    assert again.exit_code == 0, again.output
    assert _artwork(data_dir, artwork_id).state == "listed"
    assert rarible.mint_posts == 1 and len(rarible.items) == 1  # never minted again
    assert len(rarible.orders) == 1
    # The order stored behind a 500 was found by its hash: not sent again.
    assert _posts(rarible, "/v0.1/order/orders") == (1 if fault == "500_after_store" else 2)
    with session_scope(engine_for(data_dir)) as session:
        (order,) = session.exec(select(MarketOrder)).all()
        assert order.status == "done" and order.order_hash in rarible.orders


def test_a_failed_mint_is_retried_as_a_mint(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rarible: RaribleState
) -> None:
    setup_wallet(data_dir, monkeypatch)
    artwork_id = add_pinned_artwork(engine_for(data_dir), 1)
    rarible.add_fault("POST", "/v0.1/nft/mints", "500")
    assert invoke("publish").exit_code == 1
    failed = _artwork(data_dir, artwork_id)
    assert (failed.state, failed.failed_stage, failed.attempts) == ("failed", "minting", 1)
    assert invoke("publish").exit_code == 0
    assert _artwork(data_dir, artwork_id).state == "listed"
    assert len(rarible.items) == 1
    assert _posts(rarible, "/v0.1/nft/mints") == 2  # the same body, once more


def test_automatic_retries_stop_after_max_attempts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rarible: RaribleState
) -> None:
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    artwork_id = add_pinned_artwork(engine, 1)
    rarible.add_fault("POST", "/v0.1/nft/mints", "500")
    assert invoke("publish").exit_code == 1
    with engine.begin() as connection:  # as if it had failed that often
        connection.execute(update(Artwork.__table__).values(attempts=10))  # type: ignore[arg-type]
    skipped = invoke("publish")
    assert "failed 10 times and are no longer retried automatically (1)" in skipped.output
    assert _artwork(data_dir, artwork_id).state == "failed"
    assert _posts(rarible, "/v0.1/nft/mints") == 1
    retried = invoke("publish", "--artwork", str(artwork_id))
    assert retried.exit_code == 0 and _artwork(data_dir, artwork_id).state == "listed"


def test_a_late_failure_never_moves_a_listed_artwork_back(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rarible: RaribleState
) -> None:
    setup_wallet(data_dir, monkeypatch)
    artwork_id = add_pinned_artwork(engine_for(data_dir), 1)
    publisher = open_publisher(AppContext(load_settings()))
    assert run_publish(publisher).outcomes == {artwork_id: "listed"}
    # What a second publisher whose send was refused "already exists" used to do:
    state = fail_stage(publisher, artwork_id, ArtworkState.MINTING, "item already exists")
    assert state is ArtworkState.LISTED
    assert _artwork(data_dir, artwork_id).state == "listed"
    assert run_publish(publisher).outcomes == {}
    assert len(rarible.items) == 1
