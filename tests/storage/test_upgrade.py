"""The daemon's start (`storage.upgrade.open_store_at_start`): an older database is refused
unless BOT_DB_AUTO_UPGRADE is on; then a SQLite file is checked, backed up and upgraded with
its data; PostgreSQL is upgraded without a file backup, and says so."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import schema
from storage.db import make_engine
from storage.errors import StoreDamaged
from storage.upgrade import POSTGRES_NOTE, open_store_at_start
from tests.storage.test_migrations import legacy_db


@pytest.mark.parametrize("version", [1, 6])
def test_auto_upgrade_backs_up_then_upgrades_a_legacy_database_with_its_data(
    tmp_path: Path, version: int
) -> None:
    url = legacy_db(tmp_path, version)
    engine, outcome = open_store_at_start(url, auto_upgrade=True)

    assert outcome is not None and outcome.after == schema.head_revision()
    assert schema.state(engine).is_current
    with engine.connect() as connection:
        assert connection.execute(text("SELECT price FROM listings")).scalar() == "12.5"
        assert connection.execute(text("SELECT state FROM artworks")).scalar() == "candidate"
    # The copy is the database as it was: the old runner's version and the same rows.
    assert outcome.backup is not None and outcome.backup.name.startswith("old.db.before-")
    with sqlite3.connect(outcome.backup) as copy:
        assert copy.execute("SELECT MAX(version) FROM schema_version").fetchone() == (version,)
        assert copy.execute("SELECT price FROM listings").fetchone() == ("12.5",)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_without_auto_upgrade_an_older_database_is_refused_and_left_alone(
    tmp_path: Path,
) -> None:
    url = legacy_db(tmp_path, 6)
    before = (tmp_path / "old.db").read_bytes()
    with pytest.raises(schema.SchemaOutdated, match="bot db upgrade"):
        open_store_at_start(url, auto_upgrade=False)
    assert (tmp_path / "old.db").read_bytes() == before
    assert not list(tmp_path.glob("old.db.before-*"))


def test_a_newer_database_is_refused_even_with_auto_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    engine.dispose()
    with pytest.raises(schema.SchemaTooNew, match="newer nftbot"):
        open_store_at_start(db_url, auto_upgrade=True)


def test_a_damaged_file_is_neither_backed_up_nor_upgraded(tmp_path: Path) -> None:
    url = legacy_db(tmp_path, 6)
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:  # the listings table's root page
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'listings'"
        ).fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 64)  # a b-tree page header no SQLite writes
    with pytest.raises(StoreDamaged, match=r"old\.db is damaged"):
        open_store_at_start(url, auto_upgrade=True)
    assert not list(tmp_path.glob("old.db.before-*"))


def test_an_empty_database_is_created_at_the_head_on_either_engine(db_url: str) -> None:
    engine, outcome = open_store_at_start(db_url, auto_upgrade=False)
    assert outcome is not None
    assert (outcome.before, outcome.after) == (None, schema.head_revision())
    assert schema.state(engine).is_current


def test_a_revision_0001_database_is_upgraded_with_its_data_on_either_engine(
    db_url: str,
) -> None:
    """Revision 0001 is schema v1: on SQLite it is backed up first, on PostgreSQL the outcome
    says there is no file backup."""
    old = make_engine(db_url, schema_policy="skip")
    schema.upgrade(old, "0001")
    stamp = datetime(2021, 5, 1, 12, 30, tzinfo=UTC)
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO listings (id, source, marketplace, item_id, price, nsfw,"
                " first_seen_at, updated_at)"
                " VALUES (7, 'kaggle', 'hive', 'a', '0.000000000000000001', false, :t, :t)"
            ),
            {"t": stamp},
        )
        connection.execute(
            text(
                "INSERT INTO artworks (listing_id, state, attempts, created_at, updated_at,"
                " state_changed_at) VALUES (7, 'candidate', 0, :t, :t, :t)"
            ),
            {"t": stamp},
        )
    old.dispose()

    engine, outcome = open_store_at_start(db_url, auto_upgrade=True)
    assert outcome is not None
    assert (outcome.before, outcome.after) == ("0001", schema.head_revision())
    if db_url.startswith("sqlite"):
        assert outcome.backup is not None and outcome.backup.exists() and outcome.note is None
    else:
        assert outcome.backup is None and outcome.note == POSTGRES_NOTE
    with engine.connect() as connection:
        price = connection.execute(text("SELECT price FROM listings WHERE id = 7")).scalar()
        event = connection.execute(text("SELECT to_state FROM artwork_events")).scalar()
    assert (price, event) == ("0.000000000000000001", "candidate")  # 0002's back-fill ran
