"""Two real `bot publish` processes at once against a slow local Rarible server (and with
random kill -9s and faults): every artwork is minted once and has at most one live sell order,
counted on the server's side. The long randomized version is `benchmarks/bench_crash.py`."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from sqlmodel import select

from bot.context import AppContext
from bot.pipeline.mint_stage import advance_mint
from bot.pipeline.publish import open_publisher
from bot.settings import load_settings
from storage.db import session_scope
from storage.models import Artwork, ArtworkState
from tests.marketplace.cli_helpers import engine_for, invoke, setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.publishers import MarketCount, artwork_uri, publish_env, start_publish
from tests.marketplace.rarible_server import RandomFaults, RaribleState, running_rarible_server


def _states(data_dir: Path) -> dict[int, str]:
    with session_scope(engine_for(data_dir)) as session:
        return {a.id or 0: a.state for a in session.exec(select(Artwork)).all()}


def _use_server(monkeypatch: pytest.MonkeyPatch, base: str, listing_kind: str) -> None:
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
    monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
    monkeypatch.setenv("BOT_LISTING_KIND", listing_kind)


def _two_publishers(data_dir: Path, base: str, listing_kind: str) -> None:
    env = publish_env(data_dir, base, listing_kind)
    logs = [data_dir.parent / f"publisher-{i}.log" for i in (1, 2)]
    processes = [start_publish(env, data_dir.parent, log) for log in logs]
    for process, log in zip(processes, logs, strict=True):
        assert process.wait(90) in (0, 1)  # 1: an artwork failed (recorded on it)
        assert "Traceback" not in log.read_text(), log.read_text()  # nor an unexpected error


def _one_item_per_artwork(state: RaribleState, numbers: list[int]) -> None:
    assert state.items_per_uri() == {artwork_uri(n): 1 for n in numbers}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_publishers_on_a_slow_marketplace_mint_each_artwork_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    numbers = [1, 2, 3, 4]
    ids = [add_pinned_artwork(engine, n) for n in numbers]
    with running_rarible_server() as (base, state):
        state.write_latency_s = 0.6  # each mint is stored 0.6 s after it arrives
        _two_publishers(data_dir, base, "open-for-bids")
        _one_item_per_artwork(state, numbers)
        state.write_latency_s = 0.0
        _use_server(monkeypatch, base, "open-for-bids")
        follow_up = invoke("publish")  # a later run must not mint anything again either
        _one_item_per_artwork(state, numbers)
        assert follow_up.exit_code == 0, follow_up.output
    assert _states(data_dir) == {i: "listed" for i in ids}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_publishers_list_each_minted_artwork_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    numbers = [1, 2, 3, 4]
    ids = [add_pinned_artwork(engine, n) for n in numbers]
    with running_rarible_server() as (base, state):
        _use_server(monkeypatch, base, "fixed-price")
        publisher = open_publisher(AppContext(load_settings()))
        assert {advance_mint(publisher, i) for i in ids} == {ArtworkState.MINTED}
        # Both publishers find the same minted artworks and list them at the same moment.
        state.write_latency_s = 0.6
        _two_publishers(data_dir, base, "fixed-price")
        assert MarketCount.of(state).double_orders == 0
        state.write_latency_s = 0.0
        follow_up = invoke("publish")
        count = MarketCount.of(state)
        assert count.double_orders == 0 and count.live_orders == len(ids)
        assert follow_up.exit_code == 0, follow_up.output
        _one_item_per_artwork(state, numbers)
    assert _states(data_dir) == {i: "listed" for i in ids}


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_two_publishers_killed_at_random_never_publish_twice(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20240917)
    setup_wallet(data_dir, monkeypatch)
    engine = engine_for(data_dir)
    numbers: list[int] = []
    with running_rarible_server(timeout_fault_s=0.5) as (base, state):
        state.write_latency_s = 0.3
        state.random_faults = RandomFaults(0.2, random.Random(rng.random()))
        env = publish_env(data_dir, base, "fixed-price")
        for round_ in range(2):
            for n in range(len(numbers) + 1, len(numbers) + 4):
                add_pinned_artwork(engine, n)
                numbers.append(n)
            processes = [start_publish(env, data_dir.parent) for _ in range(2)]
            time.sleep(rng.uniform(2.0, 4.0))  # past start-up, into the requests
            processes[rng.randrange(2)].send_signal(signal.SIGKILL)
            for process in processes:
                process.wait(90)
            count = MarketCount.of(state)
            assert (count.double_mints, count.double_orders) == (0, 0), f"round {round_}"
        state.random_faults = None
        state.write_latency_s = 0.0
        _use_server(monkeypatch, base, "fixed-price")
        follow_up = invoke("publish")
        _one_item_per_artwork(state, numbers)
        count = MarketCount.of(state)
        assert count.double_orders == 0 and count.live_orders == len(numbers)
        assert follow_up.exit_code == 0, follow_up.output
    assert set(_states(data_dir).values()) == {"listed"}
