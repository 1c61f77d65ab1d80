"""`bot import kaggle`, `bot eda`, `bot curate`: from a dataset to ranked candidates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, new_table, print_table
from bot.settings import parse_year_range

if TYPE_CHECKING:
    from bot.context import AppContext

import_app = typer.Typer(help="Import listings from a dataset file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.command("eda")(eda)
    app.command("curate")(curate)


@import_app.command("kaggle")
def import_kaggle(
    ctx: typer.Context,
    csv_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The dataset CSV."),
    images: Path | None = typer.Option(
        None, "--images", exists=True, file_okay=False, help="Directory the `path` column is in."
    ),
    show_errors: int = typer.Option(20, help="How many bad rows to print."),
) -> None:
    """Import the Kaggle "NFT art collection 2021" CSV (idempotent; bad rows are skipped)."""
    from scraper.kaggle_csv import KaggleFormatError, import_kaggle_csv
    from storage.db import session_scope

    context: AppContext = ctx.obj
    try:
        with session_scope(context.engine) as session:
            report = import_kaggle_csv(session, context.blobs, csv_path, images)
    except KaggleFormatError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    read = report.read
    for error in read.errors[:show_errors]:
        console.print(f"[yellow]skipped[/yellow] {error}")
    if len(read.errors) > show_errors:
        console.print(f"... and {len(read.errors) - show_errors} more bad rows")
    console.print(
        f"imported {len(read.rows)} listings from {csv_path.name}: {report.new} new, "
        f"{report.updated} updated, {report.unchanged} unchanged; "
        f"{len(read.errors)} bad rows skipped, {read.duplicates} duplicate rows merged; "
        f"{report.with_image} with a local image, {report.missing_image} to fetch by CID"
    )


def eda(
    ctx: typer.Context,
    input_csv: Path | None = typer.Option(
        None, "--input", exists=True, dir_okay=False, help="CSV to analyse (default: the store)."
    ),
    out: Path = typer.Option(..., "--out", help="Directory for tables.json, figures, report."),
) -> None:
    """Analyse listings: tables.json, PNG figures and report.html."""
    from bot.curation.eda import run_eda
    from bot.curation.frame import from_csv, from_store
    from storage.errors import describe

    context: AppContext = ctx.obj
    if input_csv is not None:
        frame, source = from_csv(input_csv), str(input_csv)
    else:
        frame = from_store(context.reader)
        source = f"the store ({describe(context.settings.db_url)})"  # no password
    if frame.empty:
        console.print("[red]no listings with a price to analyse[/red]")
        raise typer.Exit(1)
    result = run_eda(frame, out, source=source)
    summary = result.tables["summary"]
    console.print(
        f"{summary['count']} listings, mean {summary['mean']:.2f}, median "
        f"{summary['median']:.2f}, std {summary['std']:.2f} "
        f"({', '.join(result.tables['currency'])})"
    )
    console.print(f"report: {result.report}")


def curate(
    ctx: typer.Context,
    trim: float | None = typer.Option(None, help="Per-year trim fraction (default 0.05)."),
    years: str | None = typer.Option(None, help="Year range, e.g. 2017-2021."),
    top: int | None = typer.Option(None, min=1, help="How many candidates to select."),
) -> None:
    """Select candidates: still, not nsfw, trimmed per year, ranked by value score."""
    from bot.curation.curate import CurationParams
    from bot.curation.curate import curate as run_curation

    context: AppContext = ctx.obj
    settings = context.settings
    trim_level = settings.curate_trim if trim is None else trim
    if not 0 <= trim_level < 0.5:
        console.print(f"[red]--trim must be in [0, 0.5), got {trim_level}[/red]")
        raise typer.Exit(2)
    try:
        year_range = parse_year_range(years or settings.curate_years)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    params = CurationParams(trim=trim_level, years=year_range, top=top or settings.curate_top)
    report = run_curation(context.engine, params)
    table = new_table(
        "outcome", "count", title=f"Curation of {report.considered} listings", right=("count",)
    )
    table.add_row("[green]selected as candidates[/green]", str(report.selected))
    for rule, count in sorted(report.rejections.items(), key=lambda item: -item[1]):
        table.add_row(f"rejected: {rule}", str(count))
    print_table(table)
    console.print(
        f"artworks: {report.created} created, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.kept_in_pipeline} already past curation"
    )
