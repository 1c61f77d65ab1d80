"""chosen → pinned: put the chosen frame's PNG, then its metadata JSON, on IPFS.

Order as NFT practice wants it: the image first, then the metadata that names the image's
CID, then the artwork is `pinned` and its token URI is `ipfs://<metadata cid>` (read by the
marketplace stage from the `pins` table).

Idempotent: both CIDs are computed locally first; a CID the `pins` table already holds as
pinned by this pinner is not sent again, and the metadata bytes are canonical, so a rerun after
a crash produces the same CIDs. Network calls happen outside database transactions.
A pin still queued at a pinning service leaves the artwork `chosen`; the next run (or
`bot pins`) picks it up. Any IPFS or input error marks the artwork failed in this stage, with
a reason that names the artwork, and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

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
from storage.ipfs.pinner import IpfsError, Pinner, PinOutcome
from storage.ipfs.records import find_pin, record_outcome, token_uri
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


def _prepare(session: Session, artwork: Artwork, blobs: BlobStore, generator_version: str) -> _Work:
    assert artwork.id is not None
    frame = _chosen_frame(session, artwork.id)
    listing = session.get(Listing, artwork.listing_id)
    if listing is None:
        raise PinStageError(f"artwork {artwork.id}: listing {artwork.listing_id} is missing")
    path = blobs.path_for(frame.blob_sha256)
    if not path.is_file():
        raise PinStageError(
            f"artwork {artwork.id}: the chosen frame's PNG {frame.blob_sha256} is not in the "
            "blob store"
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
    )
    assert frame.id is not None
    return _Work(path, frame.id, facts)


def _already_pinned(engine: Engine, cid: str, pinner: Pinner, size: int) -> PinOutcome | None:
    with session_scope(engine) as session:
        row = find_pin(session, cid, pinner.name)
        if row is not None and row.status == PinStatus.PINNED.value:
            return PinOutcome(cid, pinner.name, PinStatus.PINNED, size=size)
    return None


def _fail(engine: Engine, artwork_id: int, reason: str) -> PinResult:
    log.warning("pin stage: %s", reason)
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        record_failure(session, artwork, ArtworkState.PINNED, reason)
        return PinResult(artwork_id, artwork.state, changed=True, detail=reason)


def pin_artwork(
    engine: Engine,
    artwork_id: int,
    *,
    pinner: Pinner,
    blobs: BlobStore,
    cid_version: int,
    generator_version: str,
) -> PinResult:
    """Advance one artwork from `chosen` to `pinned` (see the module docstring)."""
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
        if retry:
            transition(session, artwork, ArtworkState.CHOSEN, reason="retry pinning")
        try:
            work = _prepare(session, artwork, blobs, generator_version)
        except PinStageError as exc:
            record_failure(session, artwork, ArtworkState.PINNED, str(exc))
            return PinResult(artwork_id, artwork.state, changed=True, detail=str(exc))

    try:
        local_image = import_file(work.image_path, cid_version=cid_version)
        image_cid = str(local_image.cid)
        image = _already_pinned(engine, image_cid, pinner, local_image.file_size) or (
            pinner.add_file(
                work.image_path, cid_version=cid_version, name=f"artwork-{artwork_id}.png"
            )
        )
        with session_scope(engine) as session:
            record_outcome(
                session, image, kind=PinKind.IMAGE, artwork_id=artwork_id, frame_id=work.frame_id
            )
        facts = replace(work.facts, image_cid=image.cid)
        document = serialize_metadata(build_metadata(facts))
        metadata_cid = str(import_bytes(document, cid_version=cid_version).cid)
        metadata = _already_pinned(engine, metadata_cid, pinner, len(document)) or (
            pinner.add_bytes(document, cid_version=cid_version, name=f"artwork-{artwork_id}.json")
        )
        with session_scope(engine) as session:
            record_outcome(session, metadata, kind=PinKind.METADATA, artwork_id=artwork_id)
    except (IpfsError, MetadataError, OSError) as exc:
        return _fail(engine, artwork_id, f"artwork {artwork_id}: pinning failed: {exc}")

    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        if not (image.pinned and metadata.pinned):
            waiting = image if not image.pinned else metadata
            detail = f"cid {waiting.cid} is {waiting.status.value} at {pinner.name}; retry later"
            return PinResult(
                artwork_id, artwork.state, image.cid, metadata.cid, detail=detail, changed=True
            )
        changed = transition(session, artwork, ArtworkState.PINNED)
        return PinResult(
            artwork_id,
            artwork.state,
            image.cid,
            metadata.cid,
            token_uri=f"ipfs://{metadata.cid}",
            changed=changed,
        )


def chosen_artwork_ids(session: Session) -> list[int]:
    """Artworks waiting for this stage, oldest first."""
    rows = session.exec(
        select(Artwork.id)
        .where(Artwork.state == ArtworkState.CHOSEN.value)
        .order_by(col(Artwork.id))
    ).all()
    return [int(row) for row in rows if row is not None]
