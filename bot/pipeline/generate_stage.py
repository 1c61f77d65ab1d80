"""prepared → generated: VQGAN+CLIP frames for each artwork, many artworks per batch.

The prompt is made from the artwork's category by BOT_PROMPT_TEMPLATE (default `{category}`,
as in the study) and recorded on the artwork; the init image is its prepared source NFT; every
iteration is kept as a frame (PNG blob + `frames` row, written by a background thread). An
artwork moves to `generated` only after all its frames are committed; a batch that fails
records the failure on each of its artworks and the next batch goes on. On a CUDA
out-of-memory error the batch is split in halves and retried.

The models run behind an executor (generator/executor.py): in this process, or on Ray actors
(generator/ray_executor.py) that stream each step's frames back. Either way this module is
the coordinator: it reads the init images, hands out batches, and writes the frames, rows
and state changes itself, with the same `FrameWriter`. A batch whose Ray worker was lost is
given to another worker once more, then failed into the retry path.
"""

from __future__ import annotations

import io
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image
from sqlalchemy.engine import Engine
from tqdm import tqdm

from generator.executor import Batch, GenerationExecutor, WorkerLost
from generator.frames import FrameHook, FrameWriter
from generator.loading import SMOKE_TEST_WARNING, LoadedModels, load_models
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames
from generator.prompts import Prompt, render_prompt
from storage.artworks import artwork_ids as artwork_ids_in
from storage.artworks import record_failure, transition
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import Artwork, ArtworkState, Listing

log = logging.getLogger(__name__)
__all__ = ["SMOKE_TEST_WARNING", "LoadedModels", "generate_artworks", "load_models"]
# A batch whose worker died this many times is failed (retried later by the daemon) instead of
# being given to yet another worker: a batch that kills its worker (the kernel's OOM killer, a
# driver crash) would otherwise take down every worker in turn.
MAX_WORKER_LOSSES = 2


@dataclass(frozen=True)
class GenerateOutcome:
    artwork_id: int
    ok: bool
    detail: str


@dataclass
class GenerateReport:
    outcomes: list[GenerateOutcome] = field(default_factory=list)
    frames_written: int = 0
    hook_failures: int = 0  # on_frame_saved errors (e.g. a frame pin that failed)
    batch_sizes: list[int] = field(default_factory=list)


def default_seed(artwork_id: int) -> int:
    """Stable per artwork, so a rerun after a crash rewrites the same frames (idempotent)."""
    return (artwork_id * 2654435761) % 2**31


def select_prepared(engine: Engine, artwork_ids: Sequence[int] | None) -> list[int]:
    with session_scope(engine) as session:
        return artwork_ids_in(session, ArtworkState.PREPARED, only=artwork_ids)


def _job_for(
    engine: Engine,
    blobs: BlobStore,
    artwork_id: int,
    seed: int | None,
    extra_prompts: Sequence[Prompt] = (),
    prompt_template: str = "{category}",
) -> GenerationJob | GenerateOutcome:
    """A job, or the reason this artwork cannot run (recorded as a failure when it is bad)."""
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None:
            return GenerateOutcome(artwork_id, False, f"artwork {artwork_id} does not exist")
        if artwork.state != ArtworkState.PREPARED.value:
            return GenerateOutcome(
                artwork_id, False, f"artwork {artwork_id} is {artwork.state}, not prepared"
            )
        try:
            if not artwork.category:
                raise ValueError(
                    f"artwork {artwork_id} has no category to make the prompt from: prepare it "
                    "again (bot prepare --redo) or give one (bot categorize)"
                )
            listing = session.get(Listing, artwork.listing_id)
            prompt = render_prompt(
                prompt_template,
                category=artwork.category,
                title=listing.name if listing else None,
                series=listing.title if listing else None,
            )
            if not artwork.init_image_blob:
                raise ValueError(f"artwork {artwork_id} has no prepared init image")
            data = blobs.read_bytes(artwork.init_image_blob)
            image = Image.open(io.BytesIO(data)).convert("RGB")
        except (ValueError, OSError, BlobNotFound) as exc:
            reason = (
                f"artwork {artwork_id}: init image blob {exc} is missing"
                if isinstance(exc, BlobNotFound)
                else str(exc)
            )
            record_failure(session, artwork, ArtworkState.GENERATED, reason)
            return GenerateOutcome(artwork_id, False, reason)
        return GenerationJob(
            key=artwork_id,
            prompts=[Prompt(prompt), *extra_prompts],
            seed=default_seed(artwork_id) if seed is None else seed,
            init_image=image,
        )


def generate_artworks(
    engine: Engine,
    blobs: BlobStore,
    executor: GenerationExecutor,
    settings: GenerationSettings,
    *,
    artwork_ids: Sequence[int] | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    extra_prompts: Sequence[Prompt] = (),
    on_frame_saved: FrameHook | None = None,
    progress: bool = True,
    prompt_template: str = "{category}",
) -> GenerateReport:
    report = GenerateReport()
    ids = select_prepared(engine, artwork_ids)
    report.outcomes += [
        GenerateOutcome(i, False, f"artwork {i} does not exist")
        for i in sorted(set(artwork_ids or ()) - set(ids))
    ]
    jobs: list[GenerationJob] = []
    for artwork_id in ids:
        job = _job_for(engine, blobs, artwork_id, seed, extra_prompts, prompt_template)
        if isinstance(job, GenerateOutcome):
            report.outcomes.append(job)
        else:
            jobs.append(job)
    if not jobs:
        return report

    size = executor.batch_size(len(jobs), jobs[0], settings, requested=batch_size)
    batches = [Batch(jobs[i : i + size]) for i in range(0, len(jobs), size)]
    with tqdm(
        total=len(jobs) * settings.steps,
        desc=f"generating {len(jobs)} artwork(s)",
        unit="artwork-step",
        disable=not progress,
    ) as bar:
        coordinator = _Coordinator(
            engine, blobs, executor.label, settings, report, batches, on_frame_saved, bar
        )
        try:
            executor.run(settings, coordinator)
        finally:
            coordinator.abandon()  # writers of batches an error left open: drained, stopped
    return report


class _Coordinator:
    """The store's side of a run (generator.executor.Coordinator): batches out; frames,
    rows and state changes in, the same whichever executor runs the models."""

    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        model_label: str,
        settings: GenerationSettings,
        report: GenerateReport,
        batches: list[Batch],
        on_frame_saved: FrameHook | None,
        bar: tqdm,  # type: ignore[type-arg]
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.model_label = model_label
        self.settings = settings
        self.report = report
        self.on_frame_saved = on_frame_saved
        self.bar = bar
        self._numbers = iter(range(1, 2**62))
        self.pending: deque[Batch] = deque(self._numbered(batch) for batch in batches)
        self.writers: dict[int, FrameWriter] = {}

    def _numbered(self, batch: Batch) -> Batch:
        batch.number = next(self._numbers)
        return batch

    def next_batch(self) -> Batch | None:
        return self.pending.popleft() if self.pending else None

    def step(self, batch: Batch, step: StepFrames) -> None:
        writer = self.writers.get(batch.number)
        if writer is None:
            writer = self.writers[batch.number] = FrameWriter(
                self.engine,
                self.blobs,
                model_name=self.model_label,
                on_frame_saved=self.on_frame_saved,
            )
        writer.submit(step)  # blocks only if the writer is 8 steps behind
        self.bar.update(len(batch.jobs))

    def finished(self, batch: Batch) -> None:
        writer = self.writers.pop(batch.number, None)
        written = hook_failures = 0
        if writer is not None:
            try:
                writer.close()
            except Exception as exc:
                self._fail_all(batch, exc)
                return
            written, hook_failures = writer.frames_written, writer.hook_failures
        report = self.report
        report.batch_sizes.append(len(batch.jobs))
        report.frames_written += written
        report.hook_failures += hook_failures
        for job in batch.jobs:
            with session_scope(self.engine) as session:
                artwork = session.get(Artwork, job.key)
                if artwork is not None:
                    artwork.prompt = job.prompts[0].text  # kept whatever the template becomes
                    transition(session, artwork, ArtworkState.GENERATED)
            report.outcomes.append(
                GenerateOutcome(job.key, True, f"{self.settings.steps} frames, seed {job.seed}")
            )

    def failed(self, batch: Batch, error: BaseException) -> None:
        writer = self.writers.pop(batch.number, None)
        if writer is not None:
            writer.abort()  # what it has queued is written; a rerun rewrites the same frames
        if isinstance(error, torch.cuda.OutOfMemoryError):
            if len(batch.jobs) == 1:
                self._fail_all(batch, "CUDA out of memory even at batch size 1")
                return
            half = len(batch.jobs) // 2
            log.warning(
                "CUDA out of memory at batch %d: retrying as %d + %d",
                len(batch.jobs),
                half,
                len(batch.jobs) - half,
            )
            self._again(Batch(batch.jobs[:half]), Batch(batch.jobs[half:]))
        elif isinstance(error, StoreError):
            raise error  # the store itself (damaged, read-only, full): no batch can be saved
        elif isinstance(error, WorkerLost) and batch.worker_losses + 1 < MAX_WORKER_LOSSES:
            log.warning("artworks %s: %s; giving them to another worker", batch.keys, error)
            self._again(Batch(batch.jobs, worker_losses=batch.worker_losses + 1))
        else:
            self._fail_all(batch, error)

    def _again(self, *batches: Batch) -> None:
        """Run these again, first: their steps count again on the progress bar."""
        for batch in reversed(batches):
            self.pending.appendleft(self._numbered(batch))
        self.bar.total += sum(len(b.jobs) for b in batches) * self.settings.steps
        self.bar.refresh()

    def _fail_all(self, batch: Batch, error: BaseException | str) -> None:
        if isinstance(error, str):
            reason = error
        else:
            if not isinstance(error, WorkerLost):  # a lost worker is not this code's bug
                log.error("generation batch %s failed", batch.keys, exc_info=error)
            reason = f"generation failed: {error.__class__.__name__}: {error}"
        for job in batch.jobs:
            with session_scope(self.engine) as session:
                artwork = session.get(Artwork, job.key)
                if artwork is not None and artwork.state == ArtworkState.PREPARED.value:
                    record_failure(session, artwork, ArtworkState.GENERATED, reason)
            self.report.outcomes.append(GenerateOutcome(job.key, False, reason))

    def abandon(self) -> None:
        while self.writers:
            _number, writer = self.writers.popitem()
            writer.abort()
