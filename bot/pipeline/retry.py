"""Uniform failure handling: when a failed artwork is tried again, when it is parked for a
person, and what `bot failed` / `bot retry` show and do.

A stage that fails records it on the artwork (`state=failed`, `failed_stage`, `error`,
`attempts + 1`). After each pass the runner schedules the retry: `next_attempt_at = now +
backoff(attempts)`, doubling from BOT_RETRY_BACKOFF_S up to BOT_RETRY_BACKOFF_MAX_S. An artwork
that failed BOT_RETRY_MAX_ATTEMPTS times in one stage is parked: the pipeline leaves it alone
until a person runs `bot retry` (which resets the count and the backoff, recorded in the event
log). `attempts` counts the failures of the stage the artwork is in: a stage that succeeds
hands the next stage a fresh count (storage/models/artwork.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Artwork, ArtworkEvent, ArtworkState
from storage.types import utcnow


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 60.0
    backoff_max_s: float = 21_600.0

    def delay_s(self, attempts: int) -> float:
        """Wait after the `attempts`-th failure: backoff_s, 2x, 4x, ... capped."""
        exponent = min(max(attempts - 1, 0), 60)
        return float(min(self.backoff_s * 2**exponent, self.backoff_max_s))

    def parked(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def due_condition(
    entry: Sequence[ArtworkState], failed_as: ArtworkState, policy: RetryPolicy, now: datetime
) -> ColumnElement[bool]:
    """SQL: the artwork waits for this stage: in an entry state, or failed in it, not parked,
    and its retry time has come."""
    retry = and_(
        col(Artwork.state) == ArtworkState.FAILED.value,
        col(Artwork.failed_stage) == failed_as.value,
        col(Artwork.attempts) < policy.max_attempts,
        or_(col(Artwork.next_attempt_at).is_(None), col(Artwork.next_attempt_at) <= now),
    )
    return or_(col(Artwork.state).in_([s.value for s in entry]), retry)


# How a policy refusal's error starts: it is parked at once for a person, never retried.
REFUSED = "refused: "


@dataclass(frozen=True)
class FailedArtwork:
    artwork_id: int
    stage: str
    error: str
    attempts: int
    next_attempt_at: datetime | None  # None: parked, waits for `bot retry`
    failed_at: datetime

    @property
    def parked(self) -> bool:
        return self.next_attempt_at is None

    @property
    def refused(self) -> bool:
        """Parked at once by a policy refusal: its attempt count means nothing."""
        return self.error.startswith(REFUSED)


def schedule(artwork: Artwork, policy: RetryPolicy, now: datetime | None = None) -> bool:
    """Set the failed artwork's next attempt (or park it: None). True when it is parked."""
    moment = now or utcnow()
    if policy.parked(artwork.attempts):
        artwork.next_attempt_at = None
        return True
    artwork.next_attempt_at = moment + timedelta(seconds=policy.delay_s(artwork.attempts))
    return False


def failed_artworks(engine: Engine, policy: RetryPolicy) -> list[FailedArtwork]:
    """Every failed artwork, parked ones first, then by next retry."""
    with session_scope(engine) as session:
        rows = session.exec(select(Artwork).where(Artwork.state == ArtworkState.FAILED.value)).all()
        found = [
            FailedArtwork(
                artwork_id=row.id or 0,
                stage=row.failed_stage or "?",
                error=row.error or "",
                attempts=row.attempts,
                next_attempt_at=None
                if policy.parked(row.attempts)
                else (row.next_attempt_at or row.state_changed_at),
                failed_at=row.state_changed_at,
            )
            for row in rows
        ]
    far = utcnow() + timedelta(days=36500)
    return sorted(found, key=lambda f: (not f.parked, f.next_attempt_at or far, f.artwork_id))


@dataclass(frozen=True)
class RetryOutcome:
    artwork_id: int
    ok: bool
    detail: str


def retry_now(engine: Engine, artwork_ids: Sequence[int] | None) -> list[RetryOutcome]:
    """A person's `bot retry`: the failed artworks (all of them, or these) are due again with
    a fresh count; the reset is recorded in the event log. Non-failed ones are reported."""
    outcomes: list[RetryOutcome] = []
    now = utcnow()
    with session_scope(engine) as session:
        if artwork_ids is None:
            rows = list(
                session.exec(
                    select(Artwork)
                    .where(Artwork.state == ArtworkState.FAILED.value)
                    .order_by(col(Artwork.id))
                ).all()
            )
        else:
            rows = []
            for artwork_id in artwork_ids:
                artwork = session.get(Artwork, artwork_id)
                if artwork is None:
                    outcomes.append(RetryOutcome(artwork_id, False, "no such artwork"))
                elif artwork.state != ArtworkState.FAILED.value:
                    outcomes.append(
                        RetryOutcome(artwork_id, False, f"is {artwork.state}, not failed")
                    )
                else:
                    rows.append(artwork)
        for artwork in rows:
            before = artwork.attempts
            artwork.attempts = 0
            artwork.next_attempt_at = now
            artwork.updated_at = now
            session.add(artwork)
            reason = (
                f"retry requested: backoff reset after {before} failed attempt(s) of "
                f"{artwork.failed_stage}"
            )
            session.add(
                ArtworkEvent(
                    artwork_id=artwork.id or 0,
                    from_state=artwork.state,
                    to_state=artwork.state,
                    reason=reason,
                )
            )
            outcomes.append(
                RetryOutcome(artwork.id or 0, True, f"{artwork.failed_stage} retried next pass")
            )
    return sorted(outcomes, key=lambda o: o.artwork_id)
