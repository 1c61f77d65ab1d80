"""The store's schema version, managed by Alembic (revisions in `storage/migrations/versions`).

- `upgrade(engine)` runs every pending revision, each in its own transaction.
- `check(engine)` is what commands run at start: an empty database is created at the head
  revision; a database at the head is used as is; an older one is refused with the command that
  upgrades it (never migrated silently); one newer than the code (or at a revision this code
  does not know) is refused, since older code could corrupt what newer code wrote.
- Databases made by the hand-written runner of earlier releases (a `schema_version` table with
  versions 1–6, no `alembic_version`) are adopted: stamped at the revision that reproduces
  their version, then upgraded like any other database.

No alembic.ini: the Alembic config is built here, pointing at the package's own revisions, so
the schema works the same from a source checkout and an installed wheel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

# Alembic logs its engine choice on every connection at INFO; `bot db upgrade` reports what it
# did itself, so only Alembic's warnings reach the user's log.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LEGACY_TABLE = "schema_version"
# Hand-written schema version N (releases before Alembic) == Alembic revision "000N".
LEGACY_REVISIONS = {n: f"{n:04d}" for n in range(1, 7)}


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this code as it is."""


class SchemaOutdated(SchemaError):
    pass


class SchemaTooNew(SchemaError):
    pass


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database (or a legacy one not adopted yet)
    head: str
    legacy_version: int | None = None  # the old runner's version, before adoption

    @property
    def is_empty(self) -> bool:
        return self.current is None and self.legacy_version is None

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    # Parsing the revision files is the slow part of Alembic; it does not change in a process.
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _script().get_current_head()
    if head is None:
        raise SchemaError("no Alembic revisions are installed")
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in _script().walk_revisions()}


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message), oldest first."""
    rows = []
    for script in _script().walk_revisions():
        down = script.down_revision
        rows.append((script.revision, down if isinstance(down, str) else None, script.doc))
    return list(reversed(rows))


def state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        legacy = _legacy_version(connection) if current is None else None
    return SchemaState(current=current, head=head_revision(), legacy_version=legacy)


def _legacy_version(connection: Connection) -> int | None:
    if not inspect(connection).has_table(LEGACY_TABLE):
        return None
    value = connection.execute(text(f"SELECT MAX(version) FROM {LEGACY_TABLE}")).scalar()
    return int(value) if value is not None else None


def adopt_legacy(engine: Engine) -> str | None:
    """Stamp a database of the hand-written runner at its matching revision; returns it."""
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() is not None:
            return None
        version = _legacy_version(connection)
        if version is None:
            return None
        revision = LEGACY_REVISIONS.get(version)
        if revision is None:
            raise SchemaTooNew(
                f"the database is at hand-written schema v{version}, which this code does not "
                "know; use the release that created it"
            )
        command.stamp(alembic_config(connection), revision)
        connection.execute(text(f"DROP TABLE {LEGACY_TABLE}"))
    return revision


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Adopt a legacy database if needed, then upgrade to `target`; (before, after)."""
    before = state(engine)
    if before.current is not None and before.current not in known_revisions():
        raise SchemaTooNew(_too_new(before.current))
    adopt_legacy(engine)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _upgrade_sqlite(connection, target)
        else:  # PostgreSQL's DDL is transactional: every revision in one transaction
            with connection.begin():
                command.upgrade(alembic_config(connection), target)
    return before.current, state(engine).current or ""


def _upgrade_sqlite(connection: Connection, target: str) -> None:
    """Every pending revision in one SQLite transaction, as on PostgreSQL.

    Python's sqlite3 module only opens a transaction before INSERT/UPDATE/DELETE, so a
    revision's first CREATE TABLE would commit at once and a failing later revision would
    leave a half-upgraded database stamped at the old revision. For the upgrade the driver's
    transaction handling is switched off and the transaction begun explicitly."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    previous = raw.isolation_level  # type: ignore[attr-defined]
    # Batch mode rebuilds a table by copy; with foreign keys enforced, dropping the old copy of
    # a referenced table would fail (SQLite ignores the pragma inside a transaction).
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    raw.isolation_level = None  # type: ignore[attr-defined]
    try:
        with connection.begin():
            connection.exec_driver_sql("BEGIN")
            command.upgrade(alembic_config(connection), target)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise SchemaError(f"the upgrade broke foreign keys: {broken[:5]}")
    finally:
        raw.isolation_level = previous  # type: ignore[attr-defined]
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def check(engine: Engine) -> SchemaState:
    """Create an empty database at the head; refuse an older or newer one (see module doc)."""
    found = state(engine)
    if found.is_current:
        return found
    if found.is_empty:
        upgrade(engine)
        return state(engine)
    if found.current is not None and found.current not in known_revisions():
        raise SchemaTooNew(_too_new(found.current))
    where = (
        f"hand-written schema v{found.legacy_version}"
        if found.current is None
        else f"revision {found.current}"
    )
    raise SchemaOutdated(
        f"the database is at {where}, this code needs revision {found.head}: back it up, "
        "then run `bot db upgrade`"
    )


def _too_new(revision: str) -> str:
    return (
        f"the database is at revision {revision}, which this code does not know (its newest is "
        f"{head_revision()}): it was written by a newer nftbot; upgrade nftbot instead"
    )
