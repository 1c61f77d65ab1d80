"""The crash test of tests/bot/test_pipeline_crash.py with the store on PostgreSQL: real
`bot run --once` processes SIGKILLed in every stage (in mint and list with the request stored
by the server and its answer never recorded), then two runs started at once; every artwork
ends listed exactly once. Leases and claims are the same SQL on both engines, but PostgreSQL
locks rows where SQLite locks the file, so the races are different ones."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.bot.pipeline_world import (
    EVERY_STAGE,
    TOP,
    base_env,
    build_template,
    check_market,
    finish,
    kill_in_turn,
    new_world,
    run_and_kill,
)
from tests.marketplace.rarible_server import running_rarible_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Any
) -> Iterator[tuple[Path, str]]:
    """The world's files, and the name of its template database (copied for each test)."""
    name = postgres_server.create_database()
    root = tmp_path_factory.mktemp("world")
    try:
        yield build_template(root, postgres_server.url(name)), name
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def world(
    template: tuple[Path, str], postgres_server: Any, tmp_path: Path
) -> Iterator[tuple[Path, str, Path]]:
    """(data dir, database URL, weights) of a fresh copy of the world."""
    files, template_db = template
    name = postgres_server.create_database(template=template_db)
    try:
        yield new_world(files, tmp_path), postgres_server.url(name), files.parent / "weights"
    finally:
        postgres_server.drop_database(name)


@pytest.mark.timeout(900)
def test_kills_in_every_stage_on_postgresql_never_mint_or_list_twice(
    world: tuple[Path, str, Path], tmp_path: Path
) -> None:
    data_dir, database_url, weights = world
    with running_rarible_server(api_key="k-world") as (base, state):
        env = base_env(data_dir, base, weights, BOT_DATABASE_URL=database_url)
        reached = kill_in_turn(env, tmp_path, state, EVERY_STAGE)
        check, _ = finish(env, data_dir, state)
    killed = [k for k in reached if k]
    assert len(killed) >= 5, reached  # a stage with nothing left to do ends the run first
    assert any("request stored" in k for k in killed), reached
    assert check.ok, check
    assert check.listed == TOP


@pytest.mark.timeout(600)
def test_two_runs_at_once_on_postgresql_never_double_publish(
    world: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """Two data dirs (two machines) on one PostgreSQL store: no shared lock file, only the
    leases and claims in the database keep them apart. As README "Scaling out" says, the
    machines share the blob store and the local IPFS blockstore (a shared mount): an artwork
    prepared on one may be generated, chosen and pinned on the other."""
    data_dir, database_url, weights = world
    other_dir = tmp_path / "other" / "data"
    other_dir.parent.mkdir()
    shutil.copytree(data_dir, other_dir)  # the same wallet and weights, another machine
    for shared in ("blobs", "ipfs"):  # the shared mount
        shutil.rmtree(other_dir / shared, ignore_errors=True)
        (data_dir / shared).mkdir(exist_ok=True)
        (other_dir / shared).symlink_to(data_dir / shared, target_is_directory=True)
    with running_rarible_server(api_key="k-world") as (base, state):
        envs = [
            base_env(where, base, weights, BOT_DATABASE_URL=database_url)
            for where in (data_dir, other_dir)
        ]
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(
                    lambda env: run_and_kill(
                        env, Path(env["BOT_DATA_DIR"]).parent, target=None, delay_s=0
                    ),
                    envs,
                )
            )
        problems = [
            [line for line in run.log.splitlines() if " ERROR " in line or " WARNING " in line]
            for run in runs
        ]
        assert [run.returncode for run in runs] == [0, 0], problems
        check = check_market(data_dir, state, database_url)
    assert check.ok and check.listed == TOP, check
    assert len(state.items) == TOP and len(state.orders) == TOP
