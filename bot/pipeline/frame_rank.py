"""The automatic choice: a weighted rank over each frame's scores. Pure: no I/O.

Scores live on different scales (cosines, logits, pixel variances), so each one is first
min-max normalised over the candidate frames of one artwork (the best frame gets 1, the worst
0; sharpness on a log scale, since blur and noise move it by orders of magnitude; blockiness
reversed, since less is better). The rank score is the weighted mean of those normalised
terms, with the weights from settings (`BOT_CHOOSE_WEIGHT_*`):

    rank = Σ wᵢ · normᵢ / Σ wᵢ      over the scores that at least one candidate has

A score no candidate has (no aesthetic weights, say) drops out with its weight; a frame
missing a score another candidate has counts as the worst for it. Ties go to the later
iteration (more optimisation steps). Near-copies of the source are never candidates; they
are listed with their reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from generator.near_copy import NearCopyThresholds, Verdict, verdict

# (score attribute, weight name, direction, transform)
TERMS: tuple[tuple[str, str, int, bool], ...] = (
    ("prompt_similarity", "prompt", +1, False),
    ("source_similarity", "source", +1, False),
    ("critic", "critic", +1, False),
    ("aesthetic", "aesthetic", +1, False),
    ("sharpness", "sharpness", +1, True),
    ("colourfulness", "colourfulness", +1, False),
    ("blockiness", "blockiness", -1, False),
)
SCORE_NAMES = tuple(term[0] for term in TERMS)


class ScoredFrame(Protocol):
    id: int | None
    iteration: int
    prompt_similarity: float | None
    source_similarity: float | None
    critic: float | None
    aesthetic: float | None
    sharpness: float | None
    colourfulness: float | None
    blockiness: float | None
    hash_distance: int | None
    hash_match: str | None
    score_models: str | None


@dataclass(frozen=True)
class RankWeights:
    prompt: float = 1.0
    source: float = 0.5
    critic: float = 0.5
    aesthetic: float = 1.0
    sharpness: float = 0.25
    colourfulness: float = 0.1
    blockiness: float = 0.25

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for _, name, _, _ in TERMS}


@dataclass(frozen=True)
class RankedFrame:
    frame_id: int
    iteration: int
    rank_score: float | None  # None for near-copies (not ranked)
    terms: dict[str, float]  # normalised term per weight name
    scores: dict[str, float | int | None]
    near_copy: Verdict

    def summary(self) -> dict[str, object]:
        return {
            "frame_id": self.frame_id,
            "iteration": self.iteration,
            "rank_score": None if self.rank_score is None else round(self.rank_score, 4),
            "scores": {k: _rounded(v) for k, v in self.scores.items()},
            "terms": {k: round(v, 4) for k, v in self.terms.items()},
        }


@dataclass(frozen=True)
class Ranking:
    ranked: list[RankedFrame]  # candidates, best first
    near_copies: list[RankedFrame]  # excluded, by iteration
    weights: RankWeights

    @property
    def winner(self) -> RankedFrame | None:
        return self.ranked[0] if self.ranked else None

    @property
    def runner_up(self) -> RankedFrame | None:
        return self.ranked[1] if len(self.ranked) > 1 else None


def _rounded(value: float | int | None) -> float | int | None:
    if isinstance(value, float):
        return round(value, 4)
    return value


def trusted_clip(score_models: str | None) -> bool:
    """Whether the CLIP that scored a frame is a real one (an untrained smoke-test CLIP's
    similarities mean nothing, so they never flag a near-copy)."""
    from generator.model_names import is_smoke_test_name

    for part in (score_models or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "clip":
            return bool(value) and not is_smoke_test_name(value)
    return False


def near_copy_of(frame: ScoredFrame, thresholds: NearCopyThresholds) -> Verdict:
    similarity = frame.source_similarity if trusted_clip(frame.score_models) else None
    return verdict(frame.hash_distance, similarity, thresholds, hash_match=frame.hash_match)


def _value(frame: ScoredFrame, attribute: str, log_scale: bool) -> float | None:
    raw = getattr(frame, attribute)
    if raw is None or not math.isfinite(float(raw)):
        return None
    return math.log1p(max(0.0, float(raw))) if log_scale else float(raw)


def rank_frames(
    frames: Sequence[ScoredFrame], weights: RankWeights, thresholds: NearCopyThresholds
) -> Ranking:
    verdicts = {id(f): near_copy_of(f, thresholds) for f in frames}
    candidates = [f for f in frames if not verdicts[id(f)].near_copy]
    excluded = [f for f in frames if verdicts[id(f)].near_copy]
    weight_of = weights.as_dict()
    terms: dict[int, dict[str, float]] = {id(f): {} for f in candidates}
    for attribute, name, direction, log_scale in TERMS:
        if weight_of[name] <= 0:
            continue
        values = {id(f): _value(f, attribute, log_scale) for f in candidates}
        present = [v for v in values.values() if v is not None]
        if not present:
            continue
        low, high = min(present), max(present)
        for frame in candidates:
            value = values[id(frame)]
            if value is None:
                normal = 0.0
            elif high == low:
                normal = 1.0
            else:
                normal = (value - low) / (high - low)
                normal = normal if direction > 0 else 1.0 - normal
            terms[id(frame)][name] = normal

    def score(frame: ScoredFrame) -> float:
        used = terms[id(frame)]
        total = sum(weight_of[name] for name in used)
        return sum(weight_of[n] * v for n, v in used.items()) / total if total else 0.0

    def entry(frame: ScoredFrame, rank_score: float | None) -> RankedFrame:
        return RankedFrame(
            frame_id=int(frame.id or 0),
            iteration=frame.iteration,
            rank_score=rank_score,
            terms=terms.get(id(frame), {}),
            scores={name: getattr(frame, name) for name in (*SCORE_NAMES, "hash_distance")},
            near_copy=verdicts[id(frame)],
        )

    ranked = sorted(
        (entry(f, score(f)) for f in candidates),
        key=lambda r: (-(r.rank_score or 0.0), -r.iteration, -r.frame_id),
    )
    near = sorted((entry(f, None) for f in excluded), key=lambda r: (r.iteration, r.frame_id))
    return Ranking(ranked, near, weights)
