"""`bot report bids | revenue | pipeline`: reports from the store, as a table, CSV, JSON or
an HTML page with charts; `bot report prepare`: what preparation decided, as contact sheets
and a page. Reports only read: they open the store read-only (`context.reader`),
so nothing in it can change and a missing database reads as an empty one.

Exit codes: 0 done; 1 the report was written but some rows or charts could not be made (each
named on stderr); 2 bad arguments (an unknown section, an --out that cannot be written).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TextIO

import typer
from rich.console import Console
from rich.text import Text

from bot.cli.output import console, err_console
from bot.context import AppContext
from bot.reports.model import Report

report_app = typer.Typer(
    help="Reports from the store (table, CSV, JSON, HTML).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


FORMAT_OPTION = typer.Option(ReportFormat.TABLE, "--format", "-f", help="table, csv, json or html.")
OUT_OPTION = typer.Option(
    None, "--out", "-o", help="Write to this file instead of the standard output."
)
SECTION_OPTION = typer.Option(
    None, "--section", help="Only this section (repeatable); with csv, one section is plain CSV."
)


@report_app.command("bids")
def report_bids(
    ctx: typer.Context,
    fmt: ReportFormat = FORMAT_OPTION,
    out: Path | None = OUT_OPTION,
    section: list[str] | None = SECTION_OPTION,
) -> None:
    """Bids per published artwork and currency: highest active, count, bidders."""
    from bot.reports import bids

    context: AppContext = ctx.obj
    _check_out(out)
    mode = context.settings.marketplace_mode.value
    report = bids.build(context.reader, mode=mode, weth=_weth(mode))
    _emit(report, fmt, out, section)


@report_app.command("revenue")
def report_revenue(
    ctx: typer.Context,
    fmt: ReportFormat = FORMAT_OPTION,
    out: Path | None = OUT_OPTION,
    section: list[str] | None = SECTION_OPTION,
    period: Period = typer.Option(
        Period.DAY, "--period", help="Revenue over time per day, week or month."
    ),
) -> None:
    """Sales and revenue net of protocol fees, origin fees and royalties (USD where the
    marketplace gave a price), per period, per generated NFT against its source, per category."""
    from bot.reports import revenue

    context: AppContext = ctx.obj
    _check_out(out)
    settings = context.settings
    mode = settings.marketplace_mode.value
    report = revenue.build(
        context.reader,
        mode=mode,
        weth=_weth(mode),
        our_addresses=_our_addresses(context),
        protocol_fee_bps=settings.protocol_fee_bps,
        period=period.value,
    )
    _emit(report, fmt, out, section)


@report_app.command("pipeline")
def report_pipeline(
    ctx: typer.Context,
    fmt: ReportFormat = FORMAT_OPTION,
    out: Path | None = OUT_OPTION,
    section: list[str] | None = SECTION_OPTION,
) -> None:
    """The funnel (artworks that reached each state), time per stage, failures by stage and
    reason, rejections by reason."""
    from bot.reports import pipeline

    context: AppContext = ctx.obj
    _check_out(out)
    report = pipeline.build(context.reader, mode=context.settings.marketplace_mode.value)
    _emit(report, fmt, out, section)


@report_app.command("prepare")
def report_prepare(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder to write the report into."),
    per_sheet: int = typer.Option(
        100, "--per-sheet", min=1, max=2000, help="Thumbnails per contact sheet at most."
    ),
) -> None:
    """What preparation decided: counts per category and rejection reason, a contact sheet
    per category and one for the rejected (artwork ids on each thumbnail), and index.html."""
    from rich.markup import escape

    from bot.reports.prepare import write_prepare_report
    from generator.decode import DecodePolicy

    context: AppContext = ctx.obj
    settings = context.settings
    thresholds = {
        f"BOT_{name.upper()}": getattr(settings, name)
        for name in type(settings).model_fields
        if name.startswith("prepare_") or name == "prompt_template"
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _bad_argument(f"--out {out}: {exc.strerror or exc}") from None
    summary = write_prepare_report(
        context.reader,
        context.blobs,
        out,
        decode=DecodePolicy(settings.download_max_bytes, settings.download_max_pixels),
        thresholds=thresholds,
        database=str(settings.redacted().get("database_url") or settings.db_url),
        per_sheet=per_sheet,
    )
    categories = ", ".join(f"{n} {c}" for n, c in summary.categories.items()) or "none"
    rejections = ", ".join(f"{n} {c}" for n, c in summary.rejections.items()) or "none"
    console.print(f"categories: {escape(categories)}")
    console.print(f"rejected: {escape(rejections)}")
    console.print(f"failed at prepare: {summary.failed}")
    console.print(f"report: {escape(str(out / 'index.html'))}")


def _weth(mode: str) -> str:
    from marketplace.networks import network_for_mode

    return network_for_mode(mode).weth


def _our_addresses(context: AppContext) -> set[str]:
    """The wallet's address when there is a keystore (mint intents name it too)."""
    from marketplace.wallet import WalletError, keystore_info

    try:
        return {keystore_info(context.settings.wallet_dir).address.lower()}
    except (WalletError, OSError, ValueError):
        return set()


def _bad_argument(message: str) -> typer.Exit:
    err_console.print(Text(message))
    return typer.Exit(2)


def _check_out(out: Path | None) -> None:
    if out is None:
        return
    if out.is_dir():
        raise _bad_argument(f"--out {out}: is a directory; name a file")
    if not out.parent.is_dir():
        raise _bad_argument(f"--out {out}: the folder {out.parent} does not exist")


def _emit(report: Report, fmt: ReportFormat, out: Path | None, sections: list[str] | None) -> None:
    from bot.reports import render

    if sections:
        known = [s.key for s in report.sections]
        unknown = [s for s in sections if s not in known]
        if unknown:
            raise _bad_argument(
                f"unknown section {', '.join(unknown)} for report {report.name}; "
                f"sections: {', '.join(known)}"
            )
        report = report.only(sections)
    problems = list(report.problems)
    if fmt is ReportFormat.JSON:
        text = render.to_json(report)
    elif fmt is ReportFormat.CSV:
        text = render.to_csv(report, bare=len(report.sections) == 1 and bool(sections))
    elif fmt is ReportFormat.HTML:
        text = render.to_html(report, problems)
    else:
        text = None
    if text is None:  # a table
        if out is None:
            render.print_tables(report, console)
        else:
            with _atomic(out) as handle:
                render.print_tables(report, Console(file=handle, width=100, soft_wrap=True))
    elif out is None:
        typer.echo(text, nl=False)
    else:
        with _atomic(out) as handle:
            handle.write(text)
    if out is not None:
        err_console.print(Text(f"report written to {out}"))
    for problem in problems:
        err_console.print(Text(f"problem: {problem}"))
    if problems:
        raise typer.Exit(1)


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """Write to a temporary file next to `path`, then rename it over `path`: a report is
    either wholly there or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
