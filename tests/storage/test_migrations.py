"""The schema under Alembic: fresh databases match the models, earlier releases' databases are
adopted with their data, older and newer databases are refused at start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot.cli.app import app
from storage import schema
from storage.db import make_engine
from storage.models import load_all_models
from tests.storage.legacy import migrate as legacy_migrate


def _differences(engine: Engine, *, legacy: bool = False) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the models.

    `legacy`: the hand-written DDL declared primary keys without NOT NULL, which SQLite
    reflects as nullable (a rowid alias can never hold NULL, and the code never writes a NULL
    key); only that is forgiven for adopted databases."""
    load_all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found = list(compare_metadata(context, SQLModel.metadata))
    if legacy:
        found = [group for group in found if not _rowid_nullability(group)]
    return found


def _rowid_nullability(group: object) -> bool:
    if not (isinstance(group, list) and len(group) == 1 and group[0][0] == "modify_nullable"):
        return False
    _kind, _schema, table, column = group[0][:4]
    return bool(SQLModel.metadata.tables[table].columns[column].primary_key)


def legacy_db(tmp_path: Path, version: int) -> str:
    """A SQLite database built by the hand-written runner of earlier releases, at schema
    `version`, holding one listing and its artwork."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url, schema_policy="skip")
    assert legacy_migrate(old, target=version) == list(range(1, version + 1))
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
    return url


def test_fresh_database_matches_the_models_column_by_column_and_type_by_type(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    assert _differences(engine) == []
    assert schema.state(engine).is_current


def test_revisions_form_one_line_from_0001() -> None:
    revisions = [revision for revision, _down, _message in schema.history()]
    assert revisions[0] == "0001"
    assert revisions[-1] == schema.head_revision()
    assert len(set(revisions)) == len(revisions)


def test_wal_mode_is_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("version", [1, 6])
def test_a_database_of_the_hand_written_runner_is_adopted_with_its_data(
    tmp_path: Path, version: int
) -> None:
    url = legacy_db(tmp_path, version)
    engine = make_engine(url, schema_policy="skip")
    with pytest.raises(schema.SchemaOutdated, match="bot db upgrade"):
        schema.check(engine)

    before, after = schema.upgrade(engine)
    assert (before, after) == (None, schema.head_revision())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT price FROM listings")).scalar() == "12.5"
        if version == 1:  # revision 0002 back-fills one event per existing artwork
            event = connection.execute(text("SELECT artwork_id, to_state FROM artwork_events"))
            assert tuple(event.one()) == (1, "candidate")
        tables = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master"))}
    assert "schema_version" not in tables
    assert _differences(engine, legacy=True) == []


def test_upgrading_twice_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    head = schema.head_revision()
    assert schema.upgrade(engine) == (head, head)


def test_an_older_revision_is_refused_until_upgraded_with_a_backup(
    store_env: str, data_dir: Path
) -> None:
    engine = make_engine(store_env, schema_policy="skip")
    schema.upgrade(engine, "0005")
    engine.dispose()
    runner = CliRunner()

    refused = runner.invoke(app, ["status"])
    assert refused.exit_code != 0
    assert isinstance(refused.exception, schema.SchemaOutdated)

    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    if store_env.startswith("sqlite"):
        assert "backup:" in upgraded.output
        assert list(data_dir.glob("bot.db.before-*"))
    else:  # PostgreSQL: pg_dump's job; the output says none was taken
        assert "no file backup on PostgreSQL" in upgraded.output
    assert runner.invoke(app, ["status"]).exit_code == 0
    assert schema.head_revision() in runner.invoke(app, ["db", "current"]).output


def test_a_newer_database_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(schema.SchemaTooNew, match="newer nftbot"):
        schema.check(engine)
    with pytest.raises(schema.SchemaTooNew):
        schema.upgrade(engine)


def test_the_cli_refuses_a_newer_database_in_one_line(data_dir: Path) -> None:
    import subprocess
    import sys

    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    engine.dispose()
    completed = subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "newer nftbot" in lines[0], completed.stderr


def test_history_names_every_revision(tmp_path: Path) -> None:
    output = CliRunner().invoke(app, ["db", "history"]).output
    for revision, _down, _message in schema.history():
        assert revision in output


def test_alembic_stamp_is_the_same_as_upgrade_for_the_version_table(db_url: str) -> None:
    """The config the bot builds is a working Alembic config (stamp/upgrade by hand work)."""
    engine = make_engine(db_url, schema_policy="skip")
    with engine.begin() as connection:
        command.upgrade(schema.alembic_config(connection), "0003")
    assert schema.state(engine).current == "0003"


def test_an_upgrade_is_all_or_nothing(db_url: str) -> None:
    """Every pending revision runs in one transaction (DDL is transactional on both engines):
    a revision that fails leaves the database at the revision it had, data included."""
    engine = make_engine(db_url, schema_policy="skip")
    schema.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO listings (source, marketplace, item_id, nsfw, first_seen_at,"
                " updated_at) VALUES ('t', 'm', 'a', false, :t, :t)"
            ),
            {"t": datetime(2021, 1, 1, tzinfo=UTC)},
        )
        # A table in the way of revision 0004 (which creates `pins`): 0002 and 0003 run, then
        # 0004 fails.
        connection.execute(text("CREATE TABLE pins (id INTEGER PRIMARY KEY)"))
    with pytest.raises(DBAPIError):
        schema.upgrade(engine)
    assert schema.state(engine).current == "0001"
    with engine.connect() as connection:
        assert not inspect(connection).has_table("artwork_events")  # 0002 was rolled back
        assert not inspect(connection).has_table("frames")  # and 0003
        assert connection.execute(text("SELECT item_id FROM listings")).scalar() == "a"
