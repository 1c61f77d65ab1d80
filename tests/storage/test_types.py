"""Values survive a round trip through the store unchanged on both engines: money as exact
decimal text, timestamps timezone-aware (timestamptz on PostgreSQL), 64-bit integers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import make_engine, session_scope
from storage.models import Artwork, Listing
from storage.models.frame import Frame
from storage.models.pin import Pin

WEI = Decimal("123456789012345678901234567890.000000000000000001")  # 48 digits, no float can


def test_money_and_timestamps_round_trip_exactly(db_url: str) -> None:
    engine = make_engine(db_url)
    paris = timezone(timedelta(hours=2))
    listed = datetime(2021, 3, 28, 3, 30, 15, 123456, tzinfo=paris)
    with session_scope(engine) as session:
        session.add(
            Listing(
                source="t",
                marketplace="m",
                item_id="a",
                price=WEI,
                royalty=Decimal("0.1000"),
                listed_at=listed,
                likes=2**40,
                token_count=2**33,
            )
        )
    with session_scope(engine) as session:
        row = session.exec(select(Listing)).one()
    assert row.price == WEI and str(row.price) == str(WEI)
    assert str(row.royalty) == "0.1000"  # trailing zeros kept: text, not a float
    assert row.listed_at == listed and row.listed_at.tzinfo is not None
    assert row.listed_at.utcoffset() == timedelta(0)  # returned in UTC, same instant
    assert row.first_seen_at.tzinfo is not None
    assert (row.likes, row.token_count) == (2**40, 2**33)
    with engine.connect() as connection:  # what is stored: decimal text, never a number
        stored = connection.execute(text("SELECT price FROM listings")).scalar()
    assert stored == "123456789012345678901234567890.000000000000000001"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_timestamps_are_timestamptz_on_postgresql(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        kinds = dict(
            connection.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_name = 'listings'"
                )
            ).all()
        )
    assert kinds["listed_at"] == "timestamp with time zone"
    assert kinds["price"] == "character varying"
    assert kinds["likes"] == "bigint"


def test_naive_timestamps_and_float_money_are_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(Exception, match="timezone-aware"), session_scope(engine) as session:
        session.add(
            Listing(source="t", marketplace="m", item_id="n", listed_at=datetime(2021, 1, 1))
        )
    with pytest.raises(Exception, match="never a float"), session_scope(engine) as session:
        session.add(Listing(source="t", marketplace="m", item_id="f", price=1.5))  # type: ignore[arg-type]


def test_64_bit_seeds_and_sizes_fit(db_url: str) -> None:
    """PostgreSQL's INTEGER is 32-bit: these columns are BIGINT (revision 0010)."""
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        listing = Listing(source="t", marketplace="m", item_id="a")
        session.add(listing)
        session.flush()
        artwork = Artwork(listing_id=listing.id or 0, state="generated")
        session.add(artwork)
        session.flush()
        frame = Frame(
            artwork_id=artwork.id or 0,
            iteration=0,
            blob_sha256="0" * 64,
            prompt="Cats",
            seed=2**63 - 1,
            model="tiny",
            width=16,
            height=16,
        )
        session.add(frame)
        session.flush()
        session.add(
            Pin(
                cid="bafy",
                kind="image",
                artwork_id=artwork.id,
                frame_id=frame.id,
                size=5 * 2**30,
                target="local",
                profile="unixfs-v1-2025",
            )
        )
    with session_scope(engine) as session:
        assert session.exec(select(Frame.seed)).one() == 2**63 - 1
        assert session.exec(select(Pin.size)).one() == 5 * 2**30


def test_utc_timestamps_order_and_compare_in_queries(db_url: str) -> None:
    """Comparisons happen in the database: naive UTC text (SQLite) and timestamptz
    (PostgreSQL) must order the same instants the same way."""
    engine = make_engine(db_url)
    base = datetime(2022, 1, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        for n, offset in enumerate([5, -3, 0, 12]):
            session.add(
                Listing(
                    source="t",
                    marketplace="m",
                    item_id=str(n),
                    listed_at=(base + timedelta(hours=offset)).astimezone(
                        timezone(timedelta(hours=n - 2))
                    ),
                )
            )
    with session_scope(engine) as session:
        later = session.exec(
            select(Listing.item_id).where(Listing.listed_at > base).order_by(Listing.listed_at)  # type: ignore[operator, arg-type]
        ).all()
    assert later == ["0", "3"]
