"""generated → chosen: a person's pick, the weighted rank, near-copies, and why a frame won."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.curation.curate import CurationParams, curate
from bot.pipeline.choose_stage import (
    ChooseError,
    choose_automatically,
    choose_by_person,
    reject_by_person,
)
from bot.pipeline.frame_rank import RankWeights
from generator.near_copy import NearCopyThresholds
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkEvent
from tests.bot.choose_fixtures import add_generated, chosen_iterations, scored

THRESHOLDS = NearCopyThresholds(max_hash_distance=10, min_clip_similarity=0.95)
PROMPT_ONLY = RankWeights(
    prompt=1, source=0, critic=0, aesthetic=0, sharpness=0, colourfulness=0, blockiness=0
)


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)  # SQLite and PostgreSQL


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def events(engine: Engine, artwork_id: int) -> list[tuple[str | None, str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(ArtworkEvent)
            .where(ArtworkEvent.artwork_id == artwork_id)
            .order_by(col(ArtworkEvent.id))
        ).all()
        return [(e.from_state, e.to_state, e.reason) for e in rows]


def test_a_person_picks_by_iteration_can_change_their_mind_and_it_is_recorded(
    engine: Engine, blobs: BlobStore
) -> None:
    artwork_id = add_generated(engine, blobs, [scored(), scored(), scored()])
    with session_scope(engine) as session:
        choice = choose_by_person(session, session.get(Artwork, artwork_id), 2, via="cli")
        assert (choice.frame.iteration, choice.changed, choice.by) == (2, True, "person")
    with session_scope(engine) as session:
        again = choose_by_person(session, session.get(Artwork, artwork_id), 2, via="cli")
        assert not again.changed
        choose_by_person(session, session.get(Artwork, artwork_id), 0, via="review page")
    assert chosen_iterations(engine) == [0]
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork.state == "chosen" and artwork.chosen_by == "person"
        assert json.loads(artwork.choice_reason) == {
            "by": "person",
            "via": "review page",
            "iteration": 0,
        }
    assert events(engine, artwork_id)[-2:] == [
        ("generated", "chosen", "chosen by a person (cli): iteration 2"),
        ("chosen", "chosen", "chosen by a person (review page): iteration 0"),
    ]
    with session_scope(engine) as session, pytest.raises(ChooseError, match="iteration 7"):
        choose_by_person(session, session.get(Artwork, artwork_id), 7)


def test_the_automatic_choice_takes_the_best_weighted_rank_and_records_why(
    engine: Engine, blobs: BlobStore
) -> None:
    frames = [
        scored(prompt_similarity=0.20, critic=0.5),
        scored(prompt_similarity=0.30, critic=-1.0),  # best prompt, worst critic
        scored(prompt_similarity=0.28, critic=0.4),  # nearly best prompt, good critic
        scored(prompt_similarity=0.10, critic=0.6),
    ]
    artwork_id = add_generated(engine, blobs, frames)
    weights = RankWeights(
        prompt=1, source=0, critic=1, aesthetic=0, sharpness=0, colourfulness=0, blockiness=0
    )
    with session_scope(engine) as session:
        choice = choose_automatically(
            session, session.get(Artwork, artwork_id), weights, THRESHOLDS
        )
    # normalised: prompt (0.2,0.3,0.28,0.1) -> (.5, 1, .9, 0); critic -> (.9375, 0, .875, 1)
    assert choice.ranking is not None
    # 1 and 3 tie at 0.5: the later iteration ranks first
    assert [r.iteration for r in choice.ranking.ranked] == [2, 0, 3, 1]
    assert choice.ranking.winner.rank_score == pytest.approx((0.9 + 0.875) / 2)
    assert chosen_iterations(engine) == [2]
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        reason = json.loads(artwork.choice_reason)
    assert artwork.chosen_by == "auto"
    assert reason["winner"]["iteration"] == 2 and reason["runner_up"]["iteration"] == 0
    assert reason["winner"]["scores"]["prompt_similarity"] == pytest.approx(0.28)
    assert reason["weights"]["critic"] == 1.0 and reason["frames"] == 4
    assert events(engine, artwork_id)[-1][2].startswith(
        "chosen automatically: iteration 2 (rank 0.887) over iteration 0 (0.719)"
    )
    with session_scope(engine) as session:  # idempotent
        assert not choose_automatically(
            session, session.get(Artwork, artwork_id), weights, THRESHOLDS
        ).changed


def test_near_copies_are_never_chosen_automatically(engine: Engine, blobs: BlobStore) -> None:
    frames = [
        scored(prompt_similarity=0.9, hash_distance=3),  # the best, but a copy by hash
        scored(prompt_similarity=0.8, source_similarity=0.97),  # a copy by CLIP
        scored(prompt_similarity=0.2),
        scored(prompt_similarity=0.3),
    ]
    artwork_id = add_generated(engine, blobs, frames)
    with session_scope(engine) as session:
        choice = choose_automatically(
            session, session.get(Artwork, artwork_id), PROMPT_ONLY, THRESHOLDS
        )
    assert choice.frame.iteration == 3
    assert [r.iteration for r in choice.ranking.near_copies] == [0, 1]
    with session_scope(engine) as session:
        reason = json.loads(session.get(Artwork, artwork_id).choice_reason)
    excluded = reason["near_copies_excluded"]
    assert [e["iteration"] for e in excluded] == [0, 1]
    assert "perceptual hash 3/64 bits" in excluded[0]["reason"]
    assert "CLIP image similarity 0.970" in excluded[1]["reason"]

    only_copies = add_generated(
        engine, blobs, [scored(hash_distance=0), scored(hash_distance=5)], item_id="copies"
    )
    with session_scope(engine) as session, pytest.raises(ChooseError, match="every frame"):
        choose_automatically(session, session.get(Artwork, only_copies), PROMPT_ONLY, THRESHOLDS)


def test_an_untrained_clip_never_flags_a_near_copy(engine: Engine, blobs: BlobStore) -> None:
    smoke = "clip=smoke_clip_tiny; critic=smoke_vqgan_tiny; aesthetic=-"
    frames = [scored(source_similarity=0.999, score_models=smoke, prompt_similarity=0.9)]
    artwork_id = add_generated(engine, blobs, [*frames, scored(score_models=smoke)])
    with session_scope(engine) as session:
        choice = choose_automatically(
            session, session.get(Artwork, artwork_id), PROMPT_ONLY, THRESHOLDS
        )
    assert choice.frame.iteration == 0 and not choice.ranking.near_copies


def test_a_persons_choice_always_wins_over_the_automatic_one(
    engine: Engine, blobs: BlobStore
) -> None:
    artwork_id = add_generated(
        engine, blobs, [scored(prompt_similarity=0.1), scored(prompt_similarity=0.9)]
    )
    with session_scope(engine) as session:
        choose_by_person(session, session.get(Artwork, artwork_id), 0)
    with session_scope(engine) as session:
        choice = choose_automatically(
            session, session.get(Artwork, artwork_id), PROMPT_ONLY, THRESHOLDS
        )
    assert choice.kept and "a person chose iteration 0" in choice.kept
    assert chosen_iterations(engine) == [0]
    # ...while an automatic choice is the person's to change
    other = add_generated(
        engine, blobs, [scored(prompt_similarity=0.1), scored(prompt_similarity=0.9)], item_id="y"
    )
    with session_scope(engine) as session:
        choose_automatically(session, session.get(Artwork, other), PROMPT_ONLY, THRESHOLDS)
        choose_by_person(session, session.get(Artwork, other), 0)
    assert chosen_iterations(engine, other) == [0]


def test_the_automatic_choice_needs_scores(engine: Engine, blobs: BlobStore) -> None:
    artwork_id = add_generated(engine, blobs, [scored(), {"prompt_similarity": None}])
    with session_scope(engine) as session, pytest.raises(ChooseError, match="not scored"):
        choose_automatically(session, session.get(Artwork, artwork_id), PROMPT_ONLY, THRESHOLDS)


def test_a_person_rejects_an_artwork_and_curation_never_revives_it(
    engine: Engine, blobs: BlobStore
) -> None:
    artwork_id = add_generated(engine, blobs, [scored(), scored()])
    with session_scope(engine) as session:
        with pytest.raises(ChooseError, match="say why"):
            reject_by_person(session, session.get(Artwork, artwork_id), "   ")
        reject_by_person(session, session.get(Artwork, artwork_id), "all frames are mush")
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert (artwork.state, artwork.rejected_by) == ("rejected", "person")
        assert artwork.reason == "rejected by a person (review): all frames are mush"
    report = curate(engine, CurationParams(trim=0.0, years=(2017, 2021), top=10))
    assert report.selected == 1 and report.kept_in_pipeline == 1
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork.state == "rejected" and "all frames are mush" in artwork.reason


def test_cli_choose_auto_person_and_frames_export(data_dir: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    blobs = BlobStore(data_dir / "blobs")
    first = add_generated(
        engine, blobs, [scored(prompt_similarity=0.2), scored(prompt_similarity=0.3)]
    )
    second = add_generated(
        engine,
        blobs,
        [scored(prompt_similarity=0.5, hash_distance=1), scored(prompt_similarity=0.1)],
        item_id="z",
        title="<b>Bold</b> [red]sea[/red]",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["choose", "--auto"])
    assert result.exit_code == 0, result.output
    assert f"artwork {first}: frame iteration 1 chosen automatically (rank 1.000" in result.output
    assert f"artwork {second}: frame iteration 1 chosen automatically" in result.output
    assert "near-copies left out: [0]" in result.output
    result = runner.invoke(app, ["choose", str(first), "--iteration", "0"])
    assert result.exit_code == 0 and "iteration 0 chosen by a person" in result.output
    result = runner.invoke(app, ["choose", "--auto", "--artwork", str(first)])
    assert "a person chose iteration 0" in result.output
    assert chosen_iterations(engine, first) == [0]
    result = runner.invoke(app, ["choose", str(second), "--iteration", "0"])
    assert result.exit_code == 0 and "--force-near-copy" in result.output
    assert runner.invoke(app, ["choose", "999", "--iteration", "1"]).exit_code == 1
    assert runner.invoke(app, ["choose", "--iteration", "1"]).exit_code == 2

    export = tmp_path / "export"
    result = runner.invoke(app, ["frames", str(first), str(second), "--export", str(export)])
    assert result.exit_code == 0, result.output
    assert "chosen by a person (cli): iteration 0" in result.output
    assert "NEAR-COPY" in result.output and "<b>Bold</b> [red]sea[/red]" in result.output
    folder = export / f"artwork-{first}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "contact-sheet.png",
        "iteration-00.png",
        "iteration-01.png",
        "source.png",
    ]
    sheet = Image.open(folder / "contact-sheet.png")
    assert sheet.width >= 3 * 64 and sheet.format == "PNG"
    listed = json.loads(runner.invoke(app, ["frames", str(first), "--json"]).output)
    assert [f["iteration"] for f in listed[0]["frames"]] == [0, 1]
    assert listed[0]["frames"][0]["chosen"] and listed[0]["chosen_by"] == "person"
