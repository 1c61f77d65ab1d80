"""Progress-loss protection: pin every generated frame as it is written, unpin the rest later.

The seed uploaded every output to the cloud so that a crash lost nothing; with
`BOT_IPFS_PIN_FRAMES` the generator's frame writer calls the hook made here after each frame
row is committed. Once an artwork is published, the frames not chosen are unpinned (and, for
the local blockstore, their blocks are collected).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.pinner import IpfsError, PinOutcome
from storage.ipfs.profiles import LEGACY_V1, CidProfile
from storage.ipfs.records import find_pin, record_failed, record_outcome
from storage.ipfs.targets import PinTarget
from storage.ipfs.unixfs import import_file
from storage.models.frame import Frame
from storage.models.pin import Pin, PinKind, PinStatus
from storage.types import utcnow

log = logging.getLogger(__name__)


def make_frame_pin_hook(
    engine: Engine,
    targets: Sequence[PinTarget],
    blobs: BlobStore,
    *,
    profile: CidProfile = LEGACY_V1,
) -> Callable[[Frame], None]:
    """`on_frame_saved` for the frame writer: pin the frame's PNG on every required target,
    record a `frame` pin per target (optional targets are left out: frames are insurance, not
    publications).

    A failure is recorded as a failed pin row and re-raised (after the other targets were
    tried), so the writer counts it; the generation itself goes on.
    """
    required = [target for target in targets if target.required]

    def on_frame_saved(frame: Frame) -> None:
        path = blobs.path_for(frame.blob_sha256)
        local = import_file(path, profile)
        cid = str(local.cid)
        first_error: IpfsError | None = None
        for target in required:
            with session_scope(engine) as session:
                existing = find_pin(session, cid, target.name)
                if existing is not None and existing.status == PinStatus.PINNED.value:
                    continue
            try:
                outcome: PinOutcome = target.pinner.add_file(
                    path,
                    profile=profile,
                    name=f"artwork-{frame.artwork_id}-frame-{frame.iteration}.png",
                )
            except IpfsError as exc:
                first_error = first_error or exc
                with session_scope(engine) as session:
                    record_failed(
                        session,
                        cid=cid,
                        target=target.name,
                        kind=PinKind.FRAME,
                        size=local.file_size,
                        error=str(exc),
                        profile=profile.name,
                        artwork_id=frame.artwork_id,
                        frame_id=frame.id,
                    )
                continue
            with session_scope(engine) as session:
                record_outcome(
                    session,
                    outcome,
                    kind=PinKind.FRAME,
                    artwork_id=frame.artwork_id,
                    frame_id=frame.id,
                    profile=profile.name,
                )
        if first_error is not None:
            raise first_error

    return on_frame_saved


def unpin_unchosen_frames(session: Session, targets: Sequence[PinTarget], artwork_id: int) -> int:
    """Unpin the artwork's frame pins whose frame was not chosen, on every configured target
    that holds one; returns how many rows were unpinned.

    The chosen frame's pins have become `image` pins and are kept. A frame that fails to
    unpin keeps its status, with the error on the row, and the others go on. A row of a target
    that is no longer configured is left as it is.
    """
    by_name = {target.name: target for target in targets}
    rows = session.exec(
        select(Pin, Frame)
        .join(Frame, Frame.id == Pin.frame_id)  # type: ignore[arg-type]
        .where(
            Pin.artwork_id == artwork_id,
            Pin.kind == PinKind.FRAME.value,
            col(Pin.target).in_(list(by_name)),
            Pin.status != PinStatus.UNPINNED.value,
        )
    ).all()
    unpinned = 0
    for pin, frame in rows:
        if frame.chosen:
            continue
        try:
            by_name[pin.target].pinner.unpin(pin.cid, request_id=pin.request_id)
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
    for target in targets:  # collect the local blocks nothing pins any more
        pinner = target.pinner
        blockstore = (
            pinner if isinstance(pinner, LocalBlockstore) else getattr(pinner, "blockstore", None)
        )
        if unpinned and isinstance(blockstore, LocalBlockstore):
            blockstore.gc()
            break
    return unpinned
