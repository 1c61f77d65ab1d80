"""Artwork state changes that leave an audit trail (the `artwork_events` table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, func, select

from storage.models import Artwork, ArtworkEvent, ArtworkState
from storage.types import utcnow


def transition(
    session: Session, artwork: Artwork, target: ArtworkState, *, reason: str | None = None
) -> bool:
    """Move `artwork` to `target` and record the event. Returns False if it was already there."""
    before = artwork.state
    if before == target.value and artwork.reason == reason:
        return False
    artwork.move_to(target, reason=reason)
    _record_event(session, artwork, before, reason)
    return True


def create_artwork(
    session: Session,
    *,
    listing_id: int,
    state: ArtworkState = ArtworkState.CANDIDATE,
    reason: str | None = None,
    **fields: Any,
) -> Artwork:
    """A new artwork in `state` (candidate or rejected), with its first event recorded."""
    if state not in (ArtworkState.CANDIDATE, ArtworkState.REJECTED):
        raise ValueError(f"a new artwork starts as candidate or rejected, not {state.value}")
    artwork = Artwork(listing_id=listing_id, state=state.value, reason=reason, **fields)
    _record_event(session, artwork, None, reason)
    return artwork


def record_failure(session: Session, artwork: Artwork, stage: ArtworkState, error: str) -> None:
    """Record that `stage` failed. An artwork already failed keeps its first failed stage
    and gets the new error and one more attempt, without another event."""
    if artwork.state == ArtworkState.FAILED.value:
        artwork.error = error[:4000]
        artwork.attempts += 1
        session.add(artwork)
        return
    before = artwork.state
    artwork.fail(stage, error)
    _record_event(session, artwork, before, artwork.reason)


def record_note(session: Session, artwork: Artwork, note: str) -> None:
    """An event without a state change (a person's override, a new category on a re-run)."""
    artwork.updated_at = utcnow()
    _record_event(session, artwork, artwork.state, note)


def _record_event(
    session: Session, artwork: Artwork, before: str | None, reason: str | None
) -> None:
    session.add(artwork)
    session.flush()  # assigns the id of a new artwork
    assert artwork.id is not None
    session.add(
        ArtworkEvent(
            artwork_id=artwork.id, from_state=before, to_state=artwork.state, reason=reason
        )
    )


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Artwork.state, func.count(col(Artwork.id))).group_by(Artwork.state)
    ).all()
    return {state: int(count) for state, count in rows}


def artwork_ids(
    session: Session,
    state: ArtworkState,
    *,
    only: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[int]:
    """Ids of the artworks in `state` (or exactly `only`, whatever their state: the stage
    decides), best curation rank first, unranked last."""
    query = select(Artwork.id)
    if only:
        query = query.where(col(Artwork.id).in_(list(only)))
    else:
        query = query.where(Artwork.state == state.value)
    query = query.order_by(col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id))
    if limit:
        query = query.limit(limit)
    return [int(i) for i in session.exec(query).all() if i is not None]
