"""`bot bids sync` with a webhook: new sales and new highest bids are announced once; what the
store held before is never announced; a hanging or failing webhook never holds up the sync."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlmodel import select

from storage.db import session_scope
from storage.models.market import MintIntent
from tests.bot.webhook_server import Hook, running_hook
from tests.marketplace.cli_helpers import engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import RaribleState, running_rarible_server


@pytest.fixture
def rarible(data_dir, monkeypatch):  # type: ignore[no-untyped-def]
    with running_rarible_server(api_key="k") as (base, state):
        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        monkeypatch.setenv("BOT_RARIBLE_API_KEY", "k")
        monkeypatch.setenv("BOT_ALLOW_PRIVATE_ADDRESSES", "true")
        yield state


def _published(data_dir, monkeypatch, n: int = 2) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
    _, address = setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    for i in range(1, n + 1):
        add_pinned_artwork(engine, i)
    assert invoke("publish").exit_code == 0
    with session_scope(engine) as session:
        tokens = [int(i.token_id) for i in session.exec(select(MintIntent)).all()]
    return address, tokens


def _use(hook: Hook, monkeypatch: pytest.MonkeyPatch, timeout_s: str = "2") -> None:
    monkeypatch.setenv("BOT_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("BOT_WEBHOOK_TIMEOUT_S", timeout_s)


def test_sales_and_new_highest_bids_are_announced_once(
    data_dir, monkeypatch, rarible: RaribleState
) -> None:  # type: ignore[no-untyped-def]
    address, (token1, token2) = _published(data_dir, monkeypatch)
    coll = next(iter(rarible.collections))
    with running_hook() as hook:
        _use(hook, monkeypatch)
        rarible.place_bid(coll, token1, "0x" + "d1" * 20, 10**17)
        rarible.place_bid(coll, token1, "0x" + "d2" * 20, 2 * 10**17)  # the top one
        rarible.record_sale(coll, token2, seller=address, buyer="0x" + "b1" * 20, price_eth="0.5")
        assert invoke("bids", "sync").exit_code == 0
        assert sorted(b["event"] for b in hook.bodies()) == ["highest_bid", "sale"]
        top = next(b for b in hook.bodies() if b["event"] == "highest_bid")
        assert top["data"]["price"] == "0.2" and top["data"]["previous_price"] is None

        rarible.place_bid(coll, token1, "0x" + "d3" * 20, 15 * 10**16)  # lower: not news
        rarible.place_bid(coll, token1, "0x" + "d4" * 20, 3 * 10**17)  # higher: news
        # a restart: a new process, on the same store
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli.app import main; main()", "bids", "sync"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        bodies = hook.bodies()
        assert [b["event"] for b in bodies[2:]] == ["highest_bid"]
        assert bodies[2]["data"]["price"] == "0.3" and bodies[2]["data"]["previous_price"] == "0.2"
        assert invoke("bids", "sync").exit_code == 0
        assert len(hook.bodies()) == 3  # nothing is sent twice


def test_what_the_store_held_before_is_not_announced(
    data_dir, monkeypatch, rarible: RaribleState
) -> None:  # type: ignore[no-untyped-def]
    address, (token1, token2) = _published(data_dir, monkeypatch)
    coll = next(iter(rarible.collections))
    for n in range(5):
        rarible.place_bid(coll, token1, f"0x{n:040x}", (n + 1) * 10**16)
        rarible.record_sale(coll, token2, seller=address, buyer=f"0x{n + 9:040x}", price_eth="1")
    assert invoke("bids", "sync").exit_code == 0  # an existing store, synced before any webhook
    with running_hook() as hook:
        _use(hook, monkeypatch)
        assert invoke("bids", "sync").exit_code == 0
        assert hook.requests == []  # no flood of old sales and bids


@pytest.mark.parametrize("mode", ["hang", "fail"])
def test_a_stuck_or_failing_webhook_does_not_hold_up_the_sync(
    data_dir, monkeypatch, rarible: RaribleState, mode: str
) -> None:  # type: ignore[no-untyped-def]
    _, (token1, _) = _published(data_dir, monkeypatch)
    coll = next(iter(rarible.collections))
    with running_hook(mode) as hook:
        _use(hook, monkeypatch, timeout_s="0.5")
        rarible.place_bid(coll, token1, "0x" + "d1" * 20, 10**17)
        result = invoke("bids", "sync")
        assert result.exit_code == 0, result.output
        assert "bids: 1 new" in result.output
        assert len(hook.requests) == 1
        if mode == "hang":  # the command came back while the webhook still holds the request
            assert hook.holding.is_set() and not hook.release.is_set()
