"""A generation worker: the models loaded once, batches run on them, frames streamed back.

Plain Python on purpose: `generator.ray_executor` turns it into a Ray actor (one per GPU, or
CPU actors), and nothing here imports Ray, the database or the blob store. A worker needs only
this package and its weights: shipped as bytes by the coordinator (`WeightBytes`, through
Ray's object store) or read from a weights dir the worker's host shares (`WeightsInDir`).

`run` is a generator: each optimisation step is yielded as `(iteration, pixels, losses)`
numpy arrays, which Ray stores and the coordinator reads as they come (a streaming actor
call), so a batch's frames never pile up in the worker and the coordinator sees progress.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from generator.batching import resolve_device
from generator.executor import batch_size_on
from generator.loading import LoadedModels, WeightBytes, load_models, load_models_from_bytes
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames, VqganClip

StepPayload = tuple[int, np.ndarray, np.ndarray]  # iteration, pixels [B,H,W,3] u8, losses [B]


@dataclass(frozen=True)
class WeightsInDir:
    """Weights the worker loads itself from a directory its host has (a shared mount)."""

    directory: Path
    vqgan_name: str
    clip_name: str
    allow_smoke_test_models: bool = False


@dataclass(frozen=True)
class WorkerInfo:
    label: str
    smoke_test: bool
    device: str
    host: str
    pid: int


class GeneratorWorker:
    def __init__(
        self, weights: WeightBytes | WeightsInDir, device: str = "auto", threads: int = 0
    ) -> None:
        if threads > 0:  # Ray sets OMP_NUM_THREADS to the actor's CPUs; say it to torch too
            torch.set_num_threads(threads)
        self.device = resolve_device(device)
        self.models: LoadedModels
        if isinstance(weights, WeightBytes):
            self.models = load_models_from_bytes(weights, self.device)
        else:
            self.models = load_models(
                weights.directory,
                weights.vqgan_name,
                weights.clip_name,
                self.device,
                allow_smoke_test_models=weights.allow_smoke_test_models,
            )
        self._generator: VqganClip | None = None

    def describe(self) -> WorkerInfo:
        """Also the readiness check: it answers once the models are loaded."""
        return WorkerInfo(
            self.models.label,
            self.models.smoke_test,
            str(self.device),
            socket.gethostname(),
            os.getpid(),
        )

    def batch_size(
        self,
        pending: int,
        probe_job: GenerationJob,
        settings: GenerationSettings,
        requested: int | None = None,
    ) -> int:
        return batch_size_on(self.models, self.device, pending, probe_job, settings, requested)

    def run(self, jobs: list[GenerationJob], settings: GenerationSettings) -> Iterator[StepPayload]:
        """Optimise `jobs` as one batch, yielding every step's frames and losses."""
        generator = self._generator_for(settings)
        held: StepFrames | None = None
        try:
            # One step behind: step i is handed over after step i+1 is queued, so on CUDA
            # waiting for step i's copy to the host never leaves the GPU idle.
            for step in generator.iter_steps(jobs):
                if held is not None:
                    yield _payload(held)
                held = step
            if held is not None:
                yield _payload(held)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()  # the coordinator retries the batch in halves
            raise

    def _generator_for(self, settings: GenerationSettings) -> VqganClip:
        # One generator per settings (its text embeddings and bf16 check are kept), the last
        # one only: a daemon's settings do not change between batches.
        if self._generator is None or self._generator.settings != settings:
            self._generator = VqganClip(
                self.models.vqgan, self.models.perceptor, self.device, settings
            )
        return self._generator


def _payload(step: StepFrames) -> StepPayload:
    step.wait()
    return step.iteration, step.pixels.numpy(), step.losses.numpy()
