"""Per-year price trimming, as the seed study did it.

Within each year, drop the rows whose price is at or below that year's p-quantile or at or
above its (1-p)-quantile (pandas' default linear interpolation), then pool the years.
p = 0 means no trimming at all (not "drop the minimum and maximum").
"""

from __future__ import annotations

import pandas as pd


def year_bounds(frame: pd.DataFrame, p: float) -> pd.DataFrame:
    """Per year: the lower and upper price quantile (columns low, high), indexed by year."""
    grouped = frame.groupby("year")["price"]
    return pd.DataFrame({"low": grouped.quantile(p), "high": grouped.quantile(1 - p)})


def keep_mask(frame: pd.DataFrame, p: float) -> pd.Series:
    """True for the rows that survive trimming at level p."""
    if not 0 <= p < 0.5:
        raise ValueError(f"trim level must be in [0, 0.5), got {p}")
    if p == 0 or frame.empty:
        return pd.Series(True, index=frame.index)
    bounds = year_bounds(frame, p)
    low = frame["year"].map(bounds["low"])
    high = frame["year"].map(bounds["high"])
    return (frame["price"] > low) & (frame["price"] < high)


def trim_per_year(frame: pd.DataFrame, p: float) -> pd.DataFrame:
    return frame.loc[keep_mask(frame, p)]
