"""chosen → (upscaled) chosen: an optional super-resolution of the chosen frame before pinning.

Off by default (`BOT_UPSCALE_ENABLED`). When on, `advance(artwork_id, ctx)` upscales the chosen
frame of a `chosen` artwork by `BOT_UPSCALE_SCALE` with the ESRGAN-family weights
`BOT_UPSCALE_MODEL` (Real-ESRGAN x4plus/x2plus by default, from the weights registry, run with
spandrel, tiled: `generator.upscale`) and records the PNG on the artwork (`upscaled_blob`,
the frame it came from, the model). The frame itself stays recorded as it was; the pin stage
pins the upscaled image instead (`bot.pipeline.guards.image_to_pin`).

`advance` is idempotent: an artwork whose chosen frame is already upscaled with the same model
and scale is left alone, and a new choice drops the old upscaled image (choose_stage). The
network work happens outside any database transaction; the result is recorded only if the
same frame is still the chosen one. The model is loaded once per context, on first use.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy.engine import Engine

from bot.pipeline.choose_stage import frames_of
from storage.artworks import artwork_ids, record_failure
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.models import Artwork, ArtworkState

log = logging.getLogger(__name__)


@dataclass
class UpscaleContext:
    engine: Engine
    blobs: BlobStore
    enabled: bool
    scale: int
    model_name: str
    tile: int
    overlap: int
    device: Any  # torch.device
    load_model: Callable[[], Any]  # -> a spandrel ImageModelDescriptor
    progress: Callable[[int, int], None] | None = None
    _model: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.model_name} x{self.scale}"

    def model(self) -> Any:
        if self._model is None:
            self._model = self.load_model()
        return self._model


@dataclass(frozen=True)
class UpscaleOutcome:
    artwork_id: int
    state: ArtworkState
    changed: bool
    detail: str


def upscale_context(
    engine: Engine, blobs: BlobStore, settings: Any, *, device: Any = None
) -> UpscaleContext:
    """The context from settings (BOT_UPSCALE_*); the weights load on first use."""
    import torch

    from generator.batching import resolve_device
    from generator.weights import WeightsStore

    target = device or resolve_device(settings.generator_device)
    store = WeightsStore(settings.weights_cache_dir)
    name = settings.upscaler_name
    return UpscaleContext(
        engine=engine,
        blobs=blobs,
        enabled=settings.upscale_enabled,
        scale=settings.upscale_scale,
        model_name=name,
        tile=settings.upscale_tile,
        overlap=settings.upscale_tile_overlap,
        device=torch.device(target),
        load_model=lambda: store.load_upscaler(name, target),
    )


def upscale_artwork(artwork_id: int, ctx: UpscaleContext) -> UpscaleOutcome:
    """Upscale one artwork's chosen frame if it needs it (see the module docstring)."""
    from generator.images import encode_png
    from generator.upscale import TileSettings, upscale_image

    with session_scope(ctx.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None:
            return UpscaleOutcome(artwork_id, ArtworkState.FAILED, False, "no such artwork")
        state = ArtworkState(artwork.state)
        if not ctx.enabled:
            return UpscaleOutcome(artwork_id, state, False, "upscaling is off")
        if state is not ArtworkState.CHOSEN:
            return UpscaleOutcome(artwork_id, state, False, f"{state.value}, not chosen")
        frames = [f for f in frames_of(session, artwork_id) if f.chosen]
        if len(frames) != 1:
            return UpscaleOutcome(artwork_id, state, False, f"{len(frames)} chosen frames")
        frame = frames[0]
        if (
            artwork.upscaled_frame_id == frame.id
            and artwork.upscale_model == ctx.label
            and artwork.upscaled_blob
            and ctx.blobs.exists(artwork.upscaled_blob)
        ):
            return UpscaleOutcome(artwork_id, state, False, f"already upscaled ({ctx.label})")
        frame_id, frame_blob = frame.id, frame.blob_sha256
    try:
        image = Image.open(io.BytesIO(ctx.blobs.read_bytes(frame_blob))).convert("RGB")
    except (BlobNotFound, OSError) as exc:
        reason = f"artwork {artwork_id}: upscaling failed: the chosen frame's PNG: {exc}"
        with session_scope(ctx.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            assert artwork is not None
            record_failure(session, artwork, ArtworkState.PINNED, reason)
        return UpscaleOutcome(artwork_id, ArtworkState.FAILED, True, reason)
    upscaled = upscale_image(
        ctx.model(),
        image,
        scale=ctx.scale,
        settings=TileSettings(ctx.tile, ctx.overlap),
        device=ctx.device,
        progress=ctx.progress,
    )
    png = encode_png(np.asarray(upscaled), {"upscaled_from": frame_blob, "upscaler": ctx.label})
    blob = ctx.blobs.put_bytes(png)
    with session_scope(ctx.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        still = [f for f in frames_of(session, artwork_id) if f.chosen]
        if artwork.state != ArtworkState.CHOSEN.value or [f.id for f in still] != [frame_id]:
            return UpscaleOutcome(
                artwork_id, ArtworkState(artwork.state), False, "the choice changed meanwhile"
            )
        artwork.upscaled_blob, artwork.upscaled_frame_id = blob.sha256, frame_id
        artwork.upscale_model = ctx.label
        session.add(artwork)
    detail = f"{image.width}x{image.height} → {upscaled.width}x{upscaled.height} ({ctx.label})"
    return UpscaleOutcome(artwork_id, ArtworkState.CHOSEN, True, detail)


def advance(artwork_id: int, ctx: UpscaleContext) -> ArtworkState:
    """The pipeline's step for one artwork: its state afterwards (idempotent)."""
    return upscale_artwork(artwork_id, ctx).state


def chosen_ids(engine: Engine) -> list[int]:
    with session_scope(engine) as session:
        return artwork_ids(session, ArtworkState.CHOSEN)
