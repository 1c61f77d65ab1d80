"""What the review pages show, read from the store (plain data for the templates)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from bot.pipeline.choose_stage import choice_summary, frames_of
from bot.pipeline.frame_rank import RankWeights, near_copy_of, rank_frames
from generator.model_names import is_smoke_test_model
from generator.near_copy import NearCopyThresholds
from storage.models import Artwork, ArtworkState, Listing

QUEUE_STATES = (
    ArtworkState.CHOSEN,
    ArtworkState.PINNED,
    ArtworkState.MINTING,
    ArtworkState.MINTED,
    ArtworkState.LISTING,
    ArtworkState.LISTED,
)


@dataclass
class FrameView:
    id: int
    iteration: int
    seed: int
    loss: float | None
    scores: dict[str, float | int | None]
    rank_score: float | None
    near_copy: bool
    near_copy_reason: str
    forced: str | None
    chosen: bool
    scored: bool
    smoke_test: bool


@dataclass
class ArtworkView:
    id: int
    state: str
    title: str
    name: str
    creator: str
    source_ref: str
    has_source: bool
    chosen_by: str | None
    choice: str
    upscaled: str | None
    frames: list[FrameView] = field(default_factory=list)

    @property
    def near_copies(self) -> int:
        return sum(f.near_copy for f in self.frames)

    @property
    def chosen(self) -> FrameView | None:
        return next((f for f in self.frames if f.chosen), None)


def _artwork_view(
    session: Session,
    artwork: Artwork,
    weights: RankWeights,
    thresholds: NearCopyThresholds,
) -> ArtworkView:
    assert artwork.id is not None
    listing = session.get(Listing, artwork.listing_id)
    rows = frames_of(session, artwork.id)
    scored = [f for f in rows if f.scored_at is not None]
    ranking = rank_frames(scored, weights, thresholds) if scored else None
    ranks = {r.frame_id: r.rank_score for r in ranking.ranked} if ranking else {}
    view = ArtworkView(
        id=artwork.id,
        state=artwork.state,
        title=artwork.category or (listing.title if listing else "") or "",
        name=(listing.name or "") if listing else "",
        creator=(listing.creator or "") if listing else "",
        source_ref=f"{listing.marketplace}:{listing.item_id}" if listing else "",
        has_source=bool(artwork.init_image_blob or (listing and listing.image_blob)),
        chosen_by=artwork.chosen_by,
        choice=choice_summary(artwork),
        upscaled=artwork.upscale_model if artwork.upscaled_blob else None,
    )
    for frame in rows:
        verdict = near_copy_of(frame, thresholds) if frame.scored_at is not None else None
        view.frames.append(
            FrameView(
                id=frame.id or 0,
                iteration=frame.iteration,
                seed=frame.seed,
                loss=frame.loss,
                scores={
                    "prompt": frame.prompt_similarity,
                    "source": frame.source_similarity,
                    "critic": frame.critic,
                    "aesthetic": frame.aesthetic,
                    "sharpness": frame.sharpness,
                    "colour": frame.colourfulness,
                    "blockiness": frame.blockiness,
                    "hash": frame.hash_distance,
                },
                rank_score=ranks.get(frame.id or 0),
                near_copy=bool(verdict and verdict.near_copy),
                near_copy_reason=verdict.reason if verdict else "not scored yet",
                forced=frame.near_copy_override,
                chosen=frame.chosen,
                scored=frame.scored_at is not None,
                smoke_test=is_smoke_test_model(frame.model),
            )
        )
    return view


def awaiting(
    session: Session, weights: RankWeights, thresholds: NearCopyThresholds
) -> list[ArtworkView]:
    """Artworks awaiting a person's choice: generated, or chosen automatically and not pinned."""
    rows = session.exec(
        select(Artwork)
        .where(col(Artwork.state).in_([ArtworkState.GENERATED.value, ArtworkState.CHOSEN.value]))
        .order_by(col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id))
    ).all()
    return [
        _artwork_view(session, a, weights, thresholds)
        for a in rows
        if a.state == ArtworkState.GENERATED.value or a.chosen_by != "person"
    ]


def one(
    session: Session, artwork_id: int, weights: RankWeights, thresholds: NearCopyThresholds
) -> ArtworkView | None:
    artwork = session.get(Artwork, artwork_id)
    return None if artwork is None else _artwork_view(session, artwork, weights, thresholds)


def queue(
    session: Session, weights: RankWeights, thresholds: NearCopyThresholds
) -> list[ArtworkView]:
    """The publish queue: chosen artworks on their way out, and those already out."""
    rows = session.exec(
        select(Artwork)
        .where(col(Artwork.state).in_([s.value for s in QUEUE_STATES]))
        .order_by(col(Artwork.state_changed_at).desc(), col(Artwork.id))
        .limit(500)
    ).all()
    order = {s.value: i for i, s in enumerate(QUEUE_STATES)}
    views = [_artwork_view(session, a, weights, thresholds) for a in rows]
    return sorted(views, key=lambda v: (order[v.state], v.id))
