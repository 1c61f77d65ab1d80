"""chosen → pinned: put the chosen frame's PNG, then its metadata JSON, on IPFS.

Order as NFT practice wants it: the image first, then the metadata that names the image's
CID, then the artwork is `pinned` and its token URI is `ipfs://<metadata cid>` (read by the
marketplace stage from the `pins` table).

Several targets: each gets the image, then the metadata; each answer is a row in `pins` (per
CID and target, with the CID profile). The artwork moves to `pinned` only when every *required*
target confirmed both. A required target that fails records a failed row with the error and
marks the artwork failed in this stage (the daemon retries it; targets that already have the
pins are not asked again). An optional target that fails only keeps its failed row, which
`bot pins verify` repairs later.

Idempotent: both CIDs are computed locally first, with the configured CID profile; a CID the
`pins` table already holds as pinned at a target is not sent there again, and the metadata bytes
are canonical, so a rerun after a crash produces the same CIDs. Network calls happen outside
database transactions. A pin still queued at a pinning service leaves the artwork `chosen`; the
next run (or `bot pins`) picks it up. Input errors mark the artwork failed with a reason that
names it, and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.pipeline.guards import PinPolicy, image_to_pin
from bot.pipeline.pin_provenance import provenance_for
from marketplace.metadata import (
    ArtworkFacts,
    MetadataError,
    SourceNft,
    build_metadata,
    serialize_metadata,
)
from storage.artworks import record_failure, transition
from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.ipfs.pinner import IpfsError, PinOutcome, TargetUnreachable
from storage.ipfs.profiles import CidProfile
from storage.ipfs.records import find_pin, record_failed, record_outcome, token_uri
from storage.ipfs.targets import PinTarget, UnreachableTargets
from storage.ipfs.unixfs import import_bytes, import_file
from storage.models import PIPELINE_ORDER, Artwork, ArtworkState, Listing
from storage.models.frame import Frame
from storage.models.pin import PinKind, PinStatus

log = logging.getLogger(__name__)
# Pinned, or further along: the image and metadata are on IPFS already.
_DONE = frozenset(s.value for s in PIPELINE_ORDER[PIPELINE_ORDER.index(ArtworkState.PINNED) :])


class PinStageError(ValueError):
    """The artwork cannot be pinned (bad input); the message names it and says why."""


@dataclass(frozen=True)
class PinResult:
    artwork_id: int
    state: str
    image_cid: str | None = None
    metadata_cid: str | None = None
    token_uri: str | None = None
    changed: bool = False
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in _DONE


@dataclass(frozen=True)
class _Work:
    image_path: Path
    frame_id: int
    facts: ArtworkFacts


def _chosen_frame(session: Session, artwork_id: int) -> Frame:
    frames = session.exec(
        select(Frame)
        .where(Frame.artwork_id == artwork_id, col(Frame.chosen).is_(True))
        .order_by(col(Frame.id))
    ).all()
    if not frames:
        raise PinStageError(f"artwork {artwork_id} has no chosen frame")
    if len(frames) > 1:
        ids = [frame.id for frame in frames]
        raise PinStageError(f"artwork {artwork_id} has {len(frames)} chosen frames {ids}")
    return frames[0]


def _prepare(
    session: Session,
    artwork: Artwork,
    blobs: BlobStore,
    generator_version: str,
    image_blob: str | None = None,
) -> _Work:
    assert artwork.id is not None
    frame = _chosen_frame(session, artwork.id)
    listing = session.get(Listing, artwork.listing_id)
    if listing is None:
        raise PinStageError(f"artwork {artwork.id}: listing {artwork.listing_id} is missing")
    image_blob = image_blob or frame.blob_sha256  # the upscaled image, when upscaling is on
    path = blobs.path_for(image_blob)
    if not path.is_file():
        raise PinStageError(
            f"artwork {artwork.id}: the chosen frame's PNG {image_blob} is not in the blob store"
        )
    facts = ArtworkFacts(
        artwork_id=artwork.id,
        image_cid="",  # filled in once the image is pinned
        category=artwork.category or listing.title or frame.prompt,
        prompt=frame.prompt,
        seed=frame.seed,
        model=frame.model,
        iteration=frame.iteration,
        source=SourceNft(
            listing.marketplace, listing.item_id, listing.name, listing.creator, listing.title
        ),
        generator_version=generator_version,
        provenance=provenance_for(
            artwork, frame, listing, upscaled=image_blob != frame.blob_sha256
        ),
    )
    assert frame.id is not None
    return _Work(path, frame.id, facts)


def _already_pinned(engine: Engine, cid: str, target: PinTarget, size: int) -> PinOutcome | None:
    with session_scope(engine) as session:
        row = find_pin(session, cid, target.name)
        if row is not None and row.status == PinStatus.PINNED.value:
            return PinOutcome(cid, target.name, PinStatus.PINNED, size=size, profile=row.profile)
    return None


def _fail(engine: Engine, artwork_id: int, reason: str) -> PinResult:
    log.warning("pin stage: %s", reason)
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        record_failure(session, artwork, ArtworkState.PINNED, reason)
        return PinResult(artwork_id, artwork.state, changed=True, detail=reason)


@dataclass(frozen=True)
class _Item:
    """One thing to pin: the image or the metadata, with its locally computed CID."""

    kind: PinKind
    cid: str
    size: int
    add: Callable[[PinTarget], PinOutcome]
    frame_id: int | None = None


def _pin_item(
    engine: Engine,
    target: PinTarget,
    item: _Item,
    *,
    artwork_id: int,
    profile: CidProfile,
    unreachable: UnreachableTargets | None = None,
) -> PinOutcome:
    """Pin one item on one target (unless its row says pinned) and record the answer (a frame's
    row becomes the image's); a failure is recorded as a failed row and raised. A target that
    did not answer a moment ago is not asked (`UnreachableTargets`): a failure too."""
    try:
        outcome = _already_pinned(engine, item.cid, target, item.size)
        if outcome is None:
            down = unreachable.reason(target.name) if unreachable else None
            if down is not None:
                raise TargetUnreachable(f"not sent: it did not answer a moment ago ({down})")
            try:
                outcome = item.add(target)
            except TargetUnreachable as exc:
                if unreachable is not None:
                    unreachable.mark(target.name, exc.reason)
                raise
    except IpfsError as exc:
        with session_scope(engine) as session:
            record_failed(
                session,
                cid=item.cid,
                target=target.name,
                kind=item.kind,
                size=item.size,
                error=str(exc),
                profile=profile.name,
                artwork_id=artwork_id,
                frame_id=item.frame_id,
            )
        raise
    with session_scope(engine) as session:
        record_outcome(
            session,
            outcome,
            kind=item.kind,
            artwork_id=artwork_id,
            frame_id=item.frame_id,
            profile=profile.name,
        )
    return outcome


@dataclass(frozen=True)
class _TargetState:
    target: PinTarget
    failed: bool = False
    detail: str | None = None  # None: image and metadata are pinned there

    @property
    def done(self) -> bool:
        return self.detail is None


def _pin_on_target(
    engine: Engine,
    target: PinTarget,
    items: Sequence[_Item],
    *,
    artwork_id: int,
    profile: CidProfile,
    unreachable: UnreachableTargets | None,
) -> _TargetState:
    """Image, then metadata, on one target (the metadata only once the image is pinned there)."""
    for item in items:
        try:
            outcome = _pin_item(
                engine, target, item, artwork_id=artwork_id, profile=profile,
                unreachable=unreachable,
            )  # fmt: skip
        except IpfsError as exc:
            return _TargetState(target, True, f"{item.kind.value} failed at {target.name}: {exc}")
        if not outcome.pinned:
            why = f"cid {outcome.cid} is {outcome.status.value} at {target.name}; retry later"
            return _TargetState(target, False, why)
    return _TargetState(target)


def pin_artwork(
    engine: Engine,
    artwork_id: int,
    *,
    targets: Sequence[PinTarget],
    blobs: BlobStore,
    profile: CidProfile,
    generator_version: str,
    policy: PinPolicy | None = None,
    unreachable: UnreachableTargets | None = None,
) -> PinResult:
    """Advance one artwork from `chosen` to `pinned` (see the module docstring). Targets in
    `unreachable` are not asked while they are held there; a target that does not answer is
    put there (a batch shares one).

    Raises PublishRefused, changing nothing, when `policy` forbids pinning its image
    (bot.pipeline.guards: smoke-test frames outside dry-run, unforced near-copies)."""
    if not targets:
        raise PinStageError("no pin targets configured")
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None:
            raise PinStageError(f"artwork {artwork_id} does not exist")
        if artwork.state in _DONE:
            return PinResult(artwork_id, artwork.state, token_uri=token_uri(session, artwork_id))
        retry = (
            artwork.state == ArtworkState.FAILED.value
            and artwork.failed_stage == ArtworkState.PINNED.value
        )
        if artwork.state != ArtworkState.CHOSEN.value and not retry:
            raise PinStageError(f"artwork {artwork_id} is {artwork.state}, not chosen")
        image_blob = image_to_pin(session, blobs, artwork, policy or PinPolicy())
        if retry:
            transition(session, artwork, ArtworkState.CHOSEN, reason="retry pinning")
        try:
            work = _prepare(session, artwork, blobs, generator_version, image_blob)
        except PinStageError as exc:
            record_failure(session, artwork, ArtworkState.PINNED, str(exc))
            return PinResult(artwork_id, artwork.state, changed=True, detail=str(exc))

    try:  # both CIDs locally first: the metadata names the image's CID
        local_image = import_file(work.image_path, profile)
        image_cid = str(local_image.cid)
        document = serialize_metadata(build_metadata(replace(work.facts, image_cid=image_cid)))
        metadata_cid = str(import_bytes(document, profile).cid)
    except (MetadataError, OSError) as exc:
        return _fail(engine, artwork_id, f"artwork {artwork_id}: pinning failed: {exc}")
    image_name, metadata_name = f"artwork-{artwork_id}.png", f"artwork-{artwork_id}.json"
    items = (
        _Item(
            PinKind.IMAGE,
            image_cid,
            local_image.file_size,
            lambda t: t.pinner.add_file(work.image_path, profile=profile, name=image_name),
            frame_id=work.frame_id,
        ),
        _Item(
            PinKind.METADATA,
            metadata_cid,
            len(document),
            lambda t: t.pinner.add_bytes(document, profile=profile, name=metadata_name),
        ),
    )
    states = [
        _pin_on_target(
            engine, target, items, artwork_id=artwork_id, profile=profile, unreachable=unreachable
        )
        for target in targets
    ]
    errors = [s.detail for s in states if s.target.required and s.failed and s.detail]
    waiting = [s.detail for s in states if s.target.required and not s.failed and s.detail]
    optional = [s.detail for s in states if not s.target.required and s.detail]
    for why in optional:
        log.warning("pin stage: artwork %s: optional target: %s", artwork_id, why)
    if errors:
        reason = f"artwork {artwork_id}: pinning failed: {'; '.join(errors)}"
        return _fail(engine, artwork_id, reason)

    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        if waiting:
            return PinResult(
                artwork_id,
                artwork.state,
                image_cid,
                metadata_cid,
                detail="; ".join(waiting),
                changed=True,
            )
        changed = transition(session, artwork, ArtworkState.PINNED)
        return PinResult(
            artwork_id,
            artwork.state,
            image_cid,
            metadata_cid,
            token_uri=f"ipfs://{metadata_cid}",
            changed=changed,
            detail="; ".join(optional) or None,
        )


def chosen_artwork_ids(session: Session) -> list[int]:
    """Artworks waiting for this stage, oldest first."""
    rows = session.exec(
        select(Artwork.id)
        .where(Artwork.state == ArtworkState.CHOSEN.value)
        .order_by(col(Artwork.id))
    ).all()
    return [int(row) for row in rows if row is not None]
