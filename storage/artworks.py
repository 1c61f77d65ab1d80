"""Artwork state changes that leave an audit trail (the `artwork_events` table).

Several processes may work on one artwork (the daemon and a manual command, two publishers), so
a state change is a compare-and-set: it applies only if the artwork is still in the state this
process read; otherwise `StaleState` is raised (a transition) or nothing is recorded (a
failure). A failure never moves an artwork back past a stage it has completed: a failed mint
reported by one process after another process listed the artwork changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from storage.models import PIPELINE_ORDER, Artwork, ArtworkEvent, ArtworkState, IllegalTransition
from storage.types import utcnow

log = logging.getLogger(__name__)


class StaleState(IllegalTransition):
    """The artwork changed state since this process read it (another process moved it)."""

    def __init__(self, artwork_id: int | None, read: str, target: str) -> None:
        ValueError.__init__(
            self,
            f"artwork {artwork_id}: another process moved it from {read} before it could go to"
            f" {target}; left as that process left it",
        )


def _compare_and_set_state(session: Session, artwork: Artwork, read: str, target: str) -> bool:
    """Write `target` only if the row still holds the state read: one UPDATE, atomic on every
    engine (the row stays locked, SQLite's whole database, until this transaction ends)."""
    result = session.execute(
        update(Artwork)
        .where(col(Artwork.id) == artwork.id, col(Artwork.state) == read)
        .values(state=target)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def transition(
    session: Session, artwork: Artwork, target: ArtworkState, *, reason: str | None = None
) -> bool:
    """Move `artwork` to `target` and record the event. Returns False if it was already there;
    raises IllegalTransition if the state machine forbids it and StaleState if another process
    changed the artwork's state since it was read."""
    before = artwork.state
    if before == target.value and artwork.reason == reason:
        return False
    artwork.check_move(target)
    if artwork.id is not None and before != target.value:
        session.flush()  # whatever the caller changed goes first, then the compare-and-set
        if not _compare_and_set_state(session, artwork, before, target.value):
            session.refresh(artwork)
            raise StaleState(artwork.id, before, target.value)
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


def failure_applies(artwork: Artwork, stage: ArtworkState) -> bool:
    """A failure of `stage` concerns an artwork still before or in that stage (or failed there
    or earlier). One that has moved past it, such as a listed or sold artwork, keeps its state."""
    position = PIPELINE_ORDER.index(stage)
    if artwork.state == ArtworkState.FAILED.value:
        failed = artwork.failed_stage
        return failed is None or PIPELINE_ORDER.index(ArtworkState(failed)) <= position
    if artwork.state == ArtworkState.REJECTED.value:
        return False
    return PIPELINE_ORDER.index(ArtworkState(artwork.state)) <= position


def record_failure(session: Session, artwork: Artwork, stage: ArtworkState, error: str) -> bool:
    """Record that `stage` failed. An artwork already failed keeps its first failed stage
    and gets the new error and one more attempt, without another event.

    Returns False, recording nothing, when the failure is stale: the artwork has moved past
    `stage` (another process finished it). The write is a compare-and-set on the state read,
    retried on a fresh read when another process changed it in between."""
    session.flush()
    for _ in range(5):
        if not failure_applies(artwork, stage):
            log.info(
                "artwork %s: %s failure not recorded, it is %s now: %s",
                artwork.id,
                stage.value,
                artwork.state,
                error,
            )
            return False
        read_state, read_stage = artwork.state, artwork.failed_stage
        now = utcnow()
        values: dict[str, Any] = {
            "error": error[:4000],
            "attempts": col(Artwork.attempts) + 1,
            "updated_at": now,
        }
        if read_state != ArtworkState.FAILED.value:
            values.update(
                state=ArtworkState.FAILED.value,
                reason=f"{stage.value} failed",
                failed_stage=stage.value,
                state_changed_at=now,
            )
        result = session.execute(
            update(Artwork)
            .where(
                col(Artwork.id) == artwork.id,
                col(Artwork.state) == read_state,
                col(Artwork.failed_stage).is_not_distinct_from(read_stage),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        session.refresh(artwork)
        if result.rowcount:  # type: ignore[attr-defined]
            if read_state != ArtworkState.FAILED.value:
                session.add(
                    ArtworkEvent(
                        artwork_id=artwork.id or 0,
                        from_state=read_state,
                        to_state=artwork.state,
                        reason=artwork.reason,
                    )
                )
            return True
    return False


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
