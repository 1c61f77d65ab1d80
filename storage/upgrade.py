"""Upgrading a store's schema safely: what `bot db upgrade` and the daemon's start run.

- A SQLite file is checked (`PRAGMA quick_check`) and copied aside with SQLite's online backup
  API before any revision runs; a damaged file is never upgraded.
- PostgreSQL gets no file backup (that is pg_dump's job, outside the bot); the whole upgrade
  runs in one transaction there (PostgreSQL's DDL is transactional), so a failing revision
  leaves the database at the revision it had. The outcome says so, for the log.
- An empty database is simply created at the head; a database newer than the code is refused
  (`storage.schema.SchemaTooNew`).

`open_store_at_start(url, auto_upgrade=...)` is the daemon's entry: with auto-upgrade off
(BOT_DB_AUTO_UPGRADE, the default) an older database is refused like every command refuses
it; with it on, it is backed up and upgraded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from storage import schema
from storage.db import make_engine, refuse_damaged, sqlite_backup

POSTGRES_NOTE = (
    "no file backup on PostgreSQL (take one with pg_dump before upgrading nftbot); the upgrade "
    "ran in one transaction"
)


@dataclass(frozen=True)
class UpgradeOutcome:
    before: str | None  # revision before; None: an empty database or one of the old runner
    after: str
    backup: Path | None = None
    note: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade_with_backup(engine: Engine, *, backup: bool = True) -> UpgradeOutcome:
    """Check and back up (SQLite) a database that has data, then upgrade it to the head."""
    found = schema.state(engine)
    if found.is_current:
        return UpgradeOutcome(found.current, found.head)
    if found.current is not None and found.current not in schema.known_revisions():
        schema.check(engine)  # raises SchemaTooNew with the message every command gives
    copy: Path | None = None
    note: str | None = None
    if not found.is_empty:
        refuse_damaged(engine)  # never upgrade (nor back up) a damaged file
        if engine.dialect.name == "sqlite":
            if backup:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                copy = sqlite_backup(engine, suffix=f".before-{found.head}-{stamp}")
        else:
            note = POSTGRES_NOTE
    before, after = schema.upgrade(engine)
    return UpgradeOutcome(before, after, copy, note)


def open_store_at_start(url: str, *, auto_upgrade: bool) -> tuple[Engine, UpgradeOutcome | None]:
    """The daemon's store at start: (engine, what the upgrade did, or None when nothing ran).

    An empty database is created; one at the head is used; an older one is upgraded with
    `upgrade_with_backup` when `auto_upgrade` is on and refused (SchemaOutdated: "run `bot db
    upgrade`") when it is off; a newer one is always refused."""
    engine = make_engine(url, schema_policy="skip")
    found = schema.state(engine)
    if found.is_current:
        return engine, None
    if found.is_empty:  # created at the head (a zero-byte SQLite file is refused as truncated)
        engine.dispose()
        created = make_engine(url, schema_policy="check")
        return created, UpgradeOutcome(None, schema.head_revision())
    if not auto_upgrade:
        schema.check(engine)  # raises: older or newer than the code
    return engine, upgrade_with_backup(engine)


__all__ = ["POSTGRES_NOTE", "UpgradeOutcome", "open_store_at_start", "upgrade_with_backup"]
