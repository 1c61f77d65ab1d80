"""`bot init`, `bot status`, `bot doctor`, `bot config show`."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.output import cell, console, safe
from bot.context import AppContext
from bot.doctor import run_checks
from bot.text import printable
from storage import schema
from storage.artworks import counts_by_state
from storage.db import session_scope
from storage.errors import describe
from storage.models import PIPELINE_ORDER, ArtworkState

config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("status")(status)
    app.command("doctor")(doctor)
    app.add_typer(config_app, name="config")


def init(ctx: typer.Context) -> None:
    """Create the data dir and the database (migrated to the latest schema)."""
    context: AppContext = ctx.obj
    context.settings.data_dir.mkdir(parents=True, exist_ok=True)
    context.blobs.root.mkdir(parents=True, exist_ok=True)
    revision = schema.state(context.engine).current
    console.print(f"data dir: {safe(context.settings.data_dir.resolve())}")
    console.print(f"database: {safe(describe(context.settings.db_url))} (revision {revision})")
    console.print(f"marketplace mode: {context.settings.marketplace_mode.value}")


def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Count artworks per state."""
    context: AppContext = ctx.obj
    with session_scope(context.reader) as session:
        counts = counts_by_state(session)
    ordered = [*PIPELINE_ORDER, ArtworkState.REJECTED, ArtworkState.FAILED]
    if as_json:
        typer.echo(json.dumps({state.value: counts.get(state.value, 0) for state in ordered}))
        return
    table = Table(title="Artworks by state")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state in ordered:
        table.add_row(state.value, str(counts.get(state.value, 0)))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    console.print(table)


def doctor(ctx: typer.Context) -> None:
    """Check config, database, disk, GPU, generator libraries and wallet; exit code = failures."""
    context: AppContext = ctx.obj
    results = run_checks(context)
    table = Table(title="bot doctor")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for result in results:
        mark = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]"}.get(
            result.status, "[red]FAIL[/red]"
        )
        table.add_row(result.name, mark, cell(result.detail))
    console.print(table)
    failures = sum(1 for result in results if result.status == "fail")
    raise typer.Exit(min(failures, 100))


@config_app.command("show")
def config_show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print every setting; secrets are redacted."""
    context: AppContext = ctx.obj
    shown = context.settings.redacted()
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    table = Table(title="Effective settings (env BOT_* and .env)")
    table.add_column("setting")
    table.add_column("value")
    for name, value in shown.items():
        # Text, not a markup string: a value such as `[/x]` is shown as written
        cell = Text("" if value is None else printable(str(value)))
        table.add_row(f"BOT_{name.upper()}", cell)
    console.print(table)


__all__ = ["register"]
