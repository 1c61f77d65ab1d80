"""Fetch the images of stored listings that have none yet, concurrently, into the blob store.

Each result is written back as it arrives: `image_blob` (the sha256) on success, or
`image_error` (the reason) on refusal, so a refused image is not retried on every run unless
asked (`retry_refused`). Identical images of different listings share one blob.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import and_, col, or_, select

from scraper.errors import DownloadRefused
from scraper.images import FetchedImage, ImageDownloader
from storage.db import session_scope
from storage.models import Artwork, ArtworkState, Listing

log = logging.getLogger(__name__)


@dataclass
class ImageFetchSummary:
    stored: int = 0
    refused: int = 0
    reasons: list[str] = field(default_factory=list)


def listings_missing_images(
    engine: Engine,
    *,
    limit: int | None = None,
    retry_refused: bool = False,
    selected_only: bool = False,
) -> list[tuple[int, str]]:
    """Listings with an image URI and no local image yet. `selected_only`: just those whose
    artwork curation selected and is waiting to be prepared (a candidate, or failed at
    preparation), best curation rank first; otherwise every listing, by id."""
    with session_scope(engine) as session:
        query = select(Listing.id, Listing.image_uri).where(
            col(Listing.image_uri).is_not(None), col(Listing.image_blob).is_(None)
        )
        if not retry_refused:
            query = query.where(col(Listing.image_error).is_(None))
        if selected_only:
            waiting = or_(
                col(Artwork.state) == ArtworkState.CANDIDATE.value,
                and_(
                    col(Artwork.state) == ArtworkState.FAILED.value,
                    col(Artwork.failed_stage) == ArtworkState.PREPARED.value,
                ),
            )
            query = (
                query.join(Artwork, col(Artwork.listing_id) == col(Listing.id))
                .where(waiting)
                .order_by(col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id))
            )
        else:
            query = query.order_by(col(Listing.id))
        rows = session.exec(query.limit(limit)).all()
    return [(int(str(row[0])), str(row[1])) for row in rows]


def fetch_listing_images(
    engine: Engine,
    downloader: ImageDownloader,
    *,
    limit: int | None = None,
    retry_refused: bool = False,
    selected_only: bool = False,
    workers: int = 4,
    progress: Callable[[], None] | None = None,
) -> ImageFetchSummary:
    todo = listings_missing_images(
        engine, limit=limit, retry_refused=retry_refused, selected_only=selected_only
    )
    summary = ImageFetchSummary()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="images") as pool:
        pending: dict[Future[FetchedImage], tuple[int, str]] = {}
        queue = iter(todo)
        while True:
            while len(pending) < workers * 2:  # a bounded queue keeps memory flat
                job = next(queue, None)
                if job is None:
                    break
                pending[pool.submit(downloader.fetch, job[1])] = job
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                listing_id, uri = pending.pop(future)
                _record(engine, listing_id, uri, future, summary)
                if progress:
                    progress()
    return summary


def _record(
    engine: Engine,
    listing_id: int,
    uri: str,
    future: Future[FetchedImage],
    summary: ImageFetchSummary,
) -> None:
    blob, error = None, None
    try:
        blob = future.result().sha256
    except DownloadRefused as exc:
        error = exc.reason
    except Exception as exc:  # a bug must not stop the batch; it is recorded per listing
        log.exception("image of listing %s (%s) failed", listing_id, uri)
        error = f"unexpected {type(exc).__name__}: {exc}"
    with session_scope(engine) as session:
        listing = session.get(Listing, listing_id)
        if listing is None:
            return
        listing.image_blob, listing.image_error = blob, error
        session.add(listing)
    if blob:
        summary.stored += 1
    else:
        summary.refused += 1
        if len(summary.reasons) < 50:
            summary.reasons.append(f"listing {listing_id} {uri[:100]}: {error}")


def listings_without_details(engine: Engine, marketplace: str, item_ids: list[str]) -> set[str]:
    """Which of these items are not stored yet, or lack a name or an image URI."""
    with session_scope(engine) as session:
        complete = session.exec(
            select(Listing.item_id).where(
                Listing.marketplace == marketplace,
                Listing.item_id.in_(item_ids),  # type: ignore[attr-defined]
                Listing.name.is_not(None),  # type: ignore[union-attr]
                Listing.image_uri.is_not(None),  # type: ignore[union-attr]
            )
        ).all()
    return set(item_ids) - set(complete)
