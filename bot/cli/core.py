"""`bot init`, `bot status`, `bot doctor`, `bot config show`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from bot.cli.output import console, new_table, print_table, safe
from bot.text import printable

if TYPE_CHECKING:
    from bot.context import AppContext

config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("status")(status)
    app.command("doctor")(doctor)
    app.add_typer(config_app, name="config")


def init(ctx: typer.Context) -> None:
    """Create the data dir and the database (migrated to the latest schema)."""
    from storage import schema
    from storage.errors import describe

    context: AppContext = ctx.obj
    context.settings.data_dir.mkdir(parents=True, exist_ok=True)
    context.blobs.root.mkdir(parents=True, exist_ok=True)
    revision = schema.state(context.engine).current
    console.print(f"data dir: {safe(context.settings.data_dir.resolve())}")
    console.print(f"database: {safe(describe(context.settings.db_url))} (revision {revision})")
    console.print(f"marketplace mode: {context.settings.marketplace_mode.value}")


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print {state: count} as JSON."),
) -> None:
    """Count artworks per state."""
    from storage.artworks import counts_by_state
    from storage.db import session_scope
    from storage.models import PIPELINE_ORDER, ArtworkState

    context: AppContext = ctx.obj
    with session_scope(context.reader) as session:
        counts = counts_by_state(session)
    ordered = [*PIPELINE_ORDER, ArtworkState.REJECTED, ArtworkState.FAILED]
    if as_json:
        typer.echo(json.dumps({state.value: counts.get(state.value, 0) for state in ordered}))
        return
    table = new_table("state", "count", title="Artworks by state", right=("count",))
    for state in ordered:
        table.add_row(state.value, str(counts.get(state.value, 0)))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    print_table(table)


_MARKS = {
    "ok": "[green]ok[/green]  ",
    "warn": "[yellow]warn[/yellow]",
    "fail": "[red]FAIL[/red]",
    "skip": "[dim]skip[/dim]",
}


def doctor(ctx: typer.Context) -> None:
    """Check config, database, disk, install, GPU, weights, IPFS, Rarible, the wallet and
    what was published (royalties the exchange accepts, no second live sell order).

    One line per check (ok, warn, fail or skip); the exit code is the number of failures.
    """
    from rich.markup import escape

    from bot.doctor import run_checks

    context: AppContext = ctx.obj
    results = run_checks(context)
    width = max(len(result.name) for result in results)
    for result in results:
        mark = _MARKS.get(result.status, result.status)
        detail = escape(printable(result.detail))
        console.print(f"{mark} {result.name:<{width}}  {detail}", highlight=False)
    failures = sum(1 for result in results if result.status == "fail")
    warnings = sum(1 for result in results if result.status == "warn")
    console.print(f"{failures} failed, {warnings} warning(s)", highlight=False)
    raise typer.Exit(min(failures, 100))


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the settings as JSON."),
) -> None:
    """Print every setting; secrets are redacted."""
    context: AppContext = ctx.obj
    shown = context.settings.redacted()
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    table = new_table("setting", "value", title="Effective settings (env BOT_* and .env)")
    for name, value in shown.items():
        # Text, not a markup string: a value such as `[/x]` is shown as written
        cell = Text("" if value is None else printable(str(value)))
        table.add_row(f"BOT_{name.upper()}", cell)
    print_table(table)
