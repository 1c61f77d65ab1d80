"""kill -9 of a real `bot publish` process in each window of the mint and the listing: the next
run reconciles with the marketplace and never mints or lists twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from storage.db import session_scope
from storage.models import Artwork
from storage.models.market import IntentStatus, MarketOrder, MintIntent
from tests.marketplace.cli_helpers import PASSPHRASE, engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import running_rarible_server

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("store_env")  # on SQLite and on PostgreSQL


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("path", "fault", "listing_kind"),
    [
        ("/v0.1/nft/mints", "hang_before_store", "open-for-bids"),  # sent, not yet stored
        ("/v0.1/nft/mints", "hang_after_store", "open-for-bids"),  # stored, answer never recorded
        ("/v0.1/order/orders", "hang_after_store", "fixed-price"),  # order stored, not recorded
    ],
)
def test_kill_9_mid_request_never_publishes_twice(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, path: str, fault: str, listing_kind: str
) -> None:
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    artwork_id = add_pinned_artwork(engine, 1)
    with running_rarible_server() as (base, state):
        env = {
            **os.environ,
            "BOT_DATA_DIR": str(data_dir),
            "BOT_WALLET_PASSPHRASE": PASSPHRASE,
            "BOT_MARKETPLACE_MODE": "testnet",
            "BOT_RARIBLE_API_URL": base,
            "BOT_LISTING_KIND": listing_kind,
            "PYTHONPATH": str(REPO),
        }
        state.add_fault("POST", path, fault)
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.app import main; main()", "publish"],
            env=env,
            cwd=data_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            reached = state.stored_then_hanging.wait(90)
            assert reached, process.stderr.read().decode() if process.poll() is not None else ""
        finally:
            process.kill()  # SIGKILL: no cleanup, no rollback handlers, nothing flushed
            process.wait(10)
            process.stderr.close()  # type: ignore[union-attr]

        with session_scope(engine) as session:
            stuck = session.get(Artwork, artwork_id)
            assert stuck is not None
            assert stuck.state == ("minting" if "nft" in path else "listing")

        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        monkeypatch.setenv("BOT_LISTING_KIND", listing_kind)
        result = invoke("publish")
        assert result.exit_code == 0, result.output
        assert len(state.items) == 1
        assert len(state.orders) == (1 if listing_kind == "fixed-price" else 0)
        # Mint POSTs the server processed: the killed one if it got stored, or the one resend
        # after the lookup found nothing; never both.
        assert state.mint_posts == 1
        assert state.order_posts == len(state.orders)

    with session_scope(engine) as session:
        assert session.get(Artwork, artwork_id).state == "listed"  # type: ignore[union-attr]
        (intent,) = session.exec(select(MintIntent)).all()
        assert intent.status == IntentStatus.DONE.value
        orders = session.exec(select(MarketOrder)).all()
        assert all(o.status == IntentStatus.DONE.value for o in orders)
