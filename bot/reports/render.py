"""A report as a terminal table, CSV, JSON or a self-contained HTML page.

- table: one Rich table per section; every cell is plain text (never parsed as markup), ids
  fold instead of being cut, and when the output is not a terminal each row is printed whole
  on one line (pipes and logs get every id, CID and price complete).
- csv: one block per section, each a header row then the rows, preceded by a `# section`
  line, blocks separated by an empty line (`--section` prints one block alone, with no
  comment line: plain CSV). Values are exact (Decimals never in exponent form).
- json: `{"report", "title", "generated_at", "mode", "notes", "problems", "sections": {key:
  {"title", "columns", "rows", "notes"}}}`; money as exact decimal strings.
- html: Jinja2 with autoescaping (every value is data), charts embedded as PNG data URIs,
  and a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from bot.reports import values
from bot.reports.model import NUMERIC_KINDS, Column, Report, Section
from bot.text import printable

log = logging.getLogger(__name__)
FORMATS = ("table", "csv", "json", "html")
_TEMPLATE_DIR = Path(__file__).resolve().parent


def to_json(report: Report) -> str:
    body = {
        "report": report.name,
        "title": report.title,
        "generated_at": report.generated_at.isoformat(),
        "mode": report.mode,
        "notes": report.notes,
        "problems": report.problems,
        "sections": {
            section.key: {
                "title": section.title,
                "columns": [
                    {"key": c.key, "title": c.title, "kind": c.kind} for c in section.columns
                ],
                "rows": [
                    {c.key: values.json_value(row.get(c.key), c) for c in section.columns}
                    for row in section.rows
                ],
                "notes": section.notes,
            }
            for section in report.sections
        },
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def to_csv(report: Report, *, bare: bool = False) -> str:
    """`bare`: one section, no comment line (plain CSV)."""
    out = io.StringIO()
    for index, section in enumerate(report.sections):
        if not bare:
            if index:
                out.write("\n")
            out.write(f"# {section.key}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in section.columns])
        for row in section.rows:
            writer.writerow([values.text(row.get(c.key), c) for c in section.columns])
    return out.getvalue()


def _cell_text(value: Any, column: Column) -> str:
    if column.kind == "seconds" and isinstance(value, float):
        return values.duration(value)
    return printable(values.text(value, column))


def print_tables(report: Report, console: Console) -> None:
    console.print(Text(f"{report.title} ({report.mode})", style="bold"))
    for note in report.notes:
        console.print(Text(note, style="dim"))
    for section in report.sections:
        table = Table(title=section.title, title_justify="left")
        for column in section.columns:
            table.add_column(
                column.title,
                justify="right" if column.kind in NUMERIC_KINDS else "left",
                overflow="fold",
                no_wrap=False,
            )
        for row in section.rows:
            table.add_row(*(Text(_cell_text(row.get(c.key), c)) for c in section.columns))
        _print_whole(table, console)
        if not section.rows:
            console.print(Text("(nothing to show)", style="dim"))
        for note in section.notes:
            console.print(Text(note, style="dim"))
    for problem in report.problems:
        console.print(Text(f"problem: {problem}", style="red"))


def _print_whole(table: Table, console: Console) -> None:
    """In a terminal, fold long cells to its width; otherwise print at the table's natural
    width, so every row is one line with each value whole."""
    if console.is_terminal:
        console.print(table)
        return
    options = console.options.update(max_width=1_000_000)
    width = max(Measurement.get(console, options, table).maximum, console.width)
    Console(file=console.file, width=width, soft_wrap=True, color_system=None).print(table)


def to_html(report: Report, problems: list[str]) -> str:
    """The page; charts that fail to draw are left out and named in `problems`."""
    from jinja2 import Environment, FileSystemLoader

    from bot.reports.charts import render_png

    sections = []
    for section in report.sections:
        png = None
        if section.chart is not None:
            try:
                data = render_png(section.chart, section)
            except Exception as exc:  # one chart never costs the whole report
                log.debug("chart of %s failed", section.key, exc_info=True)
                problems.append(f"chart of {section.key} not drawn: {type(exc).__name__}: {exc}")
                data = None
            png = base64.b64encode(data).decode("ascii") if data else None
        sections.append(_html_section(section, png))
    environment = Environment(loader=FileSystemLoader(_TEMPLATE_DIR), autoescape=True)
    template = environment.get_template("report.html.j2")
    shown = Report(
        report.name,
        report.title,
        report.generated_at,
        report.mode,
        report.sections,
        report.notes,
        report.problems + [p for p in problems if p not in report.problems],
    )
    return template.render(
        report=shown,
        generated_at=report.generated_at.isoformat(timespec="seconds"),
        sections=sections,
    )


def _html_section(section: Section, png: str | None) -> dict[str, Any]:
    css = {kind: "num" for kind in NUMERIC_KINDS} | {"id": "id"}
    rows = [
        [
            {"text": _cell_text(row.get(c.key), c), "css": css.get(c.kind, "")}
            for c in section.columns
        ]
        for row in section.rows
    ]
    return {
        "key": section.key,
        "title": section.title,
        "columns": section.columns,
        "rows": rows,
        "notes": section.notes,
        "png": png,
        "chart_title": section.chart.title if section.chart else "",
    }
