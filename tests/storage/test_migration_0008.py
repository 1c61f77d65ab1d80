"""Revision 0008: the series title stops being the category; what was generated keeps its
prompt; what was prepared with the title is prepared again; downgrade gives the title back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from storage import schema
from storage.db import make_engine

T0 = "'2021-01-01 00:00:00'"


def test_existing_artworks_are_migrated_sensibly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}", schema_policy="skip")
    schema.upgrade(engine, _before_0008())
    with engine.begin() as connection:
        for listing_id in range(1, 6):
            connection.execute(
                text(
                    "INSERT INTO listings (id, source, marketplace, item_id, title, nsfw,"
                    f" first_seen_at, updated_at) VALUES ({listing_id}, 'kaggle', 'hive',"
                    f" 'i{listing_id}', 'Ocean Dreams', 0, {T0}, {T0})"
                )
            )
        rows = [  # id, state, failed_stage, category
            (1, "prepared", None, "Ocean Dreams"),
            (2, "generated", None, "Ocean Dreams"),
            (3, "rejected", None, None),
            (4, "failed", "generated", "Ocean Dreams"),
            (5, "candidate", None, "Ocean Dreams"),
        ]
        for artwork_id, state, stage, category in rows:
            connection.execute(
                text(
                    "INSERT INTO artworks (id, listing_id, state, failed_stage, category, attempts,"
                    f" created_at, updated_at, state_changed_at) VALUES ({artwork_id},"
                    f" {artwork_id}, :state, :stage, :category, 0, {T0}, {T0}, {T0})"
                ),
                {"state": state, "stage": stage, "category": category},
            )
        for iteration in range(2):
            connection.execute(
                text(
                    "INSERT INTO frames (artwork_id, iteration, blob_sha256, prompt, seed, model,"
                    f" width, height, chosen, created_at) VALUES (2, {iteration}, 'ab', "
                    f"'Ocean Dreams|blurry:-0.5', 1, 'm', 8, 8, 0, {T0})"
                )
            )
    schema.upgrade(engine)
    with engine.connect() as connection:
        found = {
            row[0]: tuple(row[1:])
            for row in connection.execute(
                text("SELECT id, state, failed_stage, category, prompt, rejected_by FROM artworks")
            )
        }
        events = connection.execute(
            text("SELECT artwork_id, from_state, to_state, reason FROM artwork_events")
        ).all()
    assert found[1] == ("candidate", None, None, None, None)
    assert found[2] == ("generated", None, None, "Ocean Dreams|blurry:-0.5", None)
    assert found[3] == ("rejected", None, None, None, "curate")
    assert found[4] == ("failed", "prepared", None, None, None)
    assert found[5] == ("candidate", None, None, None, None)
    assert [(e[0], e[1], e[2]) for e in events] == [(1, "prepared", "candidate")]
    assert "series title is no longer the prompt" in events[0][3]

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # batch mode copies tables
        connection.commit()
        command.downgrade(schema.alembic_config(connection), _before_0008())
        connection.commit()
    with engine.connect() as connection:
        categories = dict(connection.execute(text("SELECT id, category FROM artworks")).all())
    assert categories[2] == "Ocean Dreams|blurry:-0.5" and categories[1] == "Ocean Dreams"


def _before_0008() -> str:
    """The revision 0008 follows (the chain is re-ordered when branches merge)."""
    return next(down for revision, down, _message in schema.history() if revision == "0008")
