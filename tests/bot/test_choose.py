from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.pipeline.choose_stage import ChooseError, choose_frame
from storage.artworks import create_artwork
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing
from storage.models import Artwork
from storage.models.frame import Frame


def generated_artwork(engine: Engine, losses: list[float | None]) -> int:
    with session_scope(engine) as session:
        listing, _ = upsert_listing(
            session, {"source": "t", "marketplace": "hive", "item_id": "x", "title": "Sea"}
        )
        session.flush()
        artwork = create_artwork(session, listing_id=listing.id, category="Sea")
        artwork.state = "generated"
        for iteration, loss in enumerate(losses):
            session.add(
                Frame(
                    artwork_id=artwork.id,
                    iteration=iteration,
                    blob_sha256="0" * 64,
                    loss=loss,
                    prompt="Sea",
                    seed=1,
                    model="m",
                    width=8,
                    height=8,
                )
            )
        return int(artwork.id)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}")


def chosen_iterations(engine: Engine) -> list[int]:
    with session_scope(engine) as session:
        return [f.iteration for f in session.exec(select(Frame).where(Frame.chosen)).all()]


def test_lowest_loss_is_chosen_and_rechoosing_is_a_no_op(engine: Engine) -> None:
    artwork_id = generated_artwork(engine, [0.9, 0.4, None, 0.6])
    with session_scope(engine) as session:
        choice = choose_frame(session, session.get(Artwork, artwork_id))
        assert (choice.frame.iteration, choice.changed) == (1, True)
    with session_scope(engine) as session:
        assert not choose_frame(session, session.get(Artwork, artwork_id)).changed
        assert session.get(Artwork, artwork_id).state == "chosen"
    assert chosen_iterations(engine) == [1]


def test_a_person_picks_by_iteration_and_can_change_their_mind(engine: Engine) -> None:
    artwork_id = generated_artwork(engine, [0.9, 0.4, 0.5])
    with session_scope(engine) as session:
        choose_frame(session, session.get(Artwork, artwork_id), iteration=2)
    with session_scope(engine) as session:
        choose_frame(session, session.get(Artwork, artwork_id), iteration=0)
    assert chosen_iterations(engine) == [0]
    with session_scope(engine) as session, pytest.raises(ChooseError, match="iteration 7"):
        choose_frame(session, session.get(Artwork, artwork_id), iteration=7)


def test_cli_choose(engine: Engine, data_dir: Path) -> None:
    cli_engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    artwork_id = generated_artwork(cli_engine, [0.3, 0.2])
    runner = CliRunner()
    result = runner.invoke(app, ["choose"])
    assert result.exit_code == 0, result.output
    assert f"artwork {artwork_id}: frame iteration 1" in result.output
    result = runner.invoke(app, ["choose", str(artwork_id), "--iteration", "0"])
    assert result.exit_code == 0 and "iteration 0" in result.output
    assert chosen_iterations(cli_engine) == [0]
    assert runner.invoke(app, ["choose", "999"]).exit_code == 1
