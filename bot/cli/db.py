"""`bot db upgrade | current | history`: the store's schema (Alembic revisions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from bot.cli.output import console

if TYPE_CHECKING:  # alembic and the database load when a command runs, not for `--help`
    from bot.context import AppContext

db_app = typer.Typer(help="The database schema: upgrade, current revision, history.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    backup: bool = typer.Option(
        True, help="Copy a SQLite database file aside before upgrading it."
    ),
) -> None:
    """Upgrade the database to this code's schema (adopts databases of earlier releases)."""
    from storage import schema
    from storage.db import make_engine, sqlite_backup

    context: AppContext = ctx.obj
    engine = make_engine(context.settings.db_url, schema_policy="skip")
    found = schema.state(engine)
    if found.is_current:
        console.print(f"database is at the head revision {found.head}; nothing to do")
        return
    if backup and not found.is_empty:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        copy = sqlite_backup(engine, suffix=f".before-{found.head}-{stamp}")
        if copy is not None:
            console.print(f"backup: {copy}")
    before, after = schema.upgrade(engine)
    console.print(f"upgraded {before or 'empty database'} -> {after}")


@db_app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the database's revision and the code's head revision."""
    from storage import schema
    from storage.db import make_engine

    context: AppContext = ctx.obj
    found = schema.state(make_engine(context.settings.db_url, schema_policy="skip"))
    if found.is_empty:
        where = "empty"
    elif found.current is None:
        where = f"hand-written schema v{found.legacy_version} (run `bot db upgrade`)"
    else:
        where = found.current
    console.print(f"database: {where}")
    console.print(f"code head: {found.head}")


@db_app.command("history")
def history() -> None:
    """List the schema revisions, oldest first."""
    from storage import schema

    for revision, down, message in schema.history():
        console.print(f"{revision}  (after {down or '-'})  {(message or '').split(chr(10))[0]}")
