"""`bot report …`: reports written from the store. Each report is a subcommand of the
`report` group defined here; other modules add theirs with `report_app.command(...)`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from bot.cli.output import console
from bot.context import AppContext

report_app = typer.Typer(help="Reports from the store (HTML, PNG, JSON).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


@report_app.command("prepare")
def report_prepare(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder to write the report into."),
    per_sheet: int = typer.Option(
        100, "--per-sheet", min=1, max=2000, help="Thumbnails per contact sheet at most."
    ),
) -> None:
    """Counts per category and rejection reason, a contact sheet per category and one for the
    rejected (artwork ids on each thumbnail), and index.html showing them."""
    from bot.reports.prepare import write_prepare_report
    from generator.decode import DecodePolicy

    context: AppContext = ctx.obj
    settings = context.settings
    thresholds = {
        f"BOT_{name.upper()}": getattr(settings, name)
        for name in type(settings).model_fields
        if name.startswith("prepare_") or name == "prompt_template"
    }
    summary = write_prepare_report(
        context.engine,
        context.blobs,
        out,
        decode=DecodePolicy(settings.download_max_bytes, settings.download_max_pixels),
        thresholds=thresholds,
        database=settings.redacted()["database_url"] or settings.db_url,
        per_sheet=per_sheet,
    )
    categories = ", ".join(f"{n} {c}" for n, c in summary.categories.items()) or "none"
    rejections = ", ".join(f"{n} {c}" for n, c in summary.rejections.items()) or "none"
    console.print(f"categories: {escape(categories)}")
    console.print(f"rejected: {escape(rejections)}")
    console.print(f"failed at prepare: {summary.failed}")
    console.print(f"report: {escape(str(out / 'index.html'))}")
