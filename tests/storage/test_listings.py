from __future__ import annotations

from decimal import Decimal

from storage.db import make_engine, session_scope
from storage.listings import UpsertOutcome, upsert_listing


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
