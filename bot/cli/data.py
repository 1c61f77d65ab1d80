"""`bot import kaggle`, `bot eda`, `bot curate`: from a dataset to ranked candidates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, err_console, new_table, print_table, safe
from bot.cli.progress import progress
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
    """Import the Kaggle "NFT art collection 2021" CSV (idempotent; bad rows are skipped).

    Streams in batches (bounded memory, short transactions); local images pass the same
    checks as downloads (size, raster type, pixels, a full decode as `prepare` will)."""
    from generator.decode import DecodePolicy, decode_image
    from scraper.images import DownloadPolicy
    from scraper.kaggle_csv import KaggleFormatError, import_kaggle_csv, open_kaggle_csv

    context: AppContext = ctx.obj
    settings = context.settings
    policy = DownloadPolicy(
        max_bytes=settings.download_max_bytes, max_pixels=settings.download_max_pixels
    )
    decode = DecodePolicy(settings.download_max_bytes, settings.download_max_pixels)
    try:
        opened = open_kaggle_csv(csv_path)
        with progress(f"import {csv_path.name}", opened.lines, unit="lines") as tracker:
            report = import_kaggle_csv(
                context.engine, context.blobs, csv_path, images,
                image_policy=policy, progress=tracker.update, opened=opened,
                validate_image=None if images is None else lambda data: decode_image(data, decode),
            )  # fmt: skip
    except KaggleFormatError as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {safe(warning)}")
    for error in report.errors[:show_errors]:
        console.print(f"[yellow]skipped[/yellow] {safe(error)}")
    if report.error_count > show_errors:
        console.print(f"... and {report.error_count - show_errors} more bad rows")
    for refusal in report.images_refused[:show_errors]:
        console.print(f"[yellow]image refused[/yellow] {safe(refusal)}; the listing keeps its CID")
    if report.images_refused_count > show_errors:
        console.print(f"... and {report.images_refused_count - show_errors} more refused images")
    console.print(
        f"imported {report.listings} listings from {safe(csv_path.name)}: {report.new} new, "
        f"{report.updated} updated, {report.unchanged} unchanged; "
        f"{report.error_count} bad rows skipped, {report.duplicates} duplicate rows merged; "
        f"{report.with_image} with a local image, {report.missing_image} to fetch by CID"
        + (f" ({report.images_refused_count} local images refused)" if images else "")
    )
    if report.error_count:  # the good rows are in; exit status 1 says some rows were not
        raise typer.Exit(1)


def eda(
    ctx: typer.Context,
    input_csv: Path | None = typer.Option(
        None, "--input", exists=True, dir_okay=False, help="CSV to analyse (default: the store)."
    ),
    out: Path = typer.Option(..., "--out", help="Directory for tables.json, figures, report."),
) -> None:
    """Analyse listings: tables.json, PNG figures and report.html."""
    from bot.curation.eda import run_eda
    from bot.curation.frame import load_csv, load_store
    from scraper.csv_file import CsvFormatError
    from storage.errors import describe

    context: AppContext = ctx.obj
    if input_csv is not None:
        try:
            loaded, source = load_csv(input_csv), str(input_csv)
        except CsvFormatError as exc:
            err_console.print(f"[red]{safe(exc)}[/red]")
            raise typer.Exit(2) from None
    else:
        loaded = load_store(context.reader)
        source = f"the store ({describe(context.settings.db_url)})"  # no password
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {safe(warning)}")
    for reason, count in loaded.dropped.items():
        console.print(f"[yellow]left out[/yellow] {count} rows: {safe(reason)}")
    frame = loaded.frame
    if frame.empty:
        console.print("no listings with a price to analyse: nothing to do")
        return
    result = run_eda(frame, out, source=source)
    summary = result.tables["summary"]
    console.print(
        f"{summary['count']} listings, mean {summary['mean']:.2f}, median "
        f"{summary['median']:.2f}, std {summary['std']:.2f} "
        f"({safe(', '.join(result.tables['currency']))})"
    )
    console.print(f"report: {safe(result.report)}")


def curate(
    ctx: typer.Context,
    trim: float | None = typer.Option(None, help="Per-year trim fraction (default 0.05)."),
    years: str | None = typer.Option(None, help="Year range, e.g. 2017-2021."),
    top: int | None = typer.Option(None, min=1, help="How many candidates to select."),
) -> None:
    """Select candidates: still, not nsfw, trimmed per year, ranked by value score."""
    from bot.curation.curate import CurationParams, count_listings
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
        console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    params = CurationParams(trim=trim_level, years=year_range, top=top or settings.curate_top)
    total = count_listings(context.engine)
    with progress("curate", total, unit="listings") as tracker:
        report = run_curation(context.engine, params, progress=tracker.update)
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
