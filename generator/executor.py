"""Where generation runs: the seam between the coordinator and the models.

The coordinator (bot/pipeline/generate_stage.py) owns the database, the blob store and the
artworks' states; an executor owns the models and runs batches of `GenerationJob`s on them.
They meet through two small interfaces:

- `Coordinator`: hands out batches (`next_batch`), takes each optimisation step's frames
  (`step`) and each batch's end (`finished` / `failed`). The frames are written, the rows
  committed and the states moved there, by the same code whatever the executor.
- `GenerationExecutor`: `batch_size` (what fits a worker) and `run` (pull batches until
  the coordinator has none, report each step and outcome).

`InProcessExecutor` is the plain path: the models in this process, one batch at a time.
`generator.ray_executor.RayExecutor` runs the same loop on Ray actors (one per GPU), several
batches at once, and streams the frames back.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field, replace
from functools import partial
from types import TracebackType
from typing import Protocol

import torch

from generator.batching import choose_batch_size
from generator.loading import LoadedModels
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames, VqganClip

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """Artworks optimised together. `worker_losses` counts the workers that died under it:
    the coordinator gives it to another worker, and fails it after too many."""

    jobs: list[GenerationJob]
    worker_losses: int = 0
    number: int = field(default=0, compare=False)  # in the order the coordinator made them

    @property
    def keys(self) -> list[int]:
        return [job.key for job in self.jobs]


class WorkerLost(RuntimeError):
    """The worker running a batch died or stopped answering; the batch itself may be fine."""


class NoWorkers(RuntimeError):
    """No worker is left (or none could start) to run the remaining batches."""


class Coordinator(Protocol):
    """The side that owns the store. Called from the thread that called `run`."""

    def next_batch(self) -> Batch | None:
        """The next batch to run, or None when there is none (now)."""

    def step(self, batch: Batch, step: StepFrames) -> None:
        """One iteration's frames of `batch` (may raise: the batch then fails)."""

    def finished(self, batch: Batch) -> None:
        """Every step of `batch` was delivered."""

    def failed(self, batch: Batch, error: BaseException) -> None:
        """`batch` did not finish: it raised `error`, or its worker was lost (`WorkerLost`).
        May re-raise to stop the whole run (the store itself failed)."""


class GenerationExecutor(abc.ABC):
    """Runs batches on loaded models. `label` and `smoke_test` describe the models (the label
    is recorded on every frame); `workers` is how many batches run at once."""

    label: str
    smoke_test: bool
    workers: int = 1
    description: str = ""

    @abc.abstractmethod
    def batch_size(
        self,
        pending: int,
        probe_job: GenerationJob,
        settings: GenerationSettings,
        requested: int | None = None,
    ) -> int:
        """Artworks per batch for `pending` jobs (see `generator.batching`)."""

    @abc.abstractmethod
    def run(self, settings: GenerationSettings, coordinator: Coordinator) -> None:
        """Run batches from `coordinator.next_batch()` until it returns None and none is in
        work; report every step and every batch's outcome to `coordinator`."""

    def close(self) -> None:  # noqa: B027 - optional: only executors with workers free any
        """Free the workers (and the models)."""

    def __enter__(self) -> GenerationExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def one_step(settings: GenerationSettings) -> GenerationSettings:
    return replace(settings, steps=1)


def batch_size_on(
    models: LoadedModels,
    device: torch.device,
    pending: int,
    probe_job: GenerationJob,
    settings: GenerationSettings,
    requested: int | None,
) -> int:
    """`choose_batch_size` with a one-step probe of one artwork on `device` (CUDA only)."""

    def probe() -> None:
        VqganClip(models.vqgan, models.perceptor, device, one_step(settings)).run([probe_job])

    return choose_batch_size(pending, device, requested=requested, probe=probe)


class InProcessExecutor(GenerationExecutor):
    """The models in this process, one batch after the other (the default)."""

    def __init__(self, models: LoadedModels, device: torch.device) -> None:
        self.models = models
        self.device = device
        self.label = models.label
        self.smoke_test = models.smoke_test
        self.description = f"in-process on {device}"

    def batch_size(
        self,
        pending: int,
        probe_job: GenerationJob,
        settings: GenerationSettings,
        requested: int | None = None,
    ) -> int:
        return batch_size_on(self.models, self.device, pending, probe_job, settings, requested)

    def run(self, settings: GenerationSettings, coordinator: Coordinator) -> None:
        generator = VqganClip(self.models.vqgan, self.models.perceptor, self.device, settings)
        while (batch := coordinator.next_batch()) is not None:
            try:
                generator.run(batch.jobs, on_step=partial(coordinator.step, batch))
            except Exception as exc:
                if isinstance(exc, torch.cuda.OutOfMemoryError):
                    torch.cuda.empty_cache()  # before the coordinator retries in halves
                coordinator.failed(batch, exc)
            else:
                coordinator.finished(batch)
