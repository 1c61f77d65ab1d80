"""Score the frames of generated artworks and store the scores on their `frames` rows.

The models are loaded once (`load_scorer`) through the weights store's loaders, the same ones
generation and preparation use: the scoring CLIP (`BOT_CHOOSE_CLIP`, default the generator's),
the discriminator of each VQGAN named in a frame's `model` (loaded on first use, then kept),
and the aesthetic head when its weights are present. Tiny smoke-test models stand in only
when the real CLIP is missing and `BOT_ALLOW_SMOKE_TEST_MODELS` is set, as for generation.

One artwork's frames are scored in batches and written in one transaction; an artwork whose
images are missing is reported by id and reason, and the rest go on. Scoring is idempotent:
frames already scored are skipped unless `rescore`.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from torch import nn

from generator.frame_scores import FrameScorer, FrameScores, ScoreJob
from generator.model_names import parse_model_label
from generator.tiny import write_smoke_test_weights
from generator.weights import MissingWeights, WeightsStore
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.models import Artwork, Listing
from storage.models.frame import Frame
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class LoadedScorer:
    scorer: FrameScorer
    clip_name: str
    aesthetic_name: str | None
    smoke_test: bool
    critics: dict[str, str] = field(default_factory=dict)  # vqgan -> "ok" or why not

    def label(self, vqgan: str | None) -> str:
        critic = vqgan if vqgan and self.critics.get(vqgan) == "ok" else "-"
        return f"clip={self.clip_name}; critic={critic}; aesthetic={self.aesthetic_name or '-'}"


@dataclass(frozen=True)
class ScoreOutcome:
    artwork_id: int
    ok: bool
    detail: str
    scored: int = 0


def load_scorer(
    cache_dir: Path,
    clip_name: str,
    aesthetic_name: str | None,
    device: torch.device,
    *,
    batch_size: int = 16,
    allow_smoke_test_models: bool = False,
) -> LoadedScorer:
    """Load the scoring models once; raises MissingWeights when the CLIP is missing."""
    store = WeightsStore(cache_dir)
    smoke = False
    try:
        clip_model = store.load_clip(clip_name, device)
    except MissingWeights:
        if not allow_smoke_test_models:
            raise
        _, clip_name = write_smoke_test_weights(store.cache_dir)
        clip_model = store.load_clip(clip_name, device)
        smoke = True
        log.warning("scoring with the untrained smoke-test CLIP: its similarities mean nothing")
    head = None
    if aesthetic_name and store.available(aesthetic_name):
        head = store.load_aesthetic(aesthetic_name, device)
        if head.in_features != int(clip_model.text_projection.shape[1]):
            log.warning(
                "aesthetic head %s takes %d-d embeddings, %s gives %d-d: not used",
                aesthetic_name,
                head.in_features,
                clip_name,
                int(clip_model.text_projection.shape[1]),
            )
            head = None
    critics: dict[str, str] = {}
    discriminators: dict[str, nn.Module | None] = {}

    def discriminator_for(vqgan: str) -> nn.Module | None:
        if vqgan not in discriminators:
            try:
                discriminators[vqgan] = store.load_discriminator(vqgan, device)
                critics[vqgan] = "ok"
            except (MissingWeights, ValueError) as exc:  # ConversionError is a ValueError
                discriminators[vqgan] = None
                critics[vqgan] = str(exc)
                log.warning("no critic for frames of %s: %s", vqgan, exc)
        return discriminators[vqgan]

    scorer = FrameScorer(
        clip_model,
        device,
        discriminator_for=discriminator_for,
        aesthetic_head=head,
        batch_size=batch_size,
    )
    return LoadedScorer(scorer, clip_name, aesthetic_name if head else None, smoke, critics)


def _image(blobs: BlobStore, sha256: str) -> Image.Image:
    return Image.open(io.BytesIO(blobs.read_bytes(sha256))).convert("RGB")


def _sources(session: Session, blobs: BlobStore, artwork: Artwork) -> list[Image.Image]:
    images = []
    if artwork.init_image_blob:
        images.append(_image(blobs, artwork.init_image_blob))
    listing = session.get(Listing, artwork.listing_id)
    if listing is not None and listing.image_blob and listing.image_blob != artwork.init_image_blob:
        with contextlib.suppress(BlobNotFound, OSError):  # the prepared image is enough
            images.append(_image(blobs, listing.image_blob))
    if not images:
        raise ValueError(f"artwork {artwork.id} has no source image to compare its frames with")
    return images


def score_artwork(
    engine: Engine,
    blobs: BlobStore,
    loaded: LoadedScorer,
    artwork_id: int,
    *,
    rescore: bool = False,
    on_frames: Callable[[int], None] | None = None,
) -> ScoreOutcome:
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None:
            return ScoreOutcome(artwork_id, False, f"artwork {artwork_id} does not exist")
        query = select(Frame).where(Frame.artwork_id == artwork_id).order_by(col(Frame.id))
        frames = [f for f in session.exec(query).all() if rescore or f.scored_at is None]
        if not frames:
            return ScoreOutcome(artwork_id, True, "already scored")
        try:
            sources = _sources(session, blobs, artwork)
            images = [_image(blobs, f.blob_sha256) for f in frames]
        except BlobNotFound as exc:
            return ScoreOutcome(artwork_id, False, f"artwork {artwork_id}: blob {exc} is missing")
        except (ValueError, OSError) as exc:
            return ScoreOutcome(artwork_id, False, f"artwork {artwork_id}: {exc}")
        groups: dict[str | None, list[int]] = {}
        for index, frame in enumerate(frames):
            groups.setdefault(parse_model_label(frame.model).vqgan, []).append(index)
    now = utcnow()
    results: dict[int, tuple[FrameScores, str]] = {}
    for vqgan, indices in groups.items():
        job = ScoreJob(
            key=artwork_id,
            frames=[images[i] for i in indices],
            prompts=[frames[i].prompt for i in indices],
            sources=sources,
            vqgan=vqgan,
        )
        for i, scores in zip(indices, loaded.scorer.score(job), strict=True):
            results[i] = (scores, loaded.label(vqgan))
        if on_frames is not None:
            on_frames(len(indices))
    with session_scope(engine) as session:
        for index, frame in enumerate(frames):
            scores, label = results[index]
            row = session.get(Frame, frame.id)
            if row is None:
                continue
            for name, value in scores.as_dict().items():
                setattr(row, name, value)
            row.score_models, row.scored_at = label, now
            session.add(row)
    return ScoreOutcome(artwork_id, True, f"{len(frames)} frames scored", len(frames))


def scorer_from_settings(settings: Any, device: torch.device | None = None) -> LoadedScorer:
    """`load_scorer` with the configured weights, device and batch size."""
    from generator.batching import resolve_device

    return load_scorer(
        settings.weights_cache_dir,
        settings.scoring_clip,
        settings.choose_aesthetic,
        device or resolve_device(settings.generator_device),
        batch_size=settings.choose_batch,
        allow_smoke_test_models=settings.allow_smoke_test_models,
    )


def score_artworks(
    engine: Engine,
    blobs: BlobStore,
    loaded: LoadedScorer,
    artwork_ids: Sequence[int],
    *,
    rescore: bool = False,
    progress: bool = True,
) -> list[ScoreOutcome]:
    """Score each artwork's frames with one progress bar over all frames; one artwork's bad
    input is reported and the others go on."""
    from tqdm import tqdm

    with session_scope(engine) as session:
        query = select(Frame.id).where(col(Frame.artwork_id).in_(list(artwork_ids)))
        if not rescore:
            query = query.where(col(Frame.scored_at).is_(None))
        total = len(session.exec(query).all())
    outcomes = []
    with tqdm(total=total, desc="scoring frames", unit="frame", disable=not progress) as bar:
        for artwork_id in artwork_ids:
            outcomes.append(
                score_artwork(
                    engine, blobs, loaded, artwork_id, rescore=rescore, on_frames=bar.update
                )
            )
    return outcomes
