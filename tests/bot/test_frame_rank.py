"""The weighted rank, pure: normalisation, missing scores, zero weights, ties."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.pipeline.frame_rank import RankWeights, rank_frames, trusted_clip
from generator.near_copy import NearCopyThresholds

THRESHOLDS = NearCopyThresholds(max_hash_distance=10, min_clip_similarity=0.95)


@dataclass
class F:
    id: int
    iteration: int
    prompt_similarity: float | None = 0.2
    source_similarity: float | None = 0.5
    critic: float | None = 0.0
    aesthetic: float | None = None
    sharpness: float | None = 100.0
    colourfulness: float | None = 10.0
    blockiness: float | None = 1.0
    hash_distance: int | None = 30
    hash_match: str | None = None
    score_models: str | None = "clip=clip_vit_b32; critic=v; aesthetic=-"


def test_blockiness_counts_against_and_sharpness_on_a_log_scale() -> None:
    weights = RankWeights(0, 0, 0, 0, sharpness=1, colourfulness=0, blockiness=1)
    frames = [
        F(1, 0, sharpness=10.0, blockiness=1.0),
        F(2, 1, sharpness=1000.0, blockiness=3.0),
        F(3, 2, sharpness=100.0, blockiness=1.0),
    ]
    ranking = rank_frames(frames, weights, THRESHOLDS)
    terms = {r.iteration: r.terms for r in ranking.ranked}
    assert terms[2]["sharpness"] == pytest.approx(0.5, abs=0.01)  # halfway on a log scale
    assert terms[1]["blockiness"] == 0.0 and terms[0]["blockiness"] == 1.0
    assert ranking.winner.iteration == 2


def test_a_missing_score_counts_as_the_worst_and_an_absent_one_drops_out() -> None:
    weights = RankWeights(prompt=1, source=0, critic=0, aesthetic=5, sharpness=0,
                          colourfulness=0, blockiness=0)  # fmt: skip
    frames = [F(1, 0, prompt_similarity=0.3), F(2, 1, prompt_similarity=None)]
    ranking = rank_frames(frames, weights, THRESHOLDS)
    assert [r.iteration for r in ranking.ranked] == [0, 1]
    assert "aesthetic" not in ranking.winner.terms  # nobody has it: its weight drops out
    assert ranking.winner.rank_score == 1.0 and ranking.runner_up.rank_score == 0.0


def test_equal_scores_tie_and_the_later_iteration_wins() -> None:
    ranking = rank_frames([F(1, 0), F(2, 1), F(3, 2)], RankWeights(), THRESHOLDS)
    assert [r.iteration for r in ranking.ranked] == [2, 1, 0]
    assert {r.rank_score for r in ranking.ranked} == {1.0}


def test_only_a_real_clip_flags_by_similarity() -> None:
    assert trusted_clip("clip=clip_vit_b32; critic=x; aesthetic=-")
    assert not trusted_clip("clip=smoke_clip_tiny; critic=x; aesthetic=-")
    assert not trusted_clip(None)
    frames = [F(1, 0, source_similarity=0.99), F(2, 1, source_similarity=0.99, score_models=None)]
    ranking = rank_frames(frames, RankWeights(), THRESHOLDS)
    assert [r.iteration for r in ranking.near_copies] == [0]
    assert [r.iteration for r in ranking.ranked] == [1]


def test_choice_settings_have_bounds_and_defaults() -> None:
    from bot.pipeline.choose_stage import near_copy_thresholds, rank_weights
    from bot.settings import load_settings
    from bot.settings_errors import SettingsError

    settings = load_settings()
    assert rank_weights(settings) == RankWeights()  # the documented defaults
    assert near_copy_thresholds(settings) == THRESHOLDS
    assert (settings.upscale_enabled, settings.upscaler_name) == (False, "realesrgan_x4plus")
    assert load_settings(upscale_scale=2).upscaler_name == "realesrgan_x2plus"
    assert settings.scoring_clip == settings.generator_clip
    assert settings.review_host == "127.0.0.1"
    for bad in (
        {"upscale_scale": 3},
        {"near_copy_max_hash_distance": 40},
        {"near_copy_min_clip_similarity": 0.2},
        {"choose_weight_prompt": -1},
        {"upscale_tile": 8},
    ):
        with pytest.raises(SettingsError):
            load_settings(**bad)
