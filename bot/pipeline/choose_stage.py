"""generated → chosen: pick the frame to publish, by a person or by the weighted rank.

Two ways in, one bookkeeping:
- `choose_by_person(session, artwork, iteration, via=...)`: `bot choose ARTWORK --iteration N`
  and the review page call exactly this. A person's choice always wins: the automatic choice
  never replaces it.
- `choose_automatically(session, artwork, weights, thresholds)`: the frame with the best
  weighted rank (`bot.pipeline.frame_rank`) among the frames that are not near-copies of the
  source; needs the frames' scores (`bot.pipeline.score_stage`).

Either way the artwork records who chose (`chosen_by`) and why (`choice_reason`, JSON: the
winner's scores, the runner-up, the near-copies left out; or the person and the page they
used), an event names the frame, and an upscaled image of an earlier choice is dropped.
Idempotent: choosing the chosen frame again changes nothing. An artwork already past `chosen`
keeps its choice: its image is already on IPFS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.pipeline.frame_rank import Ranking, RankWeights, near_copy_of, rank_frames
from bot.settings import Settings
from generator.near_copy import NearCopyThresholds, Verdict
from storage.artworks import transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState
from storage.models.frame import Frame

BY_PERSON = "person"
BY_AUTO = "auto"
RANK_METHOD = "weighted min-max rank (README: Choosing the frame)"


class ChooseError(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    artwork_id: int
    frame: Frame
    changed: bool
    by: str
    near_copy: Verdict | None = None  # the chosen frame's verdict (a person may pick one)
    ranking: Ranking | None = None
    kept: str | None = None  # set when an automatic run left a person's choice alone


def rank_weights(settings: Settings) -> RankWeights:
    return RankWeights(
        prompt=settings.choose_weight_prompt,
        source=settings.choose_weight_source,
        critic=settings.choose_weight_critic,
        aesthetic=settings.choose_weight_aesthetic,
        sharpness=settings.choose_weight_sharpness,
        colourfulness=settings.choose_weight_colourfulness,
        blockiness=settings.choose_weight_blockiness,
    )


def near_copy_thresholds(settings: Settings) -> NearCopyThresholds:
    return NearCopyThresholds(
        max_hash_distance=settings.near_copy_max_hash_distance,
        min_clip_similarity=settings.near_copy_min_clip_similarity,
    )


def frames_of(session: Session, artwork_id: int) -> list[Frame]:
    return list(
        session.exec(
            select(Frame).where(Frame.artwork_id == artwork_id).order_by(col(Frame.id))
        ).all()
    )


def artworks_to_score(engine: Engine, only: Sequence[int] | None, rescore: bool) -> list[int]:
    """Generated (or chosen) artworks with unscored frames, or exactly `only`."""
    with session_scope(engine) as session:
        query = select(Frame.artwork_id).join(Artwork, col(Artwork.id) == col(Frame.artwork_id))
        if only:
            query = query.where(col(Frame.artwork_id).in_(list(only)))
        else:
            states = [ArtworkState.GENERATED.value, ArtworkState.CHOSEN.value]
            query = query.where(col(Artwork.state).in_(states))
        if not rescore:
            query = query.where(col(Frame.scored_at).is_(None))
        return sorted({int(i) for i in session.exec(query.distinct()).all()})


def _choosable(session: Session, artwork: Artwork) -> list[Frame]:
    if artwork.state not in (ArtworkState.GENERATED.value, ArtworkState.CHOSEN.value):
        raise ChooseError(f"artwork {artwork.id} is {artwork.state}, not generated")
    assert artwork.id is not None
    frames = frames_of(session, artwork.id)
    if not frames:
        raise ChooseError(f"artwork {artwork.id} has no frames")
    return frames


def _apply(
    session: Session,
    artwork: Artwork,
    frames: list[Frame],
    pick: Frame,
    *,
    by: str,
    reason: dict[str, object],
    event: str,
) -> bool:
    changed = False
    for frame in frames:
        if frame.chosen != (frame.id == pick.id):
            frame.chosen = frame.id == pick.id
            session.add(frame)
            changed = True
    reason_text = json.dumps(reason, sort_keys=True)
    if (artwork.chosen_by, artwork.choice_reason) != (by, reason_text):
        artwork.chosen_by, artwork.choice_reason = by, reason_text
        changed = True
    if artwork.upscaled_frame_id is not None and artwork.upscaled_frame_id != pick.id:
        # The upscaled image belongs to the earlier choice.
        artwork.upscaled_blob = artwork.upscaled_frame_id = artwork.upscale_model = None
        changed = True
    session.add(artwork)
    if changed or artwork.state != ArtworkState.CHOSEN.value:
        # A new pick of a chosen artwork is recorded too, as a chosen → chosen event.
        transition(session, artwork, ArtworkState.CHOSEN, reason=event)
        changed = True
    return changed


def choose_by_person(
    session: Session,
    artwork: Artwork,
    iteration: int,
    *,
    via: str = "cli",
    thresholds: NearCopyThresholds | None = None,
) -> Choice:
    """A person's pick by iteration (the latest run's frame at that iteration)."""
    frames = _choosable(session, artwork)
    matching = [f for f in frames if f.iteration == iteration]
    if not matching:
        found = sorted({f.iteration for f in frames})
        raise ChooseError(
            f"artwork {artwork.id} has no frame at iteration {iteration} (has {found})"
        )
    pick = matching[-1]
    verdict = near_copy_of(pick, thresholds) if thresholds else None
    reason: dict[str, object] = {"by": BY_PERSON, "via": via, "iteration": iteration}
    if verdict is not None and verdict.near_copy:
        reason["near_copy"] = verdict.reason
    changed = _apply(
        session,
        artwork,
        frames,
        pick,
        by=BY_PERSON,
        reason=reason,
        event=f"chosen by a person ({via}): iteration {iteration}",
    )
    return Choice(artwork.id or 0, pick, changed, BY_PERSON, verdict)


def choose_automatically(
    session: Session, artwork: Artwork, weights: RankWeights, thresholds: NearCopyThresholds
) -> Choice:
    """The best-ranked frame that is not a near-copy; a person's earlier choice is kept."""
    frames = _choosable(session, artwork)
    current = next((f for f in frames if f.chosen), None)
    if artwork.chosen_by == BY_PERSON and current is not None:
        kept = f"a person chose iteration {current.iteration}; the automatic choice keeps it"
        return Choice(artwork.id or 0, current, False, BY_PERSON, kept=kept)
    unscored = [f.iteration for f in frames if f.scored_at is None]
    if unscored:
        raise ChooseError(
            f"artwork {artwork.id}: frames {unscored[:5]} are not scored yet (run `bot score`)"
        )
    ranking = rank_frames(frames, weights, thresholds)
    winner, runner_up = ranking.winner, ranking.runner_up
    if winner is None:
        raise ChooseError(
            f"artwork {artwork.id}: every frame is a near-copy of its source; choose one by hand "
            f"(bot review, or bot choose {artwork.id} --iteration N) or reject the artwork"
        )
    pick = next(f for f in frames if f.id == winner.frame_id)
    reason: dict[str, object] = {
        "by": BY_AUTO,
        "method": RANK_METHOD,
        "weights": weights.as_dict(),
        "winner": winner.summary(),
        "runner_up": runner_up.summary() if runner_up else None,
        "near_copies_excluded": [
            {"iteration": r.iteration, "reason": r.near_copy.reason} for r in ranking.near_copies
        ],
        "frames": len(frames),
    }
    event = f"chosen automatically: iteration {winner.iteration} (rank {winner.rank_score:.3f})"
    if runner_up is not None:
        event += f" over iteration {runner_up.iteration} ({runner_up.rank_score:.3f})"
    if ranking.near_copies:
        event += f"; {len(ranking.near_copies)} near-copies left out"
    changed = _apply(session, artwork, frames, pick, by=BY_AUTO, reason=reason, event=event)
    return Choice(artwork.id or 0, pick, changed, BY_AUTO, winner.near_copy, ranking)


def choice_summary(artwork: Artwork) -> str:
    """One line: who chose and why (for `bot frames` and the review page)."""
    if not artwork.choice_reason:
        return "not chosen yet"
    try:
        reason = json.loads(artwork.choice_reason)
    except ValueError:
        return artwork.choice_reason
    if reason.get("by") == BY_PERSON:
        return f"chosen by a person ({reason.get('via')}): iteration {reason.get('iteration')}"
    winner, runner = reason.get("winner") or {}, reason.get("runner_up")
    line = (
        f"chosen automatically: iteration {winner.get('iteration')} "
        f"(rank {winner.get('rank_score')})"
    )
    if runner:
        line += f", runner-up iteration {runner.get('iteration')} ({runner.get('rank_score')})"
    excluded = reason.get("near_copies_excluded") or []
    if excluded:
        line += f"; near-copies left out: {[e['iteration'] for e in excluded]}"
    return line


def reject_by_person(
    session: Session, artwork: Artwork, reason: str, *, via: str = "review"
) -> bool:
    """A person rejects a generated artwork's frames (none is worth publishing): the artwork
    becomes `rejected` (`rejected_by=person`) with the reason, and curation never brings it
    back."""
    text = " ".join(reason.split())
    if not text:
        raise ChooseError(f"artwork {artwork.id}: say why it is rejected")
    if artwork.state not in (ArtworkState.GENERATED.value, ArtworkState.CHOSEN.value):
        raise ChooseError(
            f"artwork {artwork.id} is {artwork.state}: only generated or chosen "
            "artworks can be rejected here"
        )
    assert artwork.id is not None
    for frame in frames_of(session, artwork.id):
        if frame.chosen:
            frame.chosen = False
            session.add(frame)
    artwork.chosen_by = artwork.choice_reason = None
    artwork.upscaled_blob = artwork.upscaled_frame_id = artwork.upscale_model = None
    changed = transition(
        session,
        artwork,
        ArtworkState.REJECTED,
        reason=f"rejected by a person ({via}): {text[:500]}",
    )
    artwork.rejected_by = "person"  # curation never revives what a person rejected
    session.add(artwork)
    return changed
