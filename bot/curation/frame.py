"""Listings as a pandas DataFrame, from the Kaggle CSV or from the store, in one shape.

Columns: listing_id (store only), item_id, title, creator, price (float, for statistics
only: money stays exact in the store), currency, likes, nsfw, media_type, year.
Rows without a usable price or year are dropped here, so every analysis sees the same rows;
`Loaded.dropped` counts them by reason (a price that is not a finite non-negative number, a
year outside 1-9999) so the command can say how many.

The CSV is opened by the reader `bot import` uses (scraper/csv_file.py): the same encoding
decision, BOM handling, not-a-CSV and header checks. `1,000` and `1_000` are read as 1000,
as the import does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from scraper.csv_file import open_csv

COLUMNS = ["listing_id", "item_id", "title", "creator", "price", "currency", "likes", "nsfw",
           "media_type", "year"]  # fmt: skip
CSV_COLUMNS = ("price", "likes", "year", "type", "symbol", "nsfw")
_NOT_FOR_CURATION = ("item_id", "title", "creator", "currency")
_READ_CHUNK = 200_000
_GROUPED = r"[+-]?[0-9]{1,3}(?:(?P<s>[,_])[0-9]{3})(?:(?P=s)[0-9]{3})*(?:\.[0-9]*)?"
_MAX_LIKES = 2**53  # exact in a float; far beyond any real count


@dataclass
class Loaded:
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


def load_csv(csv_path: Path) -> Loaded:
    """Read the dataset's CSV for analysis: only the columns statistics need, low-cardinality
    text as categoricals (1M rows in a couple of seconds). Identity columns stay empty: the
    CSV is analysed, not curated; curation works on the store."""
    source = open_csv(csv_path, CSV_COLUMNS)
    notes = list(source.warnings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        raw = pd.read_csv(
            csv_path,
            usecols=list(CSV_COLUMNS),
            dtype={"type": "category", "symbol": "category", "nsfw": "string",
                   "price": "string", "likes": "string", "year": "string"},
            keep_default_na=False,
            encoding=source.encoding,
            encoding_errors=source.errors,
            on_bad_lines="warn",
        )  # fmt: skip
    skipped = sum(str(w.message).count("Skipping line") for w in caught)
    count = len(raw)
    media = raw["type"].cat.categories
    frame = pd.DataFrame(
        {
            "listing_id": pd.array([pd.NA] * count, dtype="Int64"),
            "item_id": pd.array([pd.NA] * count, dtype="string"),
            "title": pd.array([pd.NA] * count, dtype="string"),
            "creator": pd.array([pd.NA] * count, dtype="string"),
            "price": _numbers(raw["price"]),
            "currency": raw["symbol"].astype(str),
            "likes": _counts(raw["likes"]),
            "nsfw": raw["nsfw"].str.strip().str.lower().isin(["true", "1", "yes"]),
            "media_type": raw["type"].map({c: str(c).strip().upper() for c in media}),
            "year": pd.to_numeric(raw["year"].str.strip(), errors="coerce"),
        }
    )
    loaded = _clean(frame)
    loaded.warnings = notes
    if skipped:
        loaded.dropped["a row with the wrong number of fields"] = skipped
    return loaded


def load_store(engine: Engine, *, curation_only: bool = False) -> Loaded:
    """The stored listings. `curation_only` reads just what curation needs, with the
    repetitive text as categoricals (a million listings in a few hundred MB)."""
    wanted = [c for c in COLUMNS if not (curation_only and c in _NOT_FOR_CURATION)]
    select_list = ", ".join("id AS listing_id" if c == "listing_id" else c for c in wanted)
    frames = []
    with engine.connect() as connection:
        for chunk in pd.read_sql_query(
            f"SELECT {select_list} FROM listings", connection, chunksize=_READ_CHUNK
        ):
            chunk["price"] = pd.to_numeric(chunk["price"], errors="coerce")
            chunk["likes"] = _counts(chunk["likes"])
            chunk["nsfw"] = chunk["nsfw"].fillna(False).astype(bool)
            chunk["year"] = pd.to_numeric(chunk["year"], errors="coerce")
            chunk["listing_id"] = chunk["listing_id"].astype("Int64")
            frames.append(chunk)
    if not frames:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in wanted})
        for column in ("price", "year"):
            frame[column] = frame[column].astype("float64")
        frame["listing_id"] = frame["listing_id"].astype("Int64")
    else:
        frame = pd.concat(frames, ignore_index=True)
    if curation_only:
        frame["media_type"] = frame["media_type"].astype("category")
    for column in _NOT_FOR_CURATION if curation_only else ():
        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    return _clean(frame[COLUMNS])


def from_csv(csv_path: Path) -> pd.DataFrame:
    return load_csv(csv_path).frame


def from_store(engine: Engine) -> pd.DataFrame:
    return load_store(engine).frame


def _numbers(text: pd.Series) -> pd.Series:
    """Decimal text to float; `1,000` / `1_000` (thousands groups) as 1000; else NaN."""
    values = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    retry = values.isna() & text.str.contains(r"[,_]", regex=True).fillna(False)
    if retry.any():
        candidates = text[retry].str.strip()
        grouped = candidates.str.fullmatch(_GROUPED).fillna(False)
        cleaned = candidates[grouped].str.replace(r"[,_]", "", regex=True)
        values.loc[cleaned.index] = pd.to_numeric(cleaned, errors="coerce")
    return values


def _counts(values: pd.Series) -> pd.Series:
    """Likes as int64: missing or unreadable is 0, negatives 0 (never a NaN score), huge capped."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    if values.dtype == "string":
        numbers = numbers.fillna(_numbers(values))
    return numbers.fillna(0).clip(0, _MAX_LIKES).astype("int64")


def _clean(frame: pd.DataFrame) -> Loaded:
    price, year = frame["price"], frame["year"]
    finite = pd.Series(np.isfinite(price.to_numpy(dtype="float64", na_value=np.nan)), frame.index)
    reasons = {
        "no price, or not a number": price.isna(),
        "a price that is not finite (e.g. 1e400)": price.notna() & ~finite,
        "a negative price": finite & np.signbit(price.to_numpy(dtype="float64", na_value=0.0)),
        "no year, or not a year in 1-9999": ~year.between(1, 9999) | (year % 1 != 0),
    }
    dropped: dict[str, int] = {}
    unusable = pd.Series(False, index=frame.index)
    for reason, mask in reasons.items():
        fresh = mask & ~unusable
        if fresh.any():
            dropped[reason] = int(fresh.sum())
        unusable |= mask
    frame = frame.loc[~unusable].copy()
    frame["year"] = frame["year"].astype("int64")
    return Loaded(frame.reset_index(drop=True), dropped=dropped)
