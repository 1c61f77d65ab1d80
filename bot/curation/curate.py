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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.curation.frame import from_store
from bot.curation.trim import year_bounds
from storage.artworks import create_artwork, transition
from storage.models import Artwork, ArtworkState

LIKES_WEIGHT = 0.5
STILL_TYPES = frozenset({"PHOTO"})


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
    return np.log1p(price.astype(float)) + LIKES_WEIGHT * np.log1p(likes.astype(float))


def decide(frame: pd.DataFrame, params: CurationParams) -> pd.DataFrame:
    """Add columns `reason` (None when selected), `score` and `rank` to the listings frame."""
    frame = frame.copy()
    frame["reason"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    frame["rule"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    first, last = params.years

    def reject(mask: pd.Series, rule: str, reason: pd.Series | str) -> None:
        pending = mask & frame["reason"].isna()
        frame.loc[pending, "rule"] = rule
        frame.loc[pending, "reason"] = reason if isinstance(reason, str) else reason[pending]

    media = frame["media_type"].fillna("?").astype(str)
    reject(~media.isin(STILL_TYPES), "not a still image", "not a still image (" + media + ")")
    reject(frame["nsfw"].astype(bool), "nsfw", "nsfw")
    years = frame["year"].astype("Int64").astype(str)
    outside = f" outside {first}-{last}"
    reject(~frame["year"].between(first, last), "year outside range", "year " + years + outside)
    reject(frame["price"].isna(), "no price", "no price")

    eligible = frame["reason"].isna()
    if params.trim > 0 and eligible.any():
        pool = frame.loc[eligible]
        bounds = year_bounds(pool, params.trim)
        low = frame["year"].map(bounds["low"])
        high = frame["year"].map(bounds["high"])
        price = frame["price"].map(lambda v: f"{v:g}")
        reject(
            eligible & (frame["price"] <= low),
            "price outlier",
            "price outlier: " + price + " at or below the year's "
            f"{params.trim:g}-quantile " + low.map(lambda v: f"{v:g}"),
        )
        reject(
            eligible & (frame["price"] >= high),
            "price outlier",
            "price outlier: " + price + " at or above the year's "
            f"{1 - params.trim:g}-quantile " + high.map(lambda v: f"{v:g}"),
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


def curate(engine: Engine, params: CurationParams) -> CurationReport:
    """Decide over every stored listing and reconcile artworks with the decision, atomically."""
    frame = from_store(engine)
    decided = decide(frame, params)
    report = CurationReport(considered=len(decided))
    with Session(engine, expire_on_commit=False) as session:
        artworks = {a.listing_id: a for a in session.exec(select(Artwork)).all()}
        for row in decided.itertuples(index=False):
            listing_id = int(row.listing_id)
            reason = row.reason if isinstance(row.reason, str) else None
            if reason is None:
                report.selected += 1
            else:
                report.rejections[row.rule] = report.rejections.get(row.rule, 0) + 1
            decision = _Decision(
                listing_id=listing_id,
                reason=reason,
                rank=None if reason is not None else int(row.rank),
                score=float(row.score),
            )
            _reconcile(session, artworks.get(listing_id), decision, report)
        session.commit()
    return report


@dataclass(frozen=True)
class _Decision:
    listing_id: int
    reason: str | None
    rank: int | None
    score: float


def _reconcile(
    session: Session, artwork: Artwork | None, decision: _Decision, report: CurationReport
) -> None:
    target = ArtworkState.CANDIDATE if decision.reason is None else ArtworkState.REJECTED
    rank, score = decision.rank, decision.score
    if artwork is None:
        create_artwork(
            session,
            listing_id=decision.listing_id,
            state=target,
            reason=decision.reason,
            rejected_by="curate" if decision.reason is not None else None,
            rank=rank,
            value_score=score,
        )
        report.created += 1
        return
    if artwork.state not in (ArtworkState.CANDIDATE.value, ArtworkState.REJECTED.value) or (
        _decided_later(artwork)
    ):
        report.kept_in_pipeline += 1
        return
    moved = transition(session, artwork, target, reason=decision.reason)
    if target is ArtworkState.REJECTED and artwork.rejected_by != "curate":
        artwork.rejected_by = "curate"
        session.add(artwork)
    if (artwork.rank, artwork.value_score) != (rank, score):
        artwork.rank, artwork.value_score = rank, score
        session.add(artwork)
        moved = True
    if moved:
        report.changed += 1
    else:
        report.unchanged += 1


def _decided_later(artwork: Artwork) -> bool:
    """A person's rejection, or prepare's rejection of an artwork curation had selected: not
    curation's to undo. (A person's category is not a selection: it waits for curation.)"""
    return artwork.override_reason is not None or artwork.rejected_by in ("prepare", "person")
