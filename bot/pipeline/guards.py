"""What may leave the machine: the checks run before pinning and before publishing.

- Frames of the untrained smoke-test models (`generator.model_names`) are pinned and published
  only in dry-run: their images are noise, and a dry run sends nothing anywhere.
- A near-copy of the source NFT (`generator.near_copy`, thresholds from settings) is never
  pinned unless a person forced that frame with a recorded reason
  (`bot pin ARTWORK --force-near-copy --reason TEXT`, kept on the frame and in the artwork's
  event log). A frame that was never scored is hash-checked here (no model needed, but
  imagehash and OpenCV: on a core install without them it is refused until scored or forced).
- With upscaling on, the upscaled image of the chosen frame is what gets pinned; pinning waits
  for it.

A refusal changes nothing in the store: the artwork stays `chosen`, so a person can choose
another frame, force this one, or switch the mode.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.pipeline.frame_rank import near_copy_of
from generator.model_names import is_smoke_test_model
from generator.near_copy import NearCopyThresholds, SourceIndex, hash_evidence, verdict
from storage.artworks import transition
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.models.frame import Frame

DRY_RUN = "dry-run"


class PublishRefused(ValueError):
    """Policy says no; nothing was changed. The message says why and what to do."""


@dataclass(frozen=True)
class PinPolicy:
    """What the pin stage checks. The defaults are the strict ones (not dry-run)."""

    marketplace_mode: str = "testnet"
    thresholds: NearCopyThresholds = field(
        default_factory=lambda: NearCopyThresholds(max_hash_distance=10, min_clip_similarity=0.95)
    )
    upscale_enabled: bool = False


def chosen_frame(session: Session, artwork_id: int) -> Frame | None:
    frames = session.exec(
        select(Frame).where(Frame.artwork_id == artwork_id, col(Frame.chosen).is_(True))
    ).all()
    return frames[0] if len(frames) == 1 else None


def smoke_test_refusal(artwork_id: int, frame: Frame, mode: str, action: str) -> str | None:
    if mode == DRY_RUN or not is_smoke_test_model(frame.model):
        return None
    return (
        f"artwork {artwork_id}: refusing to {action} in {mode} mode: the chosen frame (iteration "
        f"{frame.iteration}) comes from the untrained smoke-test model ({frame.model}); its "
        "image is noise. Generate with real weights, or use BOT_MARKETPLACE_MODE=dry-run"
    )


def _hash_check(
    session: Session, blobs: BlobStore, artwork: Artwork, frame: Frame
) -> tuple[int, str] | None:
    """Hash evidence for a frame that was never scored (no CLIP needed); None when the artwork
    records no source image at all (nothing to be a copy of)."""
    from PIL import Image

    listing = session.get(Listing, artwork.listing_id)
    recorded = [b for b in (artwork.init_image_blob, listing.image_blob if listing else None) if b]
    if not recorded:
        return None
    sources = []
    for blob in recorded:
        try:
            sources.append(Image.open(io.BytesIO(blobs.read_bytes(blob))).convert("RGB"))
        except (BlobNotFound, OSError):
            continue
    if not sources:
        raise PublishRefused(
            f"artwork {artwork.id}: its source image is missing from the blob store, so the "
            "chosen frame cannot be checked for near-copies; restore it (bot images fetch)"
        )
    image = Image.open(io.BytesIO(blobs.read_bytes(frame.blob_sha256))).convert("RGB")
    evidence = hash_evidence(image, SourceIndex.of(sources))
    return evidence.distance, evidence.match


def _can_hash() -> bool:
    """The hash check needs imagehash and OpenCV (the generator extra), not torch."""
    from bot.extras import module_available

    return module_available("imagehash") and module_available("cv2")


def near_copy_refusal(
    session: Session,
    blobs: BlobStore,
    artwork: Artwork,
    frame: Frame,
    thresholds: NearCopyThresholds,
) -> str | None:
    if frame.near_copy_override:
        return None
    if frame.scored_at is not None:
        found = near_copy_of(frame, thresholds)
    elif not _can_hash():
        return (
            f"artwork {artwork.id}: the chosen frame (iteration {frame.iteration}) was never "
            "scored, and this install cannot check it for near-copies (that needs the "
            "generator extra: pip install 'nftbot[generate]'). Score it with bot score where "
            f"the extra is installed, or publish it anyway: bot pin {artwork.id} "
            "--force-near-copy --reason TEXT"
        )
    else:
        try:
            evidence = _hash_check(session, blobs, artwork, frame)
        except (BlobNotFound, OSError):
            return None  # the pin stage reports the missing or broken frame itself
        if evidence is None:
            return None
        found = verdict(evidence[0], None, thresholds, hash_match=evidence[1])
    if not found.near_copy:
        return None
    return (
        f"artwork {artwork.id}: the chosen frame (iteration {frame.iteration}) is a "
        f"{found.reason}. Choose another frame (bot review, or bot choose {artwork.id} "
        f"--iteration N), or publish it anyway: bot pin {artwork.id} --force-near-copy "
        "--reason TEXT"
    )


def image_to_pin(
    session: Session, blobs: BlobStore, artwork: Artwork, policy: PinPolicy
) -> str | None:
    """The blob to pin for `artwork` (the upscaled image when upscaling is on), or None to let
    the pin stage report a missing choice itself. Raises PublishRefused."""
    assert artwork.id is not None
    frame = chosen_frame(session, artwork.id)
    if frame is None:
        return None
    refusal = smoke_test_refusal(artwork.id, frame, policy.marketplace_mode, "pin it")
    refusal = refusal or near_copy_refusal(session, blobs, artwork, frame, policy.thresholds)
    if refusal:
        raise PublishRefused(refusal)
    if not policy.upscale_enabled:
        return frame.blob_sha256
    if artwork.upscaled_blob and artwork.upscaled_frame_id == frame.id:
        return artwork.upscaled_blob
    raise PublishRefused(
        f"artwork {artwork.id}: upscaling is on and the chosen frame is not upscaled yet; "
        f"run bot upscale {artwork.id} (or set BOT_UPSCALE_ENABLED=false)"
    )


def publish_refusal(engine: Engine, artwork_id: int, mode: str) -> str | None:
    """Why `bot publish` must not mint this artwork in `mode`, or None."""
    with session_scope(engine) as session:
        frame = chosen_frame(session, artwork_id)
        if frame is None:
            return None
        return smoke_test_refusal(artwork_id, frame, mode, "publish it")


def record_near_copy_override(
    session: Session,
    artwork: Artwork,
    reason: str,
    thresholds: NearCopyThresholds,
    blobs: BlobStore,
) -> str:
    """A person publishes the chosen near-copy anyway: the reason goes on the frame and into
    the artwork's event log. Returns what was recorded (or why nothing was)."""
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise PublishRefused("--reason must say why this near-copy may be published")
    assert artwork.id is not None
    frame = chosen_frame(session, artwork.id)
    if frame is None:
        raise PublishRefused(f"artwork {artwork.id} has no chosen frame")
    if near_copy_refusal(session, blobs, artwork, frame, thresholds) is None:
        return f"artwork {artwork.id}: the chosen frame is not a flagged near-copy; nothing forced"
    # A flagged near-copy, or a frame this install cannot check: the person takes it on.
    frame.near_copy_override = reason[:2000]
    session.add(frame)
    event = f"near-copy published anyway by a person (iteration {frame.iteration}): {reason}"
    transition(session, artwork, ArtworkState(artwork.state), reason=event[:2000])
    return event
