"""Progress-loss protection: pin every generated frame as it is written, unpin the rest later.

The seed uploaded every output to the cloud so that a crash lost nothing; with
`BOT_IPFS_PIN_FRAMES` the generator's frame writer calls the hook made here after each frame
row is committed. Once an artwork is published, the frames not chosen are unpinned (and, for
the local blockstore, their blocks are collected).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.pinner import IpfsError, Pinner, PinOutcome
from storage.ipfs.records import find_pin, record_failed, record_outcome
from storage.ipfs.unixfs import import_file
from storage.models.frame import Frame
from storage.models.pin import Pin, PinKind, PinStatus
from storage.types import utcnow

log = logging.getLogger(__name__)


def make_frame_pin_hook(
    engine: Engine, pinner: Pinner, blobs: BlobStore, *, cid_version: int = 1
) -> Callable[[Frame], None]:
    """`on_frame_saved` for the frame writer: pin the frame's PNG, record a `frame` pin.

    A failure is recorded as a failed pin row and re-raised, so the writer counts it; the
    generation itself goes on.
    """

    def on_frame_saved(frame: Frame) -> None:
        path = blobs.path_for(frame.blob_sha256)
        local = import_file(path, cid_version=cid_version)
        cid = str(local.cid)
        with session_scope(engine) as session:
            existing = find_pin(session, cid, pinner.name)
            if existing is not None and existing.status == PinStatus.PINNED.value:
                return
        try:
            outcome: PinOutcome = pinner.add_file(
                path,
                cid_version=cid_version,
                name=f"artwork-{frame.artwork_id}-frame-{frame.iteration}.png",
            )
        except IpfsError as exc:
            with session_scope(engine) as session:
                record_failed(
                    session,
                    cid=cid,
                    pinner=pinner.name,
                    kind=PinKind.FRAME,
                    size=local.file_size,
                    error=str(exc),
                    artwork_id=frame.artwork_id,
                    frame_id=frame.id,
                )
            raise
        with session_scope(engine) as session:
            record_outcome(
                session,
                outcome,
                kind=PinKind.FRAME,
                artwork_id=frame.artwork_id,
                frame_id=frame.id,
            )

    return on_frame_saved


def unpin_unchosen_frames(session: Session, pinner: Pinner, artwork_id: int) -> int:
    """Unpin the artwork's frame pins whose frame was not chosen; returns how many.

    The chosen frame's pin has become the `image` pin and is kept. A frame that fails to
    unpin keeps its status, with the error on the row, and the others go on.
    """
    rows = session.exec(
        select(Pin, Frame)
        .join(Frame, Frame.id == Pin.frame_id)  # type: ignore[arg-type]
        .where(
            Pin.artwork_id == artwork_id,
            Pin.kind == PinKind.FRAME.value,
            Pin.pinner == pinner.name,
            Pin.status != PinStatus.UNPINNED.value,
        )
    ).all()
    unpinned = 0
    for pin, frame in rows:
        if frame.chosen:
            continue
        try:
            pinner.unpin(pin.cid, request_id=pin.request_id)
        except IpfsError as exc:
            pin.error = str(exc)[:4000]
            log.warning("unpinning frame %s of artwork %s failed: %s", frame.id, artwork_id, exc)
        else:
            pin.status = PinStatus.UNPINNED.value
            pin.error = None
            unpinned += 1
        pin.updated_at = utcnow()
        session.add(pin)
    session.flush()
    blockstore = (
        pinner if isinstance(pinner, LocalBlockstore) else getattr(pinner, "blockstore", None)
    )
    if unpinned and isinstance(blockstore, LocalBlockstore):
        blockstore.gc()
    return unpinned
