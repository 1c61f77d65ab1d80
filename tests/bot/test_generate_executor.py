"""The coordinator's side of the executor seam, without Ray: a batch whose worker is lost
after writing some frames is run again (its frames replaced, not doubled), a batch lost
twice fails into the retry path, and BOT_EXECUTOR=ray without Ray is one clear line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.pipeline.generate_stage import generate_artworks
from generator.executor import Coordinator, InProcessExecutor, WorkerLost
from generator.loading import load_models
from generator.optimiser import GenerationSettings, VqganClip
from storage.db import session_scope
from storage.models import Artwork
from storage.models.frame import Frame
from tests.bot.generate_fixtures import prepared_store

SETTINGS = GenerationSettings(size=32, steps=3, cutn=2, precision="fp32")
CPU = torch.device("cpu")
runner = CliRunner()


class LosesWorkers(InProcessExecutor):
    """The in-process executor, except that the worker running the batches of `doomed`
    artworks "dies" after delivering their first step, `times` times per batch."""

    def __init__(self, *args: object, doomed: set[int], times: int) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.doomed, self.times = doomed, times
        self.losses: dict[tuple[int, ...], int] = {}

    def run(self, settings: GenerationSettings, coordinator: Coordinator) -> None:
        generator = VqganClip(self.models.vqgan, self.models.perceptor, self.device, settings)
        while (batch := coordinator.next_batch()) is not None:
            key = tuple(batch.keys)
            if set(key) & self.doomed and self.losses.get(key, 0) < self.times:
                self.losses[key] = self.losses.get(key, 0) + 1
                coordinator.step(batch, next(generator.iter_steps(batch.jobs)))
                coordinator.failed(batch, WorkerLost("worker 7 was lost: node down"))
                continue
            generator.run(batch.jobs, on_step=lambda step, b=batch: coordinator.step(b, step))
            coordinator.finished(batch)


def _frames(engine) -> list[tuple[int, int, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(Frame)).all()
        return sorted((f.artwork_id, f.iteration, f.blob_sha256) for f in rows)


@pytest.fixture
def models(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_models(tmp_path / "models", "absent", "absent", CPU, allow_smoke_test_models=True)


def test_a_lost_worker_s_batch_runs_again_and_its_frames_are_replaced(
    tmp_path: Path, models
) -> None:
    reference_engine, reference_blobs = prepared_store(tmp_path / "reference", 3)
    generate_artworks(
        reference_engine,
        reference_blobs,
        InProcessExecutor(models, CPU),
        SETTINGS,
        batch_size=2,
        progress=False,
    )
    engine, blobs = prepared_store(tmp_path / "lossy", 3)
    executor = LosesWorkers(models, CPU, doomed={1}, times=1)
    report = generate_artworks(engine, blobs, executor, SETTINGS, batch_size=2, progress=False)
    assert executor.losses == {(1, 2): 1}
    assert all(o.ok for o in report.outcomes) and len(report.outcomes) == 3
    assert _frames(engine) == _frames(reference_engine)  # same rows and blobs, none doubled


def test_a_batch_lost_twice_fails_into_the_retry_path(tmp_path: Path, models) -> None:
    engine, blobs = prepared_store(tmp_path, 3)
    executor = LosesWorkers(models, CPU, doomed={3}, times=5)
    report = generate_artworks(engine, blobs, executor, SETTINGS, batch_size=2, progress=False)
    assert executor.losses == {(3,): 2}  # given to a worker once more, then failed
    outcomes = {o.artwork_id: o for o in report.outcomes}
    assert outcomes[1].ok and outcomes[2].ok
    assert not outcomes[3].ok and "WorkerLost: worker 7 was lost" in outcomes[3].detail
    with session_scope(engine) as session:
        artwork = session.get(Artwork, 3)
        assert (artwork.state, artwork.failed_stage) == ("failed", "generated")
        assert "node down" in artwork.error


def test_executor_ray_without_ray_installed_is_one_line_naming_the_extra(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.setenv("BOT_EXECUTOR", "ray")
    result = runner.invoke(app, ["generate"])
    assert result.exit_code == 2
    assert "BOT_EXECUTOR=ray needs the ray extra: pip install 'nftbot[ray]'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "address, ok",
    [
        ("local", True),
        ("auto", True),
        ("10.0.0.5:6379", True),
        ("ray://head.example:10001", True),
        ("head", False),
        ("head:0", False),
        ("http://head:6379", False),
        ("head:6379 --x", False),
    ],
)
def test_ray_address_setting(address: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import load_settings
    from bot.settings_errors import SettingsError

    monkeypatch.setenv("BOT_RAY_ADDRESS", address)
    if ok:
        assert load_settings().ray_address == address
    else:
        with pytest.raises(SettingsError, match="BOT_RAY_ADDRESS"):
            load_settings()
