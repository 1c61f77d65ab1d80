"""Exploratory data analysis of listings: tables.json, PNG figures and an HTML report.

The tables are what the seed study reported: price summary over the whole dataset, and
per-year count/mean/median for 2017-2021 at three trim levels (none, 1%, 5%).
Prices stay in their own currency; the report says which.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.curation.trim import trim_per_year

TRIM_LEVELS: tuple[float, ...] = (0.0, 0.01, 0.05)
TABLE_YEARS = (2017, 2021)
DENSITY_YEARS = (2012, 2021)
FIGURES = {
    "year_density": "Density of the creation year, 2012-2021",
    "pieces_per_year": "Pieces per year",
    "types_pie": "Types of pieces",
    "price_distribution": "Distribution of listed prices (log scale)",
}


@dataclass(frozen=True)
class EdaResult:
    tables: dict[str, Any]
    figures: dict[str, Path]
    report: Path


def trim_key(p: float) -> str:
    """0 -> "0", 0.01 -> "0.01": the keys of tables.json."""
    return "0" if p == 0 else f"{p:g}"


def compute_tables(frame: pd.DataFrame) -> dict[str, Any]:
    prices = frame["price"]
    tables: dict[str, Any] = {
        "summary": _summary(prices),
        "currency": sorted(str(c) for c in frame["currency"].dropna().unique()),
        "types": {str(k): int(v) for k, v in frame["media_type"].value_counts().items()},
        "years": {int(k): int(v) for k, v in frame["year"].value_counts().sort_index().items()},
    }
    first, last = TABLE_YEARS
    in_years = frame.loc[frame["year"].between(first, last)]
    summaries = {}
    for p in TRIM_LEVELS:
        trimmed = trim_per_year(in_years, p)
        tables[trim_key(p)] = _per_year_rows(trimmed, first, last)
        summaries[trim_key(p)] = _summary(trimmed["price"])
    tables["summary_by_trim"] = summaries  # pooled 2017-2021 after trimming
    return tables


def _summary(prices: pd.Series) -> dict[str, float | int]:
    count = int(prices.count())
    return {
        "count": count,
        "mean": _num(prices.mean()),
        "median": _num(prices.median()),
        "std": _num(prices.std(ddof=1)) if count > 1 else math.nan,
    }


def _per_year_rows(trimmed: pd.DataFrame, first: int, last: int) -> list[dict[str, Any]]:
    stats = trimmed.groupby("year")["price"].agg(["count", "mean", "median"])
    rows: list[dict[str, Any]] = []
    for year in range(first, last + 1):
        if year in stats.index:
            row = stats.loc[year]
            rows.append(
                {
                    "year": year,
                    "count": int(row["count"]),
                    "mean": _num(row["mean"]),
                    "median": _num(row["median"]),
                }
            )
        else:
            rows.append({"year": year, "count": 0, "mean": math.nan, "median": math.nan})
    prices = trimmed["price"]
    rows.append(
        {
            "year": "total",
            "count": int(prices.count()),
            "mean": _num(prices.mean()),
            "median": _num(prices.median()),
        }
    )
    return rows


def _num(value: Any) -> float:
    if value is None or pd.isna(value):
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan  # e.g. a std that overflowed


def make_figures(frame: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.png" for name in FIGURES}
    currency = ", ".join(sorted(str(c) for c in frame["currency"].dropna().unique())) or "?"
    currency = _label(currency)

    first, last = DENSITY_YEARS
    years = frame.loc[frame["year"].between(first, last), "year"].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 4))
    grid, density = year_density(years, first - 1, last + 1)
    ax.plot(grid, density)
    ax.fill_between(grid, density, alpha=0.3)
    ax.set(title=FIGURES["year_density"], xlabel="year", ylabel="density")
    _save(fig, paths["year_density"])

    counts = frame["year"].value_counts().sort_index()
    counts = counts.loc[(counts.index >= first) & (counts.index <= last)]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(counts.index.to_numpy(), counts.to_numpy())
    ax.set_xticks(counts.index.to_numpy())
    ax.set(title=FIGURES["pieces_per_year"], xlabel="year", ylabel="pieces")
    _save(fig, paths["pieces_per_year"])

    types = frame["media_type"].value_counts()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.pie(types.to_numpy(), labels=[_label(t) for t in types.index], autopct="%1.1f%%")
    ax.set(title=FIGURES["types_pie"])
    _save(fig, paths["types_pie"])

    positive = frame.loc[frame["price"] > 0, "price"].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(positive):
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 50)
        ax.hist(positive, bins=list(bins))
        ax.set_xscale("log")
    ax.set(title=FIGURES["price_distribution"], xlabel=f"price ({currency})", ylabel="listings")
    _save(fig, paths["price_distribution"])
    return paths


def _label(value: object) -> str:
    """Data as a matplotlib label: `$` would start mathtext (and a lone or malformed `$…$`
    raises while drawing), so it is escaped; control characters and long text are cut."""
    text = "".join(" " if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 else c for c in str(value))
    text = text if len(text) <= 60 else text[:59] + "…"
    return text.replace("$", r"\$")  # matplotlib shows \$ as $ outside math


def year_density(years: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian kernel density of integer years (Scott's bandwidth).

    Years are integers, so the estimate is a weighted sum over the distinct years: exact,
    and as fast for a million rows as for a thousand.
    """
    grid = np.linspace(low, high, 400)
    if len(years) < 2:
        return grid, np.zeros_like(grid)
    values, counts = np.unique(years, return_counts=True)
    std = float(np.std(years, ddof=1)) or 0.5
    bandwidth = std * len(years) ** (-1 / 5)
    z = (grid[:, None] - values[None, :]) / bandwidth
    kernel = np.exp(-0.5 * z**2) / (bandwidth * math.sqrt(2 * math.pi))
    return grid, (kernel * counts[None, :]).sum(axis=1) / len(years)


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_eda(frame: pd.DataFrame, out_dir: Path, *, source: str) -> EdaResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = compute_tables(frame)
    (out_dir / "tables.json").write_text(
        json.dumps(_nan_to_none(tables), indent=2, default=_json_default, allow_nan=False)
    )
    figures = make_figures(frame, out_dir)
    report = out_dir / "report.html"
    report.write_text(render_report(tables, figures, source=source))
    return EdaResult(tables, figures, report)


def _nan_to_none(value: Any) -> Any:
    """JSON has no NaN or infinity: an empty year's mean (or a std that overflowed) is null."""
    if isinstance(value, dict):
        return {key: _nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def render_report(tables: dict[str, Any], figures: dict[str, Path], *, source: str) -> str:
    currency = ", ".join(tables["currency"]) or "unknown currency"
    summary = tables["summary"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>nftbot EDA</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 10px;text-align:right}img{max-width:100%}</style></head><body>",
        "<h1>NFT listings: exploratory analysis</h1>",
        f"<p>Source: {html.escape(source)}. {summary['count']} listings with a price.</p>",
        f"<p><strong>All prices are in {html.escape(currency)}</strong>, as listed; "
        "they are not converted to another currency.</p>",
        "<h2>Prices over the whole dataset</h2>",
        _table(
            ["count", "mean", "median", "std (sample)"],
            [[summary["count"], summary["mean"], summary["median"], summary["std"]]],
        ),
    ]
    for p in TRIM_LEVELS:
        key = trim_key(p)
        label = "no trimming" if p == 0 else f"{p:.0%} trimmed per year at both ends"
        parts.append(f"<h2>Per year, 2017-2021, {label}</h2>")
        parts.append(
            _table(
                ["year", "count", "mean", "median"],
                [[r["year"], r["count"], r["mean"], r["median"]] for r in tables[key]],
            )
        )
    parts.append(
        "<p>Trimming: within each year, rows priced at or below that year's p-quantile or at "
        "or above its (1-p)-quantile are dropped (linear interpolation), then years are pooled."
        "</p>"
    )
    for name, path in figures.items():
        parts.append(f"<h2>{html.escape(FIGURES[name])}</h2>")
        parts.append(f"<img src='{html.escape(path.name)}' alt='{html.escape(FIGURES[name])}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.2f}"
    return str(value)
