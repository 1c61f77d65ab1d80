"""Curation: which listings become artworks worth generating from.

Rules, in order (the first that applies is the recorded reason):
1. still images only (`PHOTO`): GIFs and videos have no single init image;
2. nsfw excluded;
3. creation year inside the configured range;
4. a price is needed;
5. per-year price outliers trimmed exactly as in the EDA (`bot.curation.trim`), computed on the
   listings that passed 1-4;
6. ranked by the value score below; the top N become candidates.

Value score (documented in the README): `ln(1 + price) + 0.5 * ln(1 + likes)`. Price is the
market's own valuation and dominates, as in the seed ("high-valued images"); likes add a
popularity signal with half the weight. Logarithms keep one very expensive listing or one viral
post from drowning everything else. Ties break by listing id so the ranking is stable.

Re-running is idempotent. Artworks that already moved past `candidate` are never touched, nor
those a person or `prepare` rejected (a person's category waits for curation to select it);
candidates and curation rejections are reconciled with the current selection. Curation does
not set the category: `prepare` decides it (the series title stays on the listing).
Scale: the decision is computed over all listings at once with pandas (vectorised), then
written in batches of `BATCH_LISTINGS` listings, each in its own short transaction that takes
the write lock first and re-reads that batch's artworks, so a command running beside curation
(an import, `prepare` moving a candidate on) waits a moment instead of failing, and its work
is respected.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from bot.curation.frame import load_store
from bot.curation.trim import year_bounds
from storage.batches import bulk_gc, write_transaction
from storage.listings import insert_rows
from storage.models import Artwork, ArtworkEvent, ArtworkState, Listing
from storage.types import utcnow

LIKES_WEIGHT = 0.5
STILL_TYPES = frozenset({"PHOTO"})
BATCH_LISTINGS = 5000
_CURATED = (ArtworkState.CANDIDATE.value, ArtworkState.REJECTED.value)
_ARTWORKS: Table = Artwork.__table__  # type: ignore[attr-defined]
_EVENTS: Table = ArtworkEvent.__table__  # type: ignore[attr-defined]
_LISTINGS: Table = Listing.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CurationParams:
    trim: float = 0.05
    years: tuple[int, int] = (2017, 2021)
    top: int = 100


@dataclass
class CurationReport:
    considered: int = 0
    selected: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    kept_in_pipeline: int = 0
    rejections: dict[str, int] = field(default_factory=dict)


def value_score(price: pd.Series, likes: pd.Series) -> pd.Series:
    # Likes below zero are no signal (and would make the score NaN): counted as zero.
    return np.log1p(price.astype(float)) + LIKES_WEIGHT * np.log1p(likes.astype(float).clip(0))


def _g(values: pd.Series) -> pd.Series:
    """Numbers as the reasons show them (`%g`), for the rows given only."""
    return pd.Series([f"{v:g}" for v in values.to_numpy()], index=values.index, dtype=object)


def decide(frame: pd.DataFrame, params: CurationParams) -> pd.DataFrame:
    """Add columns `reason` (None when selected), `rule`, `score` and `rank` to the frame."""
    frame = frame.copy()
    frame["reason"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    frame["rule"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    first, last = params.years

    def reject(mask: pd.Series, rule: str, reason: Callable[[pd.Series], pd.Series] | str) -> None:
        pending = mask & frame["reason"].isna()
        if not pending.any():
            return
        frame.loc[pending, "rule"] = rule
        frame.loc[pending, "reason"] = reason if isinstance(reason, str) else reason(pending)

    media = frame["media_type"].astype(object).where(frame["media_type"].notna(), "?").astype(str)
    reject(
        ~media.isin(STILL_TYPES),
        "not a still image",
        lambda rows: "not a still image (" + media[rows] + ")",
    )
    reject(frame["nsfw"].astype(bool), "nsfw", "nsfw")
    outside = f" outside {first}-{last}"
    reject(
        ~frame["year"].between(first, last),
        "year outside range",
        lambda rows: "year " + frame.loc[rows, "year"].astype(str) + outside,
    )
    reject(frame["price"].isna(), "no price", "no price")

    eligible = frame["reason"].isna()
    if params.trim > 0 and eligible.any():
        pool = frame.loc[eligible]
        bounds = year_bounds(pool, params.trim)
        low = frame["year"].map(bounds["low"])
        high = frame["year"].map(bounds["high"])
        reject(
            eligible & (frame["price"] <= low),
            "price outlier",
            lambda rows: (
                "price outlier: " + _g(frame.loc[rows, "price"]) + " at or below the "
                f"year's {params.trim:g}-quantile " + _g(low[rows])
            ),
        )
        reject(
            eligible & (frame["price"] >= high),
            "price outlier",
            lambda rows: (
                "price outlier: " + _g(frame.loc[rows, "price"]) + " at or above the "
                f"year's {1 - params.trim:g}-quantile " + _g(high[rows])
            ),
        )

    frame["score"] = value_score(frame["price"].fillna(0), frame["likes"].fillna(0))
    eligible = frame["reason"].isna()
    ranked = frame.loc[eligible].sort_values(["score", "listing_id"], ascending=[False, True])
    frame["rank"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame.loc[ranked.index, "rank"] = np.arange(1, len(ranked) + 1)
    below = eligible & (frame["rank"] > params.top)
    frame.loc[below, "rule"] = "below the top N"
    frame.loc[below, "reason"] = (
        "ranked #" + frame.loc[below, "rank"].astype(str) + f", below the top {params.top}"
    )
    return frame


@bulk_gc()
def curate(
    engine: Engine,
    params: CurationParams,
    *,
    progress: Callable[[int], None] | None = None,
    batch_listings: int = BATCH_LISTINGS,
) -> CurationReport:
    """Decide over every stored listing, then reconcile the artworks in short batches.

    `progress(done)` is called after each committed batch with the listings written so far.
    """
    decided = decide(load_store(engine, curation_only=True).frame, params)
    decided = decided.sort_values("listing_id")
    report = CurationReport(considered=len(decided))
    report.selected = int(decided["reason"].isna().sum())
    report.rejections = {
        str(rule): int(count) for rule, count in decided["rule"].value_counts().items()
    }
    # Plain Python lists, made in C, zipped into one tuple per listing: (listing id, reason,
    # rank, score). Only candidates keep their rank; a rejection says it in words.
    selected = decided["reason"].isna()
    columns = (
        decided["listing_id"].astype("int64").tolist(),
        _none_for_missing(decided["reason"]),
        _none_for_missing(decided["rank"].where(selected)),
        decided["score"].astype("float64").tolist(),
    )
    del decided
    if progress:
        progress(0)  # decided; writing starts
    total = len(columns[0])
    for start in range(0, total, batch_listings):
        stop = min(start + batch_listings, total)
        decisions = list(zip(*(column[start:stop] for column in columns), strict=True))
        with write_transaction(engine, lock_table="artworks") as session:
            _reconcile_batch(session, decisions, report)
        if progress:
            progress(stop)
    return report


def _none_for_missing(values: pd.Series) -> list[Any]:
    """The values as Python objects, with None (never NaN or pd.NA) where one is missing."""
    return values.astype(object).where(values.notna(), None).tolist()


def count_listings(engine: Engine) -> int:
    """How many listings curation will look at (an upper bound: unusable ones are dropped)."""
    with engine.connect() as connection:
        return int(connection.execute(sa_select(func.count()).select_from(_LISTINGS)).scalar_one())


# (listing id, reason or None for a candidate, rank or None, value score)
_Decision = tuple[int, str | None, int | None, float]


def _reconcile_batch(session: Any, decisions: list[_Decision], report: CurationReport) -> None:
    """Bring the artworks of these listings in line with the decisions, inside the caller's
    write transaction (the stored states are read here, under the lock: SQLite's write lock,
    taken first; on PostgreSQL the rows read are locked FOR UPDATE, so a publisher cannot move
    an artwork between this read and curation's write)."""
    connection = session.connection()
    first, last = decisions[0][0], decisions[-1][0]
    columns = (_ARTWORKS.c.listing_id, _ARTWORKS.c.id, _ARTWORKS.c.state, _ARTWORKS.c.reason,
               _ARTWORKS.c.rank, _ARTWORKS.c.value_score, _ARTWORKS.c.state_changed_at,
               _ARTWORKS.c.rejected_by, _ARTWORKS.c.override_reason)  # fmt: skip
    stored = {
        row[0]: row
        for row in connection.execute(
            sa_select(*columns).where(_ARTWORKS.c.listing_id.between(first, last)).with_for_update()
        )
    }
    now = utcnow()
    new_columns, new_tail = _new_artwork_columns()
    fresh: list[tuple[Any, ...]] = []
    moves: list[dict[str, Any]] = []
    rescored: list[dict[str, Any]] = []
    relabelled: list[dict[str, Any]] = []
    events: list[tuple[Any, ...]] = []
    for listing_id, why, new_rank, new_score in decisions:
        target = _CANDIDATE if why is None else _REJECTED
        rejected_by = "curate" if why is not None else None
        existing = stored.get(listing_id)
        if existing is None:
            fresh.append(
                (listing_id, target, why, rejected_by, new_rank, new_score, now, now, now,
                 *new_tail)
            )  # fmt: skip
            continue
        _, artwork_id, state, reason, rank, score, state_changed_at, by, override = existing
        if state not in _CURATED or _decided_later(by, override):
            report.kept_in_pipeline += 1
            continue
        changed = False
        if (state, reason) != (target, why):
            # A new reason in the same state (another top N) is no state change.
            changed_at = now if state != target else state_changed_at
            moves.append(
                {"_id": artwork_id, "state": target, "reason": why, "by": rejected_by,
                 "at": now, "changed_at": changed_at}
            )  # fmt: skip
            events.append((artwork_id, state, target, why, now))
            changed = True
        elif target == _REJECTED and by != "curate":
            relabelled.append({"_id": artwork_id})  # not counted as a change, as before
        if rank != new_rank or not _same_score(score, new_score):
            rescored.append({"_id": artwork_id, "rank": new_rank, "score": new_score})
            changed = True
        if changed:
            report.changed += 1
        else:
            report.unchanged += 1
    if moves:
        connection.execute(
            update(_ARTWORKS)
            .where(_ARTWORKS.c.id == bindparam("_id"))
            .values(
                state=bindparam("state"),
                reason=bindparam("reason"),
                rejected_by=bindparam("by"),
                failed_stage=None,
                error=None,
                state_changed_at=bindparam("changed_at"),
                updated_at=bindparam("at"),
            ),
            moves,
        )
    if relabelled:
        connection.execute(
            update(_ARTWORKS)
            .where(_ARTWORKS.c.id == bindparam("_id"))
            .values(rejected_by="curate"),
            relabelled,
        )
    if rescored:
        connection.execute(
            update(_ARTWORKS)
            .where(_ARTWORKS.c.id == bindparam("_id"))
            .values(rank=bindparam("rank"), value_score=bindparam("score")),
            rescored,
        )
    if fresh:
        insert_rows(session, _ARTWORKS, new_columns, fresh)
        query = sa_select(_ARTWORKS.c.listing_id, _ARTWORKS.c.id).where(
            _ARTWORKS.c.listing_id.between(first, last)
        )
        ids = {listing_id: artwork_id for listing_id, artwork_id in connection.execute(query)}
        events.extend((ids[row[0]], None, row[1], row[2], now) for row in fresh)
        report.created += len(fresh)
    if events:
        insert_rows(session, _EVENTS, _EVENT_COLUMNS, events)


def _decided_later(rejected_by: str | None, override_reason: str | None) -> bool:
    """A person's rejection, or prepare's rejection of an artwork curation had selected: not
    curation's to undo. (A person's category is not a selection: it waits for curation.)"""
    return override_reason is not None or rejected_by in ("prepare", "person")


def _same_score(stored: float | None, new: float) -> bool:
    return stored is not None and (stored == new or (math.isnan(stored) and math.isnan(new)))


_REJECTED = ArtworkState.REJECTED.value


_CANDIDATE = ArtworkState.CANDIDATE.value
_EVENT_COLUMNS = ("artwork_id", "from_state", "to_state", "reason", "at")
_SET_BY_CURATION = ("listing_id", "state", "reason", "rejected_by", "rank", "value_score",
                    "created_at", "updated_at", "state_changed_at")  # fmt: skip


@functools.cache
def _new_artwork_columns() -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The columns of a new artwork: those curation sets (in `_SET_BY_CURATION` order), then
    every other one with the model's default (read once)."""
    others = [
        (name, info.get_default(call_default_factory=True))
        for name, info in Artwork.model_fields.items()
        if name != "id" and name not in _SET_BY_CURATION
    ]
    return _SET_BY_CURATION + tuple(name for name, _ in others), tuple(v for _, v in others)
