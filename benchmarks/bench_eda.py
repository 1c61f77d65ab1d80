"""EDA on the dataset scaled to 1M rows: the product's path vs a straightforward baseline.

Both run in this one process on the same resampled CSV, reading it from disk (no import into
the store), computing the tables (summary + per-year tables at three trim levels) and drawing
the figures. Time is wall clock; memory is the peak traced by tracemalloc (numpy and pandas
buffers included) during each run.

The baseline is what a notebook does: default `read_csv`, a Python loop over years and trim
levels, and a Gaussian KDE evaluated over every row (chunked so it fits in memory).
The product reads only the needed columns with fixed dtypes, trims per year with one groupby,
and evaluates the KDE over the distinct years (exact for integer years).

Usage: .venv/bin/python benchmarks/bench_eda.py [--rows 1000000] [--csv PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.curation.eda import TRIM_LEVELS, compute_tables, make_figures  # noqa: E402
from bot.curation.frame import from_csv  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "nft_art_dataset.csv"


def scaled_csv(source: Path, rows: int, target: Path) -> Path:
    """Resample the dataset's rows with replacement up to `rows` rows (seeded)."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    sample = frame.sample(n=rows, replace=True, random_state=2021)
    sample.to_csv(target, index=False)
    return target


def product(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    frame = from_csv(csv_path)
    tables = compute_tables(frame)
    make_figures(frame, out_dir)
    return tables


def baseline(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(csv_path)
    df["price"] = pd.to_numeric(df["price"], errors="coerce")
    df["year"] = pd.to_numeric(df["year"], errors="coerce")
    df = df[df["price"].notna() & (df["price"] >= 0) & df["year"].notna()]
    tables: dict[str, Any] = {
        "summary": {
            "count": int(df["price"].count()),
            "mean": float(df["price"].mean()),
            "median": float(df["price"].median()),
            "std": float(df["price"].std()),
        }
    }
    for p in TRIM_LEVELS:
        kept = []
        rows = []
        for year in range(2017, 2022):
            subset = df[df["year"] == year]
            if p > 0:
                low, high = subset["price"].quantile(p), subset["price"].quantile(1 - p)
                subset = subset[(subset["price"] > low) & (subset["price"] < high)]
            kept.append(subset)
            rows.append(
                {
                    "year": year,
                    "count": len(subset),
                    "mean": subset["price"].mean(),
                    "median": subset["price"].median(),
                }
            )
        pooled = pd.concat(kept)
        rows.append(
            {
                "year": "total",
                "count": len(pooled),
                "mean": pooled["price"].mean(),
                "median": pooled["price"].median(),
            }
        )
        tables["0" if p == 0 else f"{p:g}"] = rows

    years = df.loc[df["year"].between(2012, 2021), "year"].to_numpy(dtype=float)
    grid = np.linspace(2011, 2022, 400)
    bandwidth = years.std(ddof=1) * len(years) ** (-1 / 5)
    density = np.zeros_like(grid)
    for start in range(0, len(years), 20_000):  # every row against every grid point
        chunk = years[start : start + 20_000]
        z = (grid[:, None] - chunk[None, :]) / bandwidth
        density += np.exp(-0.5 * z**2).sum(axis=1)
    density /= len(years) * bandwidth * math.sqrt(2 * math.pi)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in (
        ("year_density", lambda ax: ax.plot(grid, density)),
        ("pieces_per_year", lambda ax: df["year"].value_counts().sort_index().plot.bar(ax=ax)),
        ("types_pie", lambda ax: df["type"].value_counts().plot.pie(ax=ax)),
        ("price_distribution", lambda ax: ax.hist(np.log10(df["price"][df["price"] > 0]), 50)),
    ):
        fig, ax = plt.subplots()
        draw(ax)
        fig.savefig(out_dir / f"{name}.png")
        plt.close(fig)
    return tables


def measure(
    name: str, run: Callable[[Path, Path], dict[str, Any]], csv_path: Path, out_dir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Time one untraced run, then trace a second one for peak memory (tracemalloc slows
    Python-heavy code, so it must not be on during the timed run)."""
    gc.collect()
    started = time.perf_counter()
    tables = run(csv_path, out_dir)
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    run(csv_path, out_dir)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return tables, {"name": name, "seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "eda.json")
    args = parser.parse_args()
    if not args.csv.exists():
        sys.exit(f"dataset not found: {args.csv} (pass --csv)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv_path = scaled_csv(args.csv, args.rows, work / "scaled.csv")
        size_mib = csv_path.stat().st_size / 2**20
        base_tables, base = measure("baseline (notebook style)", baseline, csv_path, work / "b")
        prod_tables, prod = measure("nftbot", product, csv_path, work / "p")

    for key in ("0", "0.01", "0.05"):  # both must compute the same numbers
        for mine, theirs in zip(prod_tables[key], base_tables[key], strict=True):
            assert mine["count"] == theirs["count"], (key, mine, theirs)
            assert math.isclose(mine["mean"], theirs["mean"], rel_tol=1e-9), (key, mine, theirs)

    results = {
        "benchmark": "eda",
        "rows": args.rows,
        "csv_mib": round(size_mib, 1),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "runs": [base, prod],
        "speedup": round(base["seconds"] / prod["seconds"], 2),
        "memory_ratio": round(base["peak_mib"] / prod["peak_mib"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"EDA on {args.rows:,} rows ({size_mib:.0f} MiB CSV), tables + figures, one process")
    print(f"{'run':<28}{'seconds':>10}{'peak MiB':>10}")
    for run in (base, prod):
        print(f"{run['name']:<28}{run['seconds']:>10.2f}{run['peak_mib']:>10.1f}")
    print(f"speedup x{results['speedup']}, memory /{results['memory_ratio']}  -> {args.out}")


if __name__ == "__main__":
    main()
