"""prepared → generated: VQGAN+CLIP frames for each artwork, many artworks per batch.

The prompt is made from the artwork's category by BOT_PROMPT_TEMPLATE (default `{category}`,
as in the study) and recorded on the artwork; the init image is its prepared source NFT; every
iteration is kept as a frame (PNG blob + `frames` row, written by a background thread). An
artwork moves to `generated` only after all its frames are committed; a batch that fails
records the failure on each of its artworks and the next batch goes on. On a CUDA
out-of-memory error the batch is split in halves and retried.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from clip.model import CLIP
from PIL import Image
from sqlalchemy.engine import Engine
from tqdm import tqdm

from generator.batching import choose_batch_size
from generator.frames import FrameHook, FrameWriter
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames, VqganClip
from generator.prompts import Prompt, render_prompt
from generator.tiny import write_smoke_test_weights
from generator.vqgan import VQGAN
from generator.weights import MissingWeights, WeightsStore
from storage.artworks import artwork_ids as artwork_ids_in
from storage.artworks import record_failure, transition
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import Artwork, ArtworkState, Listing

log = logging.getLogger(__name__)
SMOKE_TEST_WARNING = (
    "SMOKE TEST: the real weights are missing, so these images come from a tiny UNTRAINED "
    "random-weight model. They are noise, not art; do not publish them."
)


@dataclass(frozen=True)
class LoadedModels:
    vqgan: VQGAN
    perceptor: CLIP
    label: str  # recorded on every frame, e.g. vqgan_wikiart_16384+clip_vit_b32
    smoke_test: bool


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


def load_models(
    cache_dir: Path,
    vqgan_name: str,
    clip_name: str,
    device: torch.device,
    *,
    allow_smoke_test_models: bool = False,
) -> LoadedModels:
    """The configured weights; tiny untrained ones only if those are missing AND allowed."""
    store = WeightsStore(cache_dir)
    try:
        vqgan = store.load_vqgan(vqgan_name, device)
        perceptor = store.load_clip(clip_name, device)
        return LoadedModels(vqgan, perceptor, f"{vqgan_name}+{clip_name}", smoke_test=False)
    except MissingWeights:
        if not allow_smoke_test_models:
            raise
    smoke_vqgan, smoke_clip = write_smoke_test_weights(cache_dir)
    log.warning(SMOKE_TEST_WARNING)
    return LoadedModels(
        store.load_vqgan(smoke_vqgan, device),
        store.load_clip(smoke_clip, device),
        f"{smoke_vqgan}+{smoke_clip} (untrained smoke test)",
        smoke_test=True,
    )


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
    models: LoadedModels,
    settings: GenerationSettings,
    device: torch.device,
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
    generator = VqganClip(models.vqgan, models.perceptor, device, settings)
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

    def probe() -> None:
        VqganClip(models.vqgan, models.perceptor, device, _one_step(settings)).run(jobs[:1])

    size = choose_batch_size(len(jobs), device, requested=batch_size, probe=probe)
    pending = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    while pending:
        batch = pending.pop(0)
        try:
            written, hook_failures = _run_batch(
                engine, blobs, generator, models, batch, on_frame_saved, progress
            )
        except torch.cuda.OutOfMemoryError:
            if len(batch) == 1:
                _fail_all(engine, batch, "CUDA out of memory even at batch size 1", report)
                continue
            torch.cuda.empty_cache()
            half = len(batch) // 2
            log.warning(
                "CUDA out of memory at batch %d: retrying as %d + %d",
                len(batch),
                half,
                len(batch) - half,
            )
            pending[:0] = [batch[:half], batch[half:]]
            continue
        except StoreError:
            raise  # the store itself (damaged, read-only, full): no later batch can be saved
        except Exception as exc:  # one bad batch must not stop the others
            log.exception("generation batch failed")
            _fail_all(engine, batch, f"generation failed: {exc.__class__.__name__}: {exc}", report)
            continue
        report.batch_sizes.append(len(batch))
        report.frames_written += written
        report.hook_failures += hook_failures
        for job in batch:
            with session_scope(engine) as session:
                artwork = session.get(Artwork, job.key)
                if artwork is not None:
                    artwork.prompt = job.prompts[0].text  # kept whatever the template becomes
                    transition(session, artwork, ArtworkState.GENERATED)
            report.outcomes.append(
                GenerateOutcome(job.key, True, f"{settings.steps} frames, seed {job.seed}")
            )
    return report


def _one_step(settings: GenerationSettings) -> GenerationSettings:
    from dataclasses import replace

    return replace(settings, steps=1)


def _run_batch(
    engine: Engine,
    blobs: BlobStore,
    generator: VqganClip,
    models: LoadedModels,
    batch: list[GenerationJob],
    on_frame_saved: FrameHook | None,
    progress: bool,
) -> tuple[int, int]:
    keys = ", ".join(str(job.key) for job in batch)
    with (
        FrameWriter(
            engine, blobs, model_name=models.label, on_frame_saved=on_frame_saved
        ) as writer,
        tqdm(
            total=generator.settings.steps,
            desc=f"artworks {keys}",
            unit="step",
            disable=not progress,
        ) as bar,
    ):

        def on_step(step: StepFrames) -> None:
            writer.submit(step)  # blocks only if the writer is 8 steps behind
            bar.update(1)

        generator.run(batch, on_step=on_step)
    return writer.frames_written, writer.hook_failures


def _fail_all(
    engine: Engine, batch: list[GenerationJob], reason: str, report: GenerateReport
) -> None:
    for job in batch:
        with session_scope(engine) as session:
            artwork = session.get(Artwork, job.key)
            if artwork is not None and artwork.state == ArtworkState.PREPARED.value:
                record_failure(session, artwork, ArtworkState.GENERATED, reason)
        report.outcomes.append(GenerateOutcome(job.key, False, reason))
