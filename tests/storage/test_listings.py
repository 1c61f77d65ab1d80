from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from storage.db import make_engine, session_scope
from storage.listings import (
    _LISTINGS,
    _OBSERVATIONS,
    UpsertOutcome,
    upsert_listing,
    upsert_listings,
)


def test_upsert_new_unchanged_updated(db_url: str) -> None:
    engine = make_engine(db_url)
    fields = {
        "source": "kaggle",
        "marketplace": "hive",
        "item_id": "x",
        "price": Decimal("1.10"),
        "currency": "SWAP.HIVE",
    }
    with session_scope(engine) as session:
        _, outcome = upsert_listing(session, dict(fields))
        assert outcome is UpsertOutcome.NEW
    with session_scope(engine) as session:
        assert upsert_listing(session, dict(fields))[1] is UpsertOutcome.UNCHANGED
    with session_scope(engine) as session:
        outcome = upsert_listing(
            session, {**fields, "price": Decimal("123456789.000000000000000001")}
        )[1]
        assert outcome is UpsertOutcome.UPDATED
    with session_scope(engine) as session:
        stored, _ = upsert_listing(
            session, {**fields, "price": Decimal("123456789.000000000000000001")}
        )
        assert stored.price == Decimal("123456789.000000000000000001")  # exact, not a float


def _stored(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every listing (but its timestamps) and every price observation, in id order."""
    listing_columns = [c for c in _LISTINGS.c if c.name not in ("first_seen_at", "updated_at")]
    with engine.connect() as connection:
        listings = connection.execute(sa_select(*listing_columns).order_by(_LISTINGS.c.id))
        observations = connection.execute(
            sa_select(
                _OBSERVATIONS.c.listing_id, _OBSERVATIONS.c.kind, _OBSERVATIONS.c.price,
                _OBSERVATIONS.c.currency, _OBSERVATIONS.c.source,
            ).order_by(_OBSERVATIONS.c.listing_id, _OBSERVATIONS.c.id)
        )  # fmt: skip
        return [tuple(row) for row in listings], [tuple(row) for row in observations]


def _batch_rows(prices: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, price in enumerate(prices):
        row: dict[str, Any] = {
            "source": "kaggle",
            "marketplace": "hive",
            "item_id": f"item-{number}",
            "price": Decimal(price) if price else None,
            "currency": "SWAP.HIVE",
        }
        if number % 3 == 0:  # a second set of columns in the same batch
            row["title"] = f"Title {number}"
            row["nsfw"] = True
        rows.append(row)
    return rows


def test_a_batch_upsert_stores_what_one_by_one_upserts_store(db_url: str, tmp_path: Path) -> None:
    """New rows with different sets of columns, unchanged rows, changed prices, rows without
    a price: the batch gives the same outcomes, rows and observations as one call per row."""
    batch_engine = make_engine(db_url)
    single_engine = make_engine(f"sqlite:///{tmp_path / 'single.db'}")
    first = _batch_rows(["1.5", "2", "", "7.25", "0.1", "3"])
    second = _batch_rows(["1.5", "2.5", "", "7.25", "", "3", "9", "10"])  # 2 new, 2 changed
    outcomes = []
    for rows in (first, second):
        with session_scope(batch_engine) as session:
            batch = upsert_listings(session, [dict(row) for row in rows])
        with session_scope(single_engine) as session:
            single = []
            for row in rows:
                listing, outcome = upsert_listing(session, dict(row))
                session.flush()
                single.append((listing.id, outcome))
        assert batch == single
        outcomes.append([outcome for _, outcome in batch])
    new, updated, unchanged = UpsertOutcome.NEW, UpsertOutcome.UPDATED, UpsertOutcome.UNCHANGED
    assert outcomes == [
        [new] * 6,
        [unchanged, updated, unchanged, unchanged, updated, unchanged, new, new],
    ]
    assert _stored(batch_engine) == _stored(single_engine)
    listings, observations = _stored(batch_engine)
    assert len(listings) == 8
    assert len(observations) == 5 + 2 + 2  # priced new rows, then the changes and new ones
    with batch_engine.connect() as connection:
        stamps = connection.execute(sa_select(_LISTINGS.c.first_seen_at)).scalars().all()
        assert all(stamp is not None for stamp in stamps)
        nsfw = connection.execute(
            sa_select(_LISTINGS.c.item_id, _LISTINGS.c.nsfw).order_by(_LISTINGS.c.id)
        ).all()
    assert [flag for _, flag in nsfw] == [True, False, False, True, False, False, True, False]
