"""The hand-written migration runner of schema v1–v6, frozen as the releases before Alembic
shipped it. Tests use it to build databases exactly the way those releases did, so adopting
them (storage/schema.py) is tested against the real thing.

Each migration is a module `vNNNN_<what>.py` in this package with `VERSION`, `DESCRIPTION`
and `upgrade(connection)`. They run in order, each in its own transaction, and the applied
versions are recorded in `schema_version`. Migrations are plain DDL, never `create_all`, so an
old database upgrades exactly the way a new one is built.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

_MODULE_NAME = re.compile(r"^v(\d{4})_\w+$")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    module: ModuleType

    def upgrade(self, connection: Connection) -> None:
        self.module.upgrade(connection)


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        match = _MODULE_NAME.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        version = int(match.group(1))
        if version != module.VERSION:
            raise RuntimeError(f"migration {info.name} declares VERSION={module.VERSION}")
        found.append(Migration(version, module.DESCRIPTION, module))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def latest_version() -> int:
    migrations = all_migrations()
    return migrations[-1].version if migrations else 0


def current_version(connection: Connection) -> int:
    _ensure_version_table(connection)
    value = connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
    return int(value or 0)


def migrate(engine: Engine, target: int | None = None) -> list[int]:
    """Apply every pending migration up to `target` (default: all). Returns the applied ones."""
    applied: list[int] = []
    for migration in all_migrations():
        if target is not None and migration.version > target:
            break
        with engine.begin() as connection:
            if migration.version <= current_version(connection):
                continue
            migration.upgrade(connection)
            connection.execute(
                text(
                    "INSERT INTO schema_version (version, description, applied_at) "
                    "VALUES (:v, :d, :t)"
                ),
                {"v": migration.version, "d": migration.description, "t": _now()},
            )
        applied.append(migration.version)
    return applied


def _ensure_version_table(connection: Connection) -> None:
    connection.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY,"
            " description TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
