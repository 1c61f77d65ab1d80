"""`bot init`, `bot status`, `bot doctor`, `bot config show`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from bot.cli.output import console, new_table, print_table, safe
from bot.text import printable

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.daemon.heartbeat import DaemonView

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
    as_json: bool = typer.Option(
        False, "--json", help="Print {state: count, daemon: {...}} as JSON."
    ),
    require_daemon: bool = typer.Option(
        False, "--require-daemon", help="Exit 1 when the daemon is not alive (health checks)."
    ),
) -> None:
    """Count artworks per state; whether the daemon is alive, its last heartbeat and the next
    runs of its jobs."""
    from bot.daemon.heartbeat import view
    from storage.artworks import counts_by_state
    from storage.db import session_scope
    from storage.models import PIPELINE_ORDER, ArtworkState

    context: AppContext = ctx.obj
    with session_scope(context.reader) as session:
        counts = counts_by_state(session)
    settings = context.settings
    daemon = view(
        context.reader, heartbeat_s=settings.daemon_heartbeat_s, lock_path=settings.lock_path
    )
    ordered = [*PIPELINE_ORDER, ArtworkState.REJECTED, ArtworkState.FAILED]
    if as_json:
        shown: dict[str, object] = {state.value: counts.get(state.value, 0) for state in ordered}
        shown["daemon"] = daemon.as_json()
        typer.echo(json.dumps(shown))
    else:
        _print_states(counts, ordered)
        _print_daemon(daemon)
    if require_daemon and not daemon.alive:
        raise typer.Exit(1)


def _print_states(counts: dict[str, int], ordered: list[Any]) -> None:
    table = new_table("state", "count", title="Artworks by state", right=("count",))
    for state in ordered:
        table.add_row(state.value, str(counts.get(state.value, 0)))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    print_table(table)


def _print_daemon(daemon: DaemonView) -> None:
    row = daemon.row
    if row is None:
        console.print("daemon: never started on this store")
        return
    beat = row.beat_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if daemon.alive:
        console.print(
            f"daemon: [green]alive[/green], pid {row.pid} on {row.host}, last heartbeat {beat}"
        )
    else:
        stopped = f", {printable(row.note)}" if row.state == "stopped" and row.note else ""
        line = Text.assemble(
            "daemon: ",
            ("not running", "red"),
            f" (last: pid {row.pid} on {row.host}, last heartbeat {beat}{stopped})",
        )
        console.print(line)
    if daemon.alive and row.note:
        console.print(Text(f"cannot run yet: {printable(row.note)}"))
    if not daemon.jobs:
        return
    jobs = new_table("job", "next run", "last run", title="Daemon jobs")
    for job in daemon.jobs:
        nxt = job.next_run.strftime("%Y-%m-%d %H:%M:%S UTC") if job.next_run else "paused"
        last = job.last_run or {}
        jobs.add_row(
            job.job_id,
            nxt,
            Text(printable(f"{last.get('finished', '-')} {last.get('outcome', '')}")),
        )
    print_table(jobs)


_MARKS = {
    "ok": "[green]ok[/green]  ",
    "warn": "[yellow]warn[/yellow]",
    "fail": "[red]FAIL[/red]",
    "skip": "[dim]skip[/dim]",
}


def doctor(ctx: typer.Context) -> None:
    """Check config, database, disk, install, GPU, weights, IPFS, Rarible, the wallet and
    what was published (royalties the exchange accepts, no second live sell order).

    One line per check (ok, warn, fail or skip); exit status 1 when any check failed.
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
    raise typer.Exit(1 if failures else 0)


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
