"""Generation on a real local Ray cluster (2 CPUs, 127.0.0.1, no dashboard) with the tiny
models: the same frames as the in-process executor, and a killed actor loses nothing.

Same frames means identical PNG bytes: the actors and the in-process reference run the same
torch build on the same CPU with one thread each, the same seeds and the same batches, so they
do the same float operations in the same order (with a different thread count the reductions
split differently and a few pixels differ by one level). Across machines or on GPUs only a
float tolerance would hold.

Ray takes ~15 s to start here and each actor ~20 s to import torch, so one module-scoped
cluster serves every test; the kill tests are `slow`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sqlmodel import col, select

from bot.pipeline.generate_stage import generate_artworks
from generator.executor import InProcessExecutor
from generator.loading import (
    WeightBytes,
    load_models,
    read_weight_bytes,
    resolve_weight_files,
)
from generator.optimiser import GenerationSettings
from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.models import Artwork, ArtworkEvent
from storage.models.frame import Frame
from tests.bot.generate_fixtures import CATEGORIES, prepared_store

ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")

from generator.ray_executor import RayExecutor, RayOptions, start_local_cluster  # noqa: E402

pytestmark = pytest.mark.timeout(600)
QUICK = GenerationSettings(size=32, steps=3, cutn=2, precision="fp32")
LONGER = GenerationSettings(size=32, steps=12, cutn=2, precision="fp32")
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A private Ray cluster for this module: 2 CPUs on loopback, no dashboard, a small
    object store; shut down (every Ray process stopped) at the end."""
    address = start_local_cluster(
        ray, num_cpus=2, object_store_mb=100, namespace="nftbot-tests", log_to_driver=False
    )
    assert address.startswith("127.0.0.1:")  # Ray's servers listen on loopback only
    try:
        yield address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WeightBytes]:
    cache = tmp_path_factory.mktemp("weights")
    files = resolve_weight_files(cache, "absent", "absent", allow_smoke_test_models=True)
    return cache, read_weight_bytes(files)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """The in-process reference computes as a one-thread actor does (see the docstring)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _frames(engine, blobs: BlobStore) -> dict[tuple[int, int], tuple[bytes, float, int]]:
    with session_scope(engine) as session:
        return {
            (f.artwork_id, f.iteration): (blobs.read_bytes(f.blob_sha256), f.loss, f.seed)
            for f in session.exec(select(Frame)).all()
        }


def _generated_events(engine) -> dict[int, int]:
    with session_scope(engine) as session:
        events = session.exec(
            select(ArtworkEvent).where(col(ArtworkEvent.to_state) == "generated")
        ).all()
    counts: dict[int, int] = {}
    for event in events:
        counts[event.artwork_id] = counts.get(event.artwork_id, 0) + 1
    return counts


def _in_process_reference(
    tmp_path: Path, cache: Path, count: int, settings: GenerationSettings, batch: int
) -> dict[tuple[int, int], tuple[bytes, float, int]]:
    engine, blobs = prepared_store(tmp_path / "reference", count)
    models = load_models(cache, "absent", "absent", CPU, allow_smoke_test_models=True)
    report = generate_artworks(
        engine, blobs, InProcessExecutor(models, CPU), settings, batch_size=batch, progress=False
    )
    assert all(outcome.ok for outcome in report.outcomes)
    return _frames(engine, blobs)


def test_ray_actors_make_the_same_frames_as_in_process(
    ray_cluster: str, weights: tuple[Path, WeightBytes], tmp_path: Path, one_thread: None
) -> None:
    cache, shipped = weights
    count = 4
    reference = _in_process_reference(tmp_path, cache, count, QUICK, batch=2)

    engine, blobs = prepared_store(tmp_path / "ray", count)
    with RayExecutor(shipped, RayOptions(cpu_actors=2)) as executor:
        assert executor.workers == 2 and executor.smoke_test
        assert "Ray at local: 2 CPU" in executor.description
        report = generate_artworks(engine, blobs, executor, QUICK, batch_size=2, progress=False)
    assert all(outcome.ok for outcome in report.outcomes), report.outcomes
    assert sorted(report.batch_sizes) == [2, 2] and report.frames_written == count * 3
    frames = _frames(engine, blobs)
    assert len(frames) == count * QUICK.steps
    assert frames == reference  # identical PNG bytes, losses and seeds
    assert _generated_events(engine) == {i: 1 for i in range(1, count + 1)}
    with session_scope(engine) as session:
        artworks = session.exec(select(Artwork)).all()
        states = {a.state for a in artworks}
        prompts = {a.id: a.prompt for a in artworks}  # recorded by the coordinator
        label = session.exec(select(Frame)).first().model
    assert states == {"generated"} and "smoke_vqgan_tiny" in label
    # BOT_PROMPT_TEMPLATE's default, "{category}", for each artwork's category
    assert prompts == {i: CATEGORIES[(i - 1) % len(CATEGORIES)] for i in range(1, count + 1)}


@pytest.mark.slow
def test_a_killed_actor_s_batch_goes_to_another_and_nothing_is_lost_or_doubled(
    ray_cluster: str,
    weights: tuple[Path, WeightBytes],
    tmp_path: Path,
    one_thread: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, shipped = weights
    count = 6
    reference = _in_process_reference(tmp_path, cache, count, LONGER, batch=1)

    engine, blobs = prepared_store(tmp_path / "ray", count)
    killed: list[int] = []
    with RayExecutor(shipped, RayOptions(cpu_actors=2)) as executor:

        def kill_mid_run(frame: Frame) -> None:
            # The first frame of artwork 2 is written: its actor is still optimising the
            # other 11 steps. Kill it (as a lost node would) from the writer thread.
            if frame.artwork_id == 2 and frame.iteration == 0 and not killed:
                actor = executor.actor_running(2)
                assert actor is not None
                ray.kill(actor)
                killed.append(frame.artwork_id)

        with caplog.at_level(logging.WARNING):
            report = generate_artworks(
                engine,
                blobs,
                executor,
                LONGER,
                batch_size=1,
                on_frame_saved=kill_mid_run,
                progress=False,
            )
    assert killed == [2]
    assert "giving them to another worker" in caplog.text
    assert "starting a new one" in caplog.text  # the dead actor was replaced
    assert all(outcome.ok for outcome in report.outcomes), report.outcomes
    assert sorted(o.artwork_id for o in report.outcomes) == list(range(1, count + 1))
    assert _generated_events(engine) == {i: 1 for i in range(1, count + 1)}
    frames = _frames(engine, blobs)
    assert len(frames) == count * LONGER.steps  # rewritten frames replaced, not added
    assert frames == reference


@pytest.mark.slow
def test_a_batch_that_loses_its_worker_twice_fails_into_the_retry_path(
    ray_cluster: str, weights: tuple[Path, WeightBytes], tmp_path: Path
) -> None:
    _cache, shipped = weights
    engine, blobs = prepared_store(tmp_path / "ray", 3)
    kills: list[int] = []
    with RayExecutor(shipped, RayOptions(cpu_actors=2)) as executor:

        def kill_every_time(frame: Frame) -> None:
            if frame.artwork_id == 1 and frame.iteration == 0:
                actor = executor.actor_running(1)
                if actor is not None:
                    ray.kill(actor)
                    kills.append(frame.iteration)

        report = generate_artworks(
            engine,
            blobs,
            executor,
            LONGER,
            batch_size=1,
            on_frame_saved=kill_every_time,
            progress=False,
        )
    outcomes = {o.artwork_id: o for o in report.outcomes}
    assert len(kills) == 2
    assert not outcomes[1].ok and "WorkerLost" in outcomes[1].detail
    assert outcomes[2].ok and outcomes[3].ok
    with session_scope(engine) as session:
        failed = session.get(Artwork, 1)
        assert (failed.state, failed.failed_stage) == ("failed", "generated")
        assert "was lost" in failed.error


@pytest.mark.slow
def test_bot_generate_with_executor_ray_starts_and_stops_its_own_local_cluster(
    data_dir: Path, tmp_path: Path
) -> None:
    """The real command in its own process: BOT_EXECUTOR=ray, BOT_RAY_ADDRESS=local."""
    import os
    import subprocess
    import sys

    engine, _blobs = prepared_store(data_dir, 3)
    engine.dispose()  # type: ignore[attr-defined]
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(data_dir),
        "BOT_EXECUTOR": "ray",
        "BOT_RAY_ADDRESS": "local",
        "BOT_RAY_CPU_ACTORS": "2",
        "BOT_RAY_OBJECT_STORE_MB": "100",
        "BOT_ALLOW_SMOKE_TEST_MODELS": "true",
        "BOT_GENERATOR_SIZE": "32",
    }
    args = ("--steps", "2", "--cutn", "2", "--batch", "1")
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", "generate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "generating Ray at local: 2 CPU" in output and "UNTRAINED" in output
    assert "6 frames written" in output
    assert _generated_events(engine) == {1: 1, 2: 1, 3: 1}
