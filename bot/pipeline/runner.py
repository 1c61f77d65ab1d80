"""The one loop that drives every stage: due artworks, leases, retries, parking, progress.

For each stage in order (bot/pipeline/stages.py), one pass:
1. `available()`: a stage that cannot run with this configuration is reported and skipped;
   the others go on.
2. Lease up to a batch of due artworks (storage/leases.py): those in the stage's entry states,
   and those that failed in it whose retry time has come and that are not parked. A failed
   artwork is moved back to the stage's entry state first (the move and its reason are in
   the event log), except by the mint and list stages, which resume a failed artwork
   themselves after looking it up on the marketplace (write-intent, act, reconcile).
3. `advance()` under the leases, renewed in the background while it runs; one artwork's
   unexpected error is recorded on that artwork, never on the batch.
4. Each artwork that failed in this pass gets its next attempt (exponential backoff) or is
   parked for a person after BOT_RETRY_MAX_ATTEMPTS failures (`on_parked` hooks run).
5. The leases are released.

A `StoreError` (damaged, read-only, full, unreachable store) stops the pass: every artwork
would fail the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from bot.pipeline.context import PipelineContext, StageUnavailable
from bot.pipeline.retry import FailedArtwork, due_condition, schedule
from bot.pipeline.stages import Stage, default_stages, record_unexpected
from storage import leases
from storage.artworks import transition
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import Artwork, ArtworkState
from storage.types import utcnow

log = logging.getLogger(__name__)
S = ArtworkState
IN_FLIGHT = (S.MINTING, S.LISTING)


@dataclass
class StageReport:
    name: str
    skipped: str | None = None  # why the stage could not run
    advanced: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # failed now, retried later
    parked: dict[int, str] = field(default_factory=dict)  # failed for the last time
    waiting: list[int] = field(default_factory=list)  # taken, nothing changed (e.g. queued)

    @property
    def taken(self) -> int:
        return len(self.advanced) + len(self.failed) + len(self.parked) + len(self.waiting)


@dataclass
class PassReport:
    stages: list[StageReport] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(len(s.failed) + len(s.parked) for s in self.stages)

    @property
    def advanced(self) -> int:
        return sum(len(s.advanced) for s in self.stages)


@contextmanager
def _kept_alive(ctx: PipelineContext, artwork_ids: Sequence[int]) -> Iterator[None]:
    """Renew the leases every third of their TTL while the stage works on them."""
    ttl = ctx.settings.lease_ttl_s
    done = threading.Event()

    def renew() -> None:
        while not done.wait(max(ttl / 3, 0.5)):
            try:
                held = leases.renew(ctx.engine, ctx.owner, artwork_ids, ttl)
            except Exception:  # the store is unreachable: the stage itself will find out
                log.warning("renewing the leases on %s failed", list(artwork_ids), exc_info=True)
                continue
            lost = set(artwork_ids) - held
            if lost:
                log.error("leases lost on artworks %s (expired and taken over)", sorted(lost))

    thread = threading.Thread(target=renew, name="lease-renewer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _any(ctx: PipelineContext, where: Sequence[ColumnElement[bool]]) -> bool:
    with ctx.engine.connect() as connection:
        return connection.execute(select(Artwork.id).where(*where).limit(1)).first() is not None


def _snapshot(ctx: PipelineContext, artwork_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    with session_scope(ctx.engine) as session:
        rows = session.exec(
            select(Artwork.id, Artwork.state, Artwork.attempts).where(
                col(Artwork.id).in_(list(artwork_ids))
            )
        ).all()
    return {int(i): (str(state), int(attempts)) for i, state, attempts in rows if i is not None}


def _back_to_entry(ctx: PipelineContext, stage: Stage, artwork_ids: Sequence[int]) -> None:
    """Failed artworks due for a retry go back to the stage's entry state (recorded)."""
    with session_scope(ctx.engine) as session:
        for artwork_id in artwork_ids:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None or artwork.state != S.FAILED.value:
                continue
            reason = f"retry {artwork.attempts + 1} of {stage.name} after: {artwork.error}"
            transition(session, artwork, stage.entry[0], reason=reason[:4000])


def _settle(
    ctx: PipelineContext,
    stage: Stage,
    before: dict[int, tuple[str, int]],
    report: StageReport,
) -> list[FailedArtwork]:
    """Classify what the pass did to each artwork; schedule or park the new failures."""
    policy = ctx.policy
    parked: list[FailedArtwork] = []
    now = utcnow()
    with session_scope(ctx.engine) as session:
        for artwork_id, (state_before, attempts_before) in before.items():
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                continue
            if artwork.state == S.FAILED.value and artwork.attempts > attempts_before:
                if schedule(artwork, policy, now):
                    report.parked[artwork_id] = artwork.error or ""
                    parked.append(
                        FailedArtwork(
                            artwork_id,
                            artwork.failed_stage or stage.failed_as.value,
                            artwork.error or "",
                            artwork.attempts,
                            None,
                            now,
                        )
                    )
                else:
                    report.failed[artwork_id] = artwork.error or ""
                session.add(artwork)
            elif artwork.state != S.FAILED.value and stage.has_advanced(artwork, state_before):
                report.advanced.append(artwork_id)
            else:
                report.waiting.append(artwork_id)
    return parked


def run_stage(
    stage: Stage,
    ctx: PipelineContext,
    *,
    only_states: Sequence[ArtworkState] | None = None,
    artwork_ids: Sequence[int] | None = None,
) -> StageReport:
    """One pass of `stage` over its due artworks (or those in `only_states`, or exactly
    `artwork_ids` when they are due)."""
    report = StageReport(stage.name)
    if not stage.enabled(ctx):
        return report
    due: ColumnElement[bool]
    if only_states is not None:
        due = col(Artwork.state).in_([s.value for s in only_states])
    else:
        due = due_condition(stage.entry, stage.failed_as, ctx.policy, utcnow())
    where = [due, *stage.due_filter(ctx)]
    if artwork_ids is not None:
        where.append(col(Artwork.id).in_(list(artwork_ids)))
    if not stage.has_housekeeping and not _any(ctx, where):
        return report  # nothing due: not even the cost of checking what the stage needs
    try:
        stage.available(ctx)
    except StageUnavailable as exc:
        report.skipped = str(exc)
        return report
    try:
        stage.housekeeping(ctx)
    except StoreError:
        raise
    except Exception:
        log.exception("%s: housekeeping failed", stage.name)
    ids = leases.claim_batch(
        ctx.engine,
        ctx.owner,
        ctx.settings.lease_ttl_s,
        where=where,
        order_by=stage.order_by(),
        limit=stage.batch_limit(ctx),
    )
    if not ids:
        return report
    log.debug("stage %s: leased artworks %s as %s", stage.name, ids, ctx.owner)
    parked: list[FailedArtwork] = []
    try:
        if not stage.resumes_failed:
            _back_to_entry(ctx, stage, ids)
        before = _snapshot(ctx, ids)
        with (
            _kept_alive(ctx, ids),
            ctx.progress(stage.name, stage.progress_total(ids, ctx)) as tracker,
        ):
            try:
                stage.advance(ids, ctx, tracker)
            except StoreError:
                raise
            except StageUnavailable as exc:  # found out only when building its resources
                report.skipped = str(exc)
            except Exception as exc:
                log.exception("%s: unexpected error", stage.name)
                record_unexpected(ctx, stage, ids, exc)
        parked = _settle(ctx, stage, before, report)
    finally:
        leases.release(ctx.engine, ctx.owner, ids)
    for failed in parked:
        if failed.refused:  # parked at once: the count means nothing here
            log.error(
                "artwork %s parked for a person at %s, not retried: %s (bot retry %s)",
                failed.artwork_id,
                failed.stage,
                failed.error,
                failed.artwork_id,
            )
        else:
            log.error(
                "artwork %s parked as failed after %d attempts of %s: %s (bot retry %s)",
                failed.artwork_id,
                failed.attempts,
                failed.stage,
                failed.error,
                failed.artwork_id,
            )
        _announce_parked(ctx, failed)
    return report


def _announce_parked(ctx: PipelineContext, failed: FailedArtwork) -> None:
    """The webhook (its own thread: never blocks) and the hooks; none of them can stop the
    pipeline."""
    if ctx.notifier is not None and ctx.notifier.enabled:
        from bot.notify import ArtworkFailedEvent

        try:
            ctx.notifier.notify(
                ArtworkFailedEvent(
                    artwork_id=failed.artwork_id,
                    stage=failed.stage,
                    error=failed.error,
                    attempts=failed.attempts,
                )
            )
        except Exception:
            log.exception("notifying artwork %s parked failed", failed.artwork_id)
    for hook in ctx.on_parked:
        try:
            hook(failed)
        except Exception:
            log.exception("on_parked hook %r failed", hook)


def run_pass(
    ctx: PipelineContext,
    stages: Sequence[Stage] | None = None,
    *,
    until_idle: bool = True,
    max_rounds: int = 1000,
) -> PassReport:
    """Every stage in order. With `until_idle`, a stage that filled its batch runs again
    before the next stage starts, so one pass moves everything due as far as it can go."""
    report = PassReport()
    freed = leases.release_dead_owners(ctx.engine)
    for owner, count in freed.items():
        log.warning("freed %d lease(s) of %s, which no longer runs", count, owner)
    for stage in stages or default_stages():
        for _round in range(max_rounds):
            if ctx.stop.is_set():
                return report
            result = run_stage(stage, ctx)
            report.stages.append(result)
            full = result.taken >= stage.batch_limit(ctx)
            if not (until_idle and full and result.advanced):
                break
    return report


def reconcile_in_flight(ctx: PipelineContext, stages: Sequence[Stage] | None = None) -> PassReport:
    """At start: artworks a crash left in `minting`/`listing` are looked up on the
    marketplace (and finished) before anything new is sent."""
    report = PassReport()
    for stage in stages or default_stages():
        if not stage.resumes_failed or not set(stage.entry) & set(IN_FLIGHT):
            continue
        states = [s for s in stage.entry if s in IN_FLIGHT]
        report.stages.append(run_stage(stage, ctx, only_states=states))
    return report
