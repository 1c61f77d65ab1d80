"""The whole pipeline on loopback as real `bot run --once` processes: a clean cycle from the
sample to listings on the local Rarible server; SIGKILLs in every stage (in mint and list
also between the request and the recording of its answer) and 30% injected faults still end
with every artwork listed exactly once. benchmarks/bench_crash_pipeline.py runs hundreds of
kills."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.bot.pipeline_world import (
    EVERY_STAGE,
    TOP,
    KillPlan,
    Launcher,
    RandomFaults,
    base_env,
    build_template,
    check_market,
    finish,
    kill_in_turn,
    new_world,
    run_and_kill,
)
from tests.marketplace.rarible_server import running_rarible_server

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("world"))


def _env(template: Path, data_dir: Path, base: str) -> dict[str, str]:
    return base_env(data_dir, base, template.parent / "weights")


@pytest.mark.timeout(600)
def test_one_run_takes_the_sample_to_listings_and_a_second_finds_nothing(
    template: Path, tmp_path: Path
) -> None:
    data_dir = new_world(template, tmp_path)
    with running_rarible_server(api_key="k-world") as (base, state):
        env = _env(template, data_dir, base)
        first = run_and_kill(env, tmp_path, target=None, delay_s=0)
        assert first.returncode == 0, first.log[-3000:]
        check = check_market(data_dir, state)
        assert check.ok and check.listed == TOP, check
        second = run_and_kill(env, tmp_path, target=None, delay_s=0)
        assert second.returncode == 0
        assert "leased" not in second.log  # idempotent: nothing was due
        assert len(state.items) == TOP and len(state.orders) == TOP


@pytest.mark.timeout(900)
def test_kills_in_every_stage_never_mint_or_list_twice_and_lose_nothing(
    template: Path, tmp_path: Path
) -> None:
    data_dir = new_world(template, tmp_path)
    with running_rarible_server(api_key="k-world") as (base, state):
        env = _env(template, data_dir, base)
        reached = kill_in_turn(env, tmp_path, state, EVERY_STAGE)
        check, _ = finish(env, data_dir, state)
    killed = [k for k in reached if k]
    assert len(killed) >= 5, reached  # a stage with nothing left to do ends the run first
    assert any("request stored" in k for k in killed), reached
    assert check.ok, check
    assert check.listed == TOP


@pytest.mark.timeout(900)
def test_thirty_percent_faults_still_publish_every_artwork_exactly_once(
    template: Path, tmp_path: Path
) -> None:
    data_dir = new_world(template, tmp_path)
    with running_rarible_server(api_key="k-world", timeout_fault_s=0.5) as (base, state):
        faults = RandomFaults(state, 0.3, random.Random(30))
        state.take_fault = faults  # type: ignore[method-assign]
        env = _env(template, data_dir, base)
        launcher = Launcher(env)  # runs forked from warm imports: many short runs here
        try:
            check, runs = finish(env, data_dir, state, runs=25, launcher=launcher)
        finally:
            launcher.close()
    assert sum(faults.injected.values()) > 0, faults.injected
    assert check.ok, (check, faults.injected, len(runs))
    assert check.listed == TOP


@pytest.mark.timeout(600)
def test_two_runs_started_at_once_on_one_data_dir_never_double_publish(
    template: Path, tmp_path: Path
) -> None:
    """The data dir's lock lets one in; the other exits 2 naming it (or, when the first was
    already done, finds nothing left). Either way each artwork is listed once."""
    from concurrent.futures import ThreadPoolExecutor

    data_dir = new_world(template, tmp_path)
    with running_rarible_server(api_key="k-world") as (base, state):
        env = _env(template, data_dir, base)
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(lambda _: run_and_kill(env, tmp_path, target=None, delay_s=0), (1, 2))
            )
        codes = sorted(run.returncode for run in runs)
        assert codes in ([0, 2], [0, 0]), [run.log[-2000:] for run in runs]
        if codes == [0, 2]:
            refused = next(run for run in runs if run.returncode == 2)
            assert "already running" in refused.log
        check = check_market(data_dir, state)
    assert check.ok and check.listed == TOP, check
    assert len(state.items) == TOP and len(state.orders) == TOP


@pytest.mark.timeout(900)
def test_a_daemon_killed_mid_step_never_mints_or_lists_twice(
    template: Path, tmp_path: Path
) -> None:
    """`bot daemon` SIGKILLed in generate, in mint and in list (with the request stored by the
    server and its answer never recorded), restarted each time; then clean runs finish."""
    data_dir = new_world(template, tmp_path)
    plans = [
        KillPlan("generate", 0.5),
        KillPlan("mint", 0.0, hang="/v0.1/nft/mints"),
        KillPlan("list", 0.0, hang="/v0.1/order/orders"),
    ]
    with running_rarible_server(api_key="k-world") as (base, state):
        env = _env(template, data_dir, base) | {"BOT_DAEMON_TICK_INTERVAL_S": "1"}
        killed = kill_in_turn(env, tmp_path, state, plans, timeout_s=240, args=("daemon",))
        check, _ = finish(env, data_dir, state)
    assert all(k and k != "timeout" for k in killed), killed
    assert check.ok, check
    assert check.listed == TOP
