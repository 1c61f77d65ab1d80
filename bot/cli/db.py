"""`bot db upgrade | current | history | check`: the store's schema and its health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, err_console, plain, safe

if TYPE_CHECKING:  # alembic and the database load when a command runs, not for `--help`
    from bot.context import AppContext

db_app = typer.Typer(help="The database schema: upgrade, current revision, history, check.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    backup: bool = typer.Option(
        True, help="Copy a SQLite database file aside before upgrading it."
    ),
) -> None:
    """Upgrade the database to this code's schema (adopts databases of earlier releases).

    A SQLite file is checked first (a damaged one is not upgraded) and copied aside."""
    from storage.db import make_engine
    from storage.upgrade import upgrade_with_backup

    context: AppContext = ctx.obj
    engine = make_engine(context.settings.db_url, schema_policy="skip")
    outcome = upgrade_with_backup(engine, backup=backup)
    if not outcome.changed:
        console.print(f"database is at the head revision {outcome.after}; nothing to do")
        return
    if outcome.backup is not None:
        console.print(f"backup: {safe(outcome.backup)}")
    if outcome.note:
        console.print(safe(outcome.note))
    console.print(f"upgraded {outcome.before or 'empty database'} -> {outcome.after}")


@db_app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the database's revision and the code's head revision (changes nothing)."""
    from storage import schema
    from storage.db import make_engine

    context: AppContext = ctx.obj
    engine = make_engine(context.settings.db_url, schema_policy="skip", read_only=True)
    found = schema.state(engine)
    if found.is_empty:
        where = "empty (no schema yet)"
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


@db_app.command("check")
def check(
    ctx: typer.Context,
    full: bool = typer.Option(
        True, "--full/--quick", help="integrity_check (also indexes) or the faster quick_check."
    ),
) -> None:
    """Run SQLite's integrity check on the database file (read-only); exit 1 when damaged."""
    from storage import schema
    from storage.db import integrity_problems, make_engine
    from storage.errors import describe

    context: AppContext = ctx.obj
    described = describe(context.settings.db_url)
    where = safe(described)
    engine = make_engine(context.settings.db_url, schema_policy="skip", read_only=True)
    if schema.state(engine).is_empty:
        console.print(f"{where}: no database yet; nothing to check")
        return
    problems = integrity_problems(engine, full=full)
    if problems is None:
        console.print(f"{where}: no integrity check on {engine.dialect.name} (use pg_amcheck)")
        return
    if not problems:
        console.print(f"{where}: ok ({'integrity_check' if full else 'quick_check'})")
        return
    console.print(f"{plain(described)}: damaged", markup=False)
    for problem in problems:
        console.print(f"  {problem}", markup=False, highlight=False)
    raise typer.Exit(1)


@db_app.command("mode")
def mode(
    ctx: typer.Context,
    adopt: str | None = typer.Option(
        None,
        "--adopt",
        help="Record this mode on a store that has none recorded (one made before modes were "
        "recorded that holds records of several modes).",
    ),
) -> None:
    """Show the marketplace mode the store belongs to (dry-run, testnet, mainnet), or record
    one on a store that has none yet."""
    from rich.text import Text

    from storage.db import make_engine
    from storage.errors import describe
    from storage.store_mode import MODES, modes_in_use, record_mode, recorded_mode

    context: AppContext = ctx.obj
    url = context.settings.db_url
    where = describe(url)
    if adopt is None:
        engine = make_engine(url, schema_policy="check", read_only=True)
        with engine.connect() as connection:
            stored = recorded_mode(connection)
            found = modes_in_use(connection)
        held = ", ".join(f"{m}: {n}" for m, n in sorted(found.items())) or "no marketplace records"
        console.print(Text(f"database {where} ({held}): {stored or 'none recorded'}"))
        return
    if adopt not in MODES:
        err_console.print(Text(f"--adopt {adopt}: the modes are {', '.join(MODES)}"))
        raise typer.Exit(2)
    engine = make_engine(url, schema_policy="check")
    with engine.connect() as connection:
        stored = recorded_mode(connection)
        found = modes_in_use(connection)
    if stored is not None:
        err_console.print(Text(f"database {where} is already recorded as {stored}"))
        raise typer.Exit(2)
    if found and adopt not in found:
        err_console.print(
            Text(f"database {where} holds no {adopt} records (it holds {', '.join(sorted(found))})")
        )
        raise typer.Exit(2)
    record_mode(engine, adopt)
    others = sorted(set(found) - {adopt})
    note = f"; its {', '.join(others)} records stay, filtered out by their mode" if others else ""
    console.print(Text(f"database {where} recorded as {adopt}{note}"))
