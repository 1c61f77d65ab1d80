"""Revision 0011 (choosing the frame) upgrades with the data in place and downgrades cleanly."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from storage import schema
from storage.db import make_engine


def _before(revision: str) -> str:
    """The revision this one follows (they are re-chained as branches land)."""
    return next(down for rev, down, _message in schema.history() if rev == revision)


def _columns(engine, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_0011_adds_the_choice_columns_and_downgrades_keeping_the_rows(db_url: str) -> None:
    engine = make_engine(db_url, schema_policy="skip")
    schema.upgrade(engine, _before("0011"))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO listings (id, source, marketplace, item_id, nsfw, first_seen_at,"
                " updated_at) VALUES (1, 'kaggle', 'hive', 'a', false, '2021-01-01', '2021-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO artworks (id, listing_id, state, attempts, created_at, updated_at,"
                " state_changed_at) VALUES (1, 1, 'generated', 0, '2021-01-01', '2021-01-01',"
                " '2021-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO frames (artwork_id, iteration, blob_sha256, prompt, seed, model,"
                " width, height, chosen, created_at)"
                " VALUES (1, 0, 'ab', 'Sea', 1, 'm', 8, 8, false, '2021-01-01')"
            )
        )
    schema.upgrade(engine, "0011")
    assert {"prompt_similarity", "critic", "hash_distance", "near_copy_override"} <= _columns(
        engine, "frames"
    )
    assert {"chosen_by", "choice_reason", "upscaled_blob", "upscale_model"} <= _columns(
        engine, "artworks"
    )
    with engine.begin() as connection:
        connection.execute(text("UPDATE frames SET critic = 0.5, hash_distance = 3"))
        assert connection.execute(text("SELECT prompt, critic FROM frames")).one() == ("Sea", 0.5)
    with engine.begin() as connection:
        command.downgrade(schema.alembic_config(connection), _before("0011"))
    assert "critic" not in _columns(engine, "frames")
    assert "chosen_by" not in _columns(engine, "artworks")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT prompt FROM frames")).scalar_one() == "Sea"
    schema.upgrade(engine, "0011")
    assert "critic" in _columns(engine, "frames")
