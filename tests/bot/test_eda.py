from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.curation.eda import compute_tables, run_eda, year_density
from bot.curation.trim import keep_mask, trim_per_year


def frame_of(prices_by_year: dict[int, list[float]]) -> pd.DataFrame:
    rows = [
        {"price": price, "year": year, "media_type": "PHOTO", "currency": "SWAP.HIVE"}
        for year, prices in prices_by_year.items()
        for price in prices
    ]
    return pd.DataFrame(rows)


def test_trim_is_per_year_and_drops_at_or_beyond_the_quantiles() -> None:
    # 2020: 1..21 (p=0.05 -> quantiles 2.0 and 20.0: drop 1, 2, 20, 21)
    # 2021: 100, 200, 300 (p=0.05 -> 110 and 290: drop 100 and 300)
    frame = frame_of({2020: list(range(1, 22)), 2021: [100, 200, 300]})
    kept = trim_per_year(frame, 0.05)
    assert sorted(kept.loc[kept.year == 2020, "price"]) == list(range(3, 20))
    assert list(kept.loc[kept.year == 2021, "price"]) == [200]


def test_trim_zero_keeps_everything_even_the_extremes() -> None:
    frame = frame_of({2020: [1, 2, 3]})
    assert keep_mask(frame, 0).all()


def test_trim_rejects_levels_outside_range() -> None:
    with pytest.raises(ValueError):
        keep_mask(frame_of({2020: [1.0]}), 0.5)


def test_tables_rows_and_total_are_consistent() -> None:
    frame = frame_of({2016: [5.0], 2017: [10, 20, 30, 40], 2019: [1, 2, 3, 1000], 2022: [9.0]})
    tables = compute_tables(frame)
    assert tables["summary"]["count"] == 10
    assert tables["summary"]["std"] == pytest.approx(frame.price.std(ddof=1))
    rows = {row["year"]: row for row in tables["0"]}
    assert set(rows) == {2017, 2018, 2019, 2020, 2021, "total"}
    assert rows[2017] == {"year": 2017, "count": 4, "mean": 25.0, "median": 25.0}
    assert rows[2018]["count"] == 0 and math.isnan(rows[2018]["mean"])
    assert rows["total"]["count"] == 8  # 2016 and 2022 are outside 2017-2021
    assert rows["total"]["mean"] == pytest.approx((100 + 1006) / 8)
    for key in ("0.01", "0.05"):
        per_year = [r for r in tables[key] if r["year"] != "total"]
        total = next(r for r in tables[key] if r["year"] == "total")
        assert total["count"] == sum(r["count"] for r in per_year)
        assert total["count"] < rows["total"]["count"]


def test_run_eda_writes_json_figures_and_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "price": rng.lognormal(3, 1.5, 500),
            "year": rng.integers(2012, 2022, 500),
            "media_type": rng.choice(["PHOTO", "GIF", "VIDEO"], 500),
            "currency": "SWAP.HIVE",
        }
    )
    result = run_eda(frame, tmp_path / "eda", source="test")
    tables = json.loads((tmp_path / "eda" / "tables.json").read_text())
    assert set(tables) >= {"0", "0.01", "0.05", "summary"}
    assert set(tables["summary"]) >= {"mean", "median", "std", "count"}
    assert all(set(row) == {"year", "count", "mean", "median"} for row in tables["0.05"])
    for figure in result.figures.values():
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = result.report.read_text()
    assert "SWAP.HIVE" in report and "not converted" in report
    for figure in result.figures.values():
        assert f"src='{figure.name}'" in report


def test_report_escapes_html(tmp_path: Path) -> None:
    frame = frame_of({2020: [1.0, 2.0]})
    frame["currency"] = "<script>x</script>"
    result = run_eda(frame, tmp_path, source="<b>")
    assert "<script>x" not in result.report.read_text()


def test_year_density_integrates_to_one() -> None:
    years = np.array([2018] * 10 + [2020] * 30 + [2021] * 5)
    grid, density = year_density(years, 2000, 2040)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    assert grid[np.argmax(density)] == pytest.approx(2020, abs=0.2)
