from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from storage.db import make_engine
from storage.migrations import all_migrations, current_version, latest_version, migrate
from storage.models import load_all_models


def test_versions_are_unique_and_start_at_one() -> None:
    versions = [m.version for m in all_migrations()]
    assert versions[0] == 1
    assert versions == sorted(set(versions))


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    load_all_models()
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        db_columns = {column["name"] for column in inspector.get_columns(table.name)}
        model_columns = {column.name for column in table.columns}
        assert db_columns == model_columns, table.name


def test_wal_mode_is_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_upgrade_from_schema_v1_keeps_data_and_backfills_events(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url, run_migrations=False)
    assert migrate(old, target=1) == [1]
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO listings (id, source, marketplace, item_id, price, nsfw,"
                " first_seen_at, updated_at) VALUES (1, 'kaggle', 'hive', 'a', '12.5', 0,"
                " '2021-01-01 00:00:00', '2021-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO artworks (id, listing_id, state, attempts, created_at, updated_at,"
                " state_changed_at) VALUES (1, 1, 'candidate', 0, '2021-01-01 00:00:00',"
                " '2021-01-01 00:00:00', '2021-01-01 00:00:00')"
            )
        )
    old.dispose()

    engine = make_engine(url)
    with engine.connect() as connection:
        assert current_version(connection) == latest_version()
        assert connection.execute(text("SELECT price FROM listings")).scalar() == "12.5"
        event = connection.execute(text("SELECT artwork_id, to_state FROM artwork_events")).one()
        assert tuple(event) == (1, "candidate")


def test_migrating_twice_applies_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    assert migrate(engine) == []


@pytest.mark.parametrize("bad", ["v1_x", "v00001_x"])
def test_only_well_named_modules_are_migrations(bad: str) -> None:
    assert all(not m.module.__name__.endswith(bad) for m in all_migrations())
