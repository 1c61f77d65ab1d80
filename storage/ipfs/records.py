"""Rows of the `pins` table: one per (CID, pin target), updated in place.

Recording the same CID with the same target again updates that row, so pinning the same bytes
twice never adds a row. Each row keeps the CID profile that made its CID (a row is never
inserted without one). A frame that later becomes the artwork's image keeps its row, whose
kind is raised from `frame` to `image` (and so is never unpinned as an unchosen frame).

The token URI of an artwork is `ipfs://<cid>` of its pinned metadata row; the marketplace
reads it from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.ipfs.pinner import Pinner, PinOutcome
from storage.models.pin import Pin, PinKind, PinStatus
from storage.types import utcnow

_KIND_RANK = {PinKind.FRAME.value: 0, PinKind.IMAGE.value: 1, PinKind.METADATA.value: 1}


def find_pin(session: Session, cid: str, target: str) -> Pin | None:
    return session.exec(select(Pin).where(Pin.cid == cid, Pin.target == target)).first()


def record_outcome(
    session: Session,
    outcome: PinOutcome,
    *,
    kind: PinKind,
    artwork_id: int | None = None,
    frame_id: int | None = None,
    profile: str | None = None,
    checked: bool = False,
) -> Pin:
    """Insert or update the (cid, target) row. The profile comes from the outcome or `profile`
    (a new row needs one); `checked` stamps `checked_at` (a verification read it back)."""
    error = outcome.detail if outcome.status is PinStatus.FAILED else None
    made_with = outcome.profile or profile
    row = find_pin(session, outcome.cid, outcome.target)
    if row is None:
        if made_with is None:
            raise ValueError(f"pin {outcome.cid} at {outcome.target}: no CID profile to record")
        row = Pin(
            cid=outcome.cid,
            kind=kind.value,
            artwork_id=artwork_id,
            frame_id=frame_id,
            size=outcome.size or 0,
            target=outcome.target,
            profile=made_with,
            status=outcome.status.value,
            request_id=outcome.request_id,
            error=error,
            checked_at=utcnow() if checked else None,
        )
        try:
            with session.begin_nested():  # another process may insert the same (cid, target)
                session.add(row)
            return row
        except IntegrityError:
            row = find_pin(session, outcome.cid, outcome.target)
            if row is None:
                raise
    if _KIND_RANK[kind.value] > _KIND_RANK.get(row.kind, 0):
        row.kind = kind.value
    row.artwork_id = row.artwork_id or artwork_id
    row.frame_id = row.frame_id or frame_id
    row.size = outcome.size if outcome.size is not None else row.size
    row.status = outcome.status.value
    row.request_id = outcome.request_id or row.request_id
    row.error = error
    row.updated_at = utcnow()
    if checked:
        row.checked_at = row.updated_at
    session.add(row)
    session.flush()
    return row


def record_failed(
    session: Session,
    *,
    cid: str,
    target: str,
    kind: PinKind,
    size: int,
    error: str,
    profile: str,
    artwork_id: int | None = None,
    frame_id: int | None = None,
    checked: bool = False,
) -> Pin:
    """Keep a trace of a pin that did not happen (the CID was computed locally)."""
    outcome = PinOutcome(cid, target, PinStatus.FAILED, size=size, detail=error[:4000])
    return record_outcome(
        session,
        outcome,
        kind=kind,
        artwork_id=artwork_id,
        frame_id=frame_id,
        profile=profile,
        checked=checked,
    )


def token_uri(session: Session, artwork_id: int) -> str | None:
    """`ipfs://<metadata cid>` once the artwork's metadata is pinned, else None."""
    row = session.exec(
        select(Pin)
        .where(
            Pin.artwork_id == artwork_id,
            Pin.kind == PinKind.METADATA.value,
            Pin.status == PinStatus.PINNED.value,
        )
        .order_by(col(Pin.id))
    ).first()
    return f"ipfs://{row.cid}" if row else None


def list_pins(
    session: Session,
    *,
    artwork_id: int | None = None,
    kinds: Sequence[PinKind] = (),
    target: str | None = None,
    statuses: Sequence[PinStatus] = (),
) -> list[Pin]:
    query = select(Pin)
    if artwork_id is not None:
        query = query.where(Pin.artwork_id == artwork_id)
    if kinds:
        query = query.where(col(Pin.kind).in_([kind.value for kind in kinds]))
    if target is not None:
        query = query.where(Pin.target == target)
    if statuses:
        query = query.where(col(Pin.status).in_([status.value for status in statuses]))
    return list(session.exec(query.order_by(col(Pin.id))).all())


def recheck(session: Session, row: Pin, pinner: Pinner) -> Pin:
    """Ask the target again and store what it says now (errors are stored, not raised)."""
    from storage.ipfs.pinner import IpfsError

    if row.target != pinner.name:
        raise ValueError(f"pin {row.cid} belongs to target {row.target}, not {pinner.name}")
    if row.status == PinStatus.UNPINNED.value:
        return row
    try:
        outcome = pinner.status(row.cid, request_id=row.request_id)
    except IpfsError as exc:
        row.error = str(exc)[:4000]
        row.updated_at = utcnow()
        session.add(row)
        return row
    row.status = outcome.status.value
    row.request_id = outcome.request_id or row.request_id
    row.error = outcome.detail if outcome.status is PinStatus.FAILED else None
    row.updated_at = utcnow()
    session.add(row)
    return row
