"""`bot run [--once]`, `bot failed`, `bot retry`: the pipeline as one command.

Exit status, as for every command: 0 done or nothing to do, 1 some items failed, 2 a
configuration error (settings, a store of another mode, another bot on this data dir, a bad
option).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from types import FrameType
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from bot.cli.output import console, err_console, new_table, print_table, safe
from bot.pipeline.steps import STEPS
from bot.text import printable

if TYPE_CHECKING:  # the pipeline is imported when a command runs, not for `bot --help`
    from bot.context import AppContext
    from bot.pipeline.cycle import CycleReport
    from bot.pipeline.runner import StageReport

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("failed")(failed)
    app.command("retry")(retry)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set `stop`: the artwork in hand is finished, the rest left for the next
    run (every step is safe to resume). A second signal interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread (tests)
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.warning(
            "%s: finishing the current step, then stopping (again to interrupt now)",
            signal.Signals(signum).name,
        )

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_cycle(report: CycleReport) -> None:
    """Steps and stages in the order they ran: scrape, curate, fetch, the stages, sync."""
    table = new_table("step", "result", "detail", title="bot run")
    marks = {"done": "[green]done[/green]", "failed": "[red]failed[/red]"}
    before = [step for step in report.steps if step.name != "sync"]
    after = [step for step in report.steps if step.name == "sync"]
    for step in before:
        table.add_row(step.name, marks.get(step.status, step.status), _plain(step.detail))
    for stage in _merged(report.stages.stages):
        name, result, detail = _stage_row(stage)
        table.add_row(name, result, _plain(detail))
    for step in after:
        table.add_row(step.name, marks.get(step.status, step.status), _plain(step.detail))
    print_table(table)


def _plain(text: str) -> Text:
    """Details quote errors and names from outside: shown as text, never as markup."""
    return Text(printable(" ".join(text.split())))


def _merged(stages: list[StageReport]) -> list[StageReport]:
    """A stage that ran several rounds (or a reconcile first) is one row, in pipeline order."""
    from bot.pipeline.runner import StageReport
    from bot.pipeline.stages import default_stages

    merged: dict[str, StageReport] = {s.name: StageReport(s.name) for s in default_stages()}
    for stage in stages:
        into = merged.setdefault(stage.name, StageReport(stage.name))
        into.skipped = into.skipped or stage.skipped
        into.advanced += stage.advanced
        into.failed.update(stage.failed)
        into.parked.update(stage.parked)
        into.waiting += stage.waiting
    ran = {stage.name for stage in stages}
    return [stage for name, stage in merged.items() if name in ran]


def _stage_row(stage: StageReport) -> tuple[str, str, str]:
    if stage.skipped:
        return stage.name, "[yellow]skipped[/yellow]", stage.skipped
    if not stage.taken:
        return stage.name, "nothing", "no artwork due"
    parts = [f"{len(stage.advanced)} advanced"]
    if stage.waiting:
        parts.append(f"{len(stage.waiting)} waiting")
    if stage.failed:
        parts.append(f"{len(stage.failed)} failed (retried later)")
    if stage.parked:
        parts.append(f"{len(stage.parked)} parked as failed (bot failed)")
    result = "[red]failed[/red]" if stage.failed or stage.parked else "[green]done[/green]"
    return stage.name, result, ", ".join(parts)


def run(
    ctx: typer.Context,
    once: bool = typer.Option(
        False, "--once", help="One full cycle, then exit (cron); without it, cycle until stopped."
    ),
    skip: list[str] = typer.Option(
        [], "--skip", help=f"Leave a step out (repeatable): {', '.join(STEPS)}."
    ),
    stage: list[str] = typer.Option(
        [], "--stage", help="Run only these pipeline stages (repeatable)."
    ),
) -> None:
    """The whole pipeline: scrape → curate → fetch → prepare → generate → choose → upscale
    (with BOT_UPSCALE_ENABLED) → pin → mint → list → sync. Stages that cannot run yet (no
    weights, no wallet) are reported and skipped; one artwork's failure is recorded on it and
    retried with backoff. Exit 1 when any item failed in this run."""
    from bot.cli.progress import progress
    from bot.daemon.lock import InstanceLock, LockHeld, command_line
    from bot.notify import open_notifier
    from bot.pipeline.context import PipelineContext
    from bot.pipeline.cycle import run_cycle
    from bot.pipeline.stages import default_stages, stage_named

    context: AppContext = ctx.obj
    unknown = sorted(set(skip) - set(STEPS))
    if unknown:
        err_console.print(f"--skip {', '.join(unknown)}: steps are {', '.join(STEPS)}")
        raise typer.Exit(2)
    try:
        stages = [stage_named(name) for name in stage] if stage else default_stages()
    except KeyError as exc:
        err_console.print(str(exc.args[0]), markup=False)
        raise typer.Exit(2) from None
    try:
        lock = InstanceLock(context.settings.lock_path, command_line()).acquire()
    except LockHeld as exc:
        err_console.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None
    failures = 0
    try:
        # The webhook (BOT_WEBHOOK_URL) hears of artworks parked as failed, sales and new
        # highest bids; at exit the command waits at most BOT_WEBHOOK_TIMEOUT_S for it.
        notifier = open_notifier(context.settings, context.engine)
        pipeline = PipelineContext(app=context, progress=progress, notifier=notifier)
        with notifier, stop_on_signals(pipeline.stop):
            while True:
                report = run_cycle(pipeline, skip=skip, stages=stages)
                print_cycle(report)
                for notice in dict.fromkeys(pipeline.notices):
                    err_console.print(Text(notice, style="bold red on yellow"))
                failures += report.failures
                if once or pipeline.stop.wait(context.settings.daemon_tick_interval_s):
                    break
        pipeline.close_resources()
    finally:
        lock.release()
    if failures:
        raise typer.Exit(1)


def failed(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the failed artworks as JSON."),
) -> None:
    """Failed artworks: stage, error, attempts, and the next retry (or parked: waits for
    `bot retry`)."""
    from bot.pipeline.context import PipelineContext
    from bot.pipeline.retry import failed_artworks

    context: AppContext = ctx.obj
    policy = PipelineContext(app=context).policy
    rows = failed_artworks(context.reader, policy)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "artwork_id": row.artwork_id,
                        "stage": row.stage,
                        "error": row.error,
                        "attempts": row.attempts,
                        "max_attempts": policy.max_attempts,
                        "parked": row.parked,
                        "refused": row.refused,
                        "next_attempt_at": row.next_attempt_at.isoformat()
                        if row.next_attempt_at
                        else None,
                        "failed_at": row.failed_at.isoformat(),
                    }
                    for row in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        console.print("no failed artworks")
        return
    table = new_table(
        "artwork",
        "stage",
        "attempts",
        "next retry",
        "error",
        title=f"Failed artworks (parked after {policy.max_attempts} attempts)",
    )
    for row in rows:
        when = (
            "[red]parked[/red] (bot retry)"
            if row.parked
            else row.next_attempt_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if row.next_attempt_at
            else "next pass"
        )
        attempts = "refused" if row.refused else f"{row.attempts}/{policy.max_attempts}"
        error = Text(printable(" ".join(row.error.split())))  # data: never markup
        table.add_row(str(row.artwork_id), row.stage, attempts, when, error)
    print_table(table)


def retry(
    ctx: typer.Context,
    artwork: list[int] | None = typer.Argument(None, help="Failed artwork id(s)."),
    all_failed: bool = typer.Option(False, "--all", help="Every failed artwork."),
) -> None:
    """Retry failed artworks on the next pass: resets their attempts and backoff (recorded in
    the event log). Exit 1 when a named artwork is not failed or does not exist."""
    from bot.pipeline.retry import retry_now

    context: AppContext = ctx.obj
    if bool(artwork) == all_failed:
        err_console.print("name the artwork id(s) to retry, or --all (not both)")
        raise typer.Exit(2)
    outcomes = retry_now(context.engine, None if all_failed else artwork)
    if not outcomes:
        console.print("no failed artworks to retry")
        return
    for outcome in outcomes:
        mark = "[green]retry:[/green]" if outcome.ok else "[yellow]not retried:[/yellow]"
        console.print(f"artwork {outcome.artwork_id}: {mark} {safe(outcome.detail)}")
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)
