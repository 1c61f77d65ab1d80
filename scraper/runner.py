"""Run a source into the store: page by page, resumable, one transaction per page.

Each page's listings, their price observations and the advanced cursor are committed
together, so a crash between pages loses nothing and never skips a page: the next run
continues from the last committed cursor. A bad item is counted and reported by name and the
rest of the page goes on; a page that cannot be read ends the run with the cursor kept.
When a pass reaches the end of a collection the cursor is cleared and the next run starts a
new pass (catching price changes of items already seen).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, select

from scraper.errors import ConfigurationError, ScrapeError
from scraper.source import Page, PriceSeen, ScrapedListing, Source
from storage.db import session_scope
from storage.errors import is_transient
from storage.listings import UpsertOutcome, upsert_listing, upsert_listings
from storage.models.scrape import PriceObservation, ScrapeCursor, ScrapeRun, ScrapeRunStatus
from storage.types import utcnow

log = logging.getLogger(__name__)
MAX_REPORTED_FAILURES = 50
_LOCK_ATTEMPTS = 6


@dataclass
class ScrapeSummary:
    source: str
    collection: str
    status: str = ScrapeRunStatus.RUNNING.value
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None
    failures: list[str] = field(default_factory=list)
    cursor: str | None = None
    run_id: int | None = None

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged + self.failed


ProgressCallback = Callable[[ScrapeSummary, int], None]  # (summary so far, items this page)


def run_source(
    engine: Engine,
    source: Source,
    *,
    max_items: int | None = None,
    progress: ProgressCallback | None = None,
) -> ScrapeSummary:
    """Scrape `source` from its stored cursor until the end or `max_items` listings."""
    summary = ScrapeSummary(source.name, source.collection)
    _retry_locked(lambda: _begin_run(engine, source, summary))
    try:
        _run_pages(engine, source, summary, max_items, progress)
    except BaseException as exc:  # a bug or Ctrl-C: the run row must not stay "running"
        summary.status = ScrapeRunStatus.FAILED.value
        summary.error = summary.error or f"{type(exc).__name__}: {exc}"
        _finish(engine, summary)
        raise
    _finish(engine, summary)
    return summary


def _run_pages(
    engine: Engine,
    source: Source,
    summary: ScrapeSummary,
    max_items: int | None,
    progress: ProgressCallback | None,
) -> None:
    while True:
        remaining = None if max_items is None else max_items - summary.seen
        if remaining is not None and remaining <= 0:
            summary.status = ScrapeRunStatus.STOPPED.value
            break
        try:
            page = source.fetch_page(summary.cursor, remaining)
        except ConfigurationError as exc:
            summary.error = str(exc)
            raise
        except (ScrapeError, OSError, ValueError) as exc:  # OSError/ValueError: a bad file
            summary.status, summary.error = ScrapeRunStatus.FAILED.value, str(exc)
            log.error("%s %s: %s", source.name, source.collection, exc)
            break
        counts = _store_page(engine, source, page, summary)
        if progress:
            progress(summary, counts)
        if page.next_cursor is None:
            summary.status = ScrapeRunStatus.COMPLETED.value
            break
        if not page.listings and not page.failures:
            # An empty page that still points onwards would loop forever on a buggy server.
            summary.status = ScrapeRunStatus.STOPPED.value
            summary.error = "empty page with a continuation; stopped to avoid a loop"
            break


def run_sources(
    engine: Engine,
    sources: Sequence[Source],
    *,
    max_items: int | None = None,
    parallel: int = 4,
    progress: ProgressCallback | None = None,
) -> list[ScrapeSummary]:
    """Several collections at once. The shared HttpClient keeps each host within its rate
    limit, so running collections in parallel only fills the time we would spend waiting."""

    def one(source: Source) -> ScrapeSummary:
        try:
            return run_source(engine, source, max_items=max_items, progress=progress)
        except ConfigurationError as exc:
            return ScrapeSummary(
                source.name, source.collection, ScrapeRunStatus.FAILED.value, error=str(exc)
            )

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="scrape") as pool:
        return list(pool.map(one, sources))


def _store_page(engine: Engine, source: Source, page: Page, summary: ScrapeSummary) -> int:
    """Write one page and advance the cursor in a single transaction, retried as a whole if
    another writer holds the database (the counts are only taken over once it commits)."""
    for attempt in range(1, _LOCK_ATTEMPTS + 1):
        staged = copy.copy(summary)
        staged.failures = list(summary.failures)
        try:
            _write_page(engine, source, page, staged)
        except Exception as exc:
            if not is_transient(exc) or attempt == _LOCK_ATTEMPTS:
                raise
            log.info("database busy, page retried (%d): %s", attempt, exc)
            time.sleep(0.1 * 2**attempt)
            continue
        summary.__dict__.update(staged.__dict__)
        break
    return len(page.listings) + len(page.failures)


def _write_page(engine: Engine, source: Source, page: Page, summary: ScrapeSummary) -> None:
    for failure in page.failures:
        _note_failure(summary, str(failure))
    summary.failed += len(page.failures)
    with session_scope(engine) as session:
        # Write first: the transaction takes SQLite's write lock now, waiting politely
        # (busy_timeout) for other writers, instead of failing later when a read
        # transaction tries to upgrade (SQLITE_BUSY with parallel collections). On
        # PostgreSQL the cursor row's lock makes two runs of one collection take turns.
        session.execute(
            update(ScrapeCursor)
            .where(
                ScrapeCursor.source == source.name,  # type: ignore[arg-type]
                ScrapeCursor.collection == source.collection,  # type: ignore[arg-type]
            )
            .values(updated_at=utcnow())
        )
        try:
            # Fast path: the whole page in one savepoint, one SELECT and batched INSERTs.
            with session.begin_nested():
                stored = upsert_listings(session, [dict(s.fields) for s in page.listings])
                for (listing_id, _), scraped in zip(stored, page.listings, strict=True):
                    for seen in scraped.prices:
                        _observe(session, listing_id, str(scraped.fields["source"]), seen)
                session.flush()
            outcomes = [outcome for _, outcome in stored]
        except OperationalError:
            raise  # the database, not an item: the whole page is retried
        except (SQLAlchemyError, ValueError, TypeError):
            # Some row is bad: redo the page row by row so that only that row fails.
            outcomes = []
            for scraped in page.listings:
                try:
                    with session.begin_nested():
                        outcomes.append(_upsert_one(session, scraped))
                except OperationalError:
                    raise
                except (SQLAlchemyError, ValueError, TypeError) as exc:
                    _note_failure(summary, f"{scraped.key}: not stored: {exc}")
                    summary.failed += 1
        for outcome in outcomes:
            setattr(summary, outcome.value, getattr(summary, outcome.value) + 1)
        cursor_row = _cursor_row(session, source)
        if cursor_row.cursor is None and cursor_row.pages == 0:
            cursor_row.pass_started_at = utcnow()
        cursor_row.pages += 1
        cursor_row.items += len(page.listings) + len(page.failures)
        cursor_row.cursor = page.next_cursor
        if page.next_cursor is None:
            cursor_row.passes_completed += 1
            cursor_row.pass_completed_at = utcnow()
            cursor_row.pages = cursor_row.items = 0
        cursor_row.updated_at = utcnow()
        session.add(cursor_row)
        summary.pages += 1
        summary.cursor = page.next_cursor
        _save_run(session, summary)


def _upsert_one(session: Session, scraped: ScrapedListing) -> UpsertOutcome:
    listing, outcome = upsert_listing(session, dict(scraped.fields))
    session.flush()
    for seen in scraped.prices:
        _observe(session, int(listing.id or 0), listing.source, seen)
    return outcome


def _observe(session: Session, listing_id: int, source: str, seen: PriceSeen) -> None:
    """Record a bid or sale unless it is the one already recorded last for this listing."""
    last = session.exec(
        select(PriceObservation)
        .where(PriceObservation.listing_id == listing_id, PriceObservation.kind == seen.kind)
        .order_by(PriceObservation.id.desc())  # type: ignore[union-attr]
    ).first()
    if last is not None and (last.price, last.currency, last.event_at) == (
        seen.price,
        seen.currency,
        seen.event_at,
    ):
        return
    session.add(
        PriceObservation(
            listing_id=listing_id,
            kind=seen.kind,
            price=seen.price,
            currency=seen.currency,
            currency_decimals=seen.currency_decimals,
            price_usd=seen.price_usd,
            source=source,
            event_at=seen.event_at,
        )
    )


def _cursor_row(session: Session, source: Source) -> ScrapeCursor:
    row = session.exec(
        select(ScrapeCursor).where(
            ScrapeCursor.source == source.name, ScrapeCursor.collection == source.collection
        )
    ).first()
    if row is None:
        row = ScrapeCursor(source=source.name, collection=source.collection)
        session.add(row)
        session.flush()
    return row


def _save_run(session: Session, summary: ScrapeSummary) -> None:
    run = session.get(ScrapeRun, summary.run_id)
    if run is None:
        return
    run.status = summary.status
    run.end_cursor = summary.cursor
    run.pages = summary.pages
    run.new, run.updated, run.unchanged = summary.new, summary.updated, summary.unchanged
    run.failed = summary.failed
    run.error = summary.error
    if summary.status != ScrapeRunStatus.RUNNING.value:
        run.finished_at = utcnow()
    session.add(run)


def _begin_run(engine: Engine, source: Source, summary: ScrapeSummary) -> None:
    with session_scope(engine) as session:
        cursor_row = _cursor_row(session, source)
        run = ScrapeRun(
            source=source.name, collection=source.collection, start_cursor=cursor_row.cursor
        )
        session.add(run)
        session.flush()
        summary.run_id, summary.cursor = run.id, cursor_row.cursor


def _finish(engine: Engine, summary: ScrapeSummary) -> None:
    def save() -> None:
        with session_scope(engine) as session:
            _save_run(session, summary)

    _retry_locked(save)


def _retry_locked(action: Callable[[], None]) -> None:
    """Run a short transaction again while another writer holds the database (SQLite's lock
    past the busy timeout) or PostgreSQL reports a serialization failure or deadlock."""
    for attempt in range(1, _LOCK_ATTEMPTS + 1):
        try:
            action()
            return
        except Exception as exc:
            if not is_transient(exc) or attempt == _LOCK_ATTEMPTS:
                raise
            log.info("database busy, retrying (%d): %s", attempt, exc)
            time.sleep(0.1 * 2**attempt)


def _note_failure(summary: ScrapeSummary, message: str) -> None:
    log.warning("%s %s: %s", summary.source, summary.collection, message)
    if len(summary.failures) < MAX_REPORTED_FAILURES:
        summary.failures.append(message)


__all__ = ["ScrapeSummary", "UpsertOutcome", "run_source", "run_sources"]
