"""Listings as a pandas DataFrame, from the Kaggle CSV or from the store, in one shape.

Columns: listing_id (store only), item_id, title, creator, price (float, for statistics
only: money stays exact in the store), currency, likes, nsfw, media_type, year.
Rows without a usable price or year are dropped here, so every analysis sees the same rows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

COLUMNS = ["listing_id", "item_id", "title", "creator", "price", "currency", "likes", "nsfw",
           "media_type", "year"]  # fmt: skip


def from_csv(csv_path: Path) -> pd.DataFrame:
    """Read the dataset's CSV for analysis: only the columns statistics need, low-cardinality
    text as categoricals (1M rows in well under a second). Identity columns stay empty: the
    CSV is analysed, not curated; curation works on the store."""
    raw = pd.read_csv(
        csv_path,
        usecols=["price", "likes", "year", "type", "symbol", "nsfw"],
        dtype={"type": "category", "symbol": "category", "nsfw": "string"},
        keep_default_na=False,
        na_values={"price": [""], "year": [""], "likes": [""]},
    )
    count = len(raw)
    media = raw["type"].cat.categories
    frame = pd.DataFrame(
        {
            "listing_id": pd.array([pd.NA] * count, dtype="Int64"),
            "item_id": pd.array([pd.NA] * count, dtype="string"),
            "title": pd.array([pd.NA] * count, dtype="string"),
            "creator": pd.array([pd.NA] * count, dtype="string"),
            "price": pd.to_numeric(raw["price"], errors="coerce"),
            "currency": raw["symbol"].astype(str),
            "likes": pd.to_numeric(raw["likes"], errors="coerce").fillna(0).astype("int64"),
            "nsfw": raw["nsfw"].str.strip().str.lower().isin(["true", "1", "yes"]),
            "media_type": raw["type"].map({c: str(c).strip().upper() for c in media}),
            "year": pd.to_numeric(raw["year"], errors="coerce"),
        }
    )
    return _clean(frame)


def from_store(engine: Engine) -> pd.DataFrame:
    query = (
        "SELECT id AS listing_id, item_id, title, creator, price, currency, likes, nsfw,"
        " media_type, year FROM listings"
    )
    with engine.connect() as connection:
        frame = pd.read_sql_query(query, connection)
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce")
    frame["likes"] = pd.to_numeric(frame["likes"], errors="coerce").fillna(0).astype("int64")
    frame["nsfw"] = frame["nsfw"].astype(bool)
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce")
    frame["listing_id"] = frame["listing_id"].astype("Int64")
    return _clean(frame[COLUMNS])


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    usable = frame["price"].notna() & (frame["price"] >= 0) & frame["year"].notna()
    frame = frame.loc[usable].copy()
    frame["year"] = frame["year"].astype("int64")
    return frame.reset_index(drop=True)
