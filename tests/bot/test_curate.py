from __future__ import annotations

import math
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from bot.curation.curate import CurationParams, curate
from storage.artworks import transition
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing
from storage.models import Artwork, ArtworkEvent, ArtworkState, Listing


def add(engine: Engine, item: str, **fields: object) -> None:
    base = {"source": "test", "marketplace": "hive", "item_id": item, "title": f"T-{item}",
            "price": Decimal("10"), "currency": "SWAP.HIVE", "likes": 0, "nsfw": False,
            "media_type": "PHOTO", "year": 2020}  # fmt: skip
    base.update(fields)
    with session_scope(engine) as session:
        upsert_listing(session, base)


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


def by_item(engine: Engine) -> dict[str, Artwork]:
    with session_scope(engine) as session:
        rows = session.exec(select(Listing.item_id, Artwork).join(Artwork)).all()
    return {item: artwork for item, artwork in rows}


def test_rules_and_reasons(engine: Engine) -> None:
    for i in range(20):  # a year of ordinary prices 10..29
        add(engine, f"p{i}", price=Decimal(10 + i))
    add(engine, "gif", media_type="GIF", price=Decimal(15))
    add(engine, "nsfw", nsfw=True, price=Decimal(15))
    add(engine, "old", year=2015, price=Decimal(15))
    report = curate(engine, CurationParams(trim=0.05, years=(2017, 2021), top=5))
    artworks = by_item(engine)
    assert artworks["gif"].reason == "not a still image (GIF)"
    assert artworks["nsfw"].reason == "nsfw"
    assert artworks["old"].reason == "year 2015 outside 2017-2021"
    assert artworks["p0"].reason.startswith("price outlier: 10 at or below")
    assert artworks["p19"].reason.startswith("price outlier: 29 at or above")
    candidates = sorted(
        (a.rank, item) for item, a in artworks.items() if a.state == ArtworkState.CANDIDATE
    )
    assert [item for _, item in candidates] == ["p18", "p17", "p16", "p15", "p14"]
    assert [rank for rank, _ in candidates] == [1, 2, 3, 4, 5]
    assert artworks["p13"].reason == "ranked #6, below the top 5"
    # Curation does not make the series title a category: `prepare` decides the category.
    assert artworks["p18"].category is None and artworks["p18"].rejected_by is None
    assert artworks["p13"].rejected_by == "curate"
    assert report.selected == 5 and report.rejections["price outlier"] == 2


def test_likes_break_price_ties(engine: Engine) -> None:
    add(engine, "a", likes=0)
    add(engine, "b", likes=50)
    curate(engine, CurationParams(trim=0, top=1))
    assert by_item(engine)["b"].state == "candidate"


def test_rerun_is_idempotent_and_reconciles(engine: Engine) -> None:
    for i in range(10):
        add(engine, f"p{i}", price=Decimal(10 + i))
    params = CurationParams(trim=0, top=3)
    curate(engine, params)
    again = curate(engine, params)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 10)
    with session_scope(engine) as session:
        events = len(session.exec(select(ArtworkEvent)).all())
    curate(engine, params)
    with session_scope(engine) as session:
        assert len(session.exec(select(ArtworkEvent)).all()) == events

    # One candidate moves on; a smaller top N must not pull it back.
    with session_scope(engine) as session:
        top = session.exec(select(Artwork).where(Artwork.rank == 1)).one()
        transition(session, top, ArtworkState.PREPARED)
    smaller = curate(engine, CurationParams(trim=0, top=1))
    assert smaller.kept_in_pipeline == 1
    states = {a.state for a in by_item(engine).values()}
    assert states == {"prepared", "rejected"}
    # A larger top N brings rejected ones back as candidates.
    curate(engine, CurationParams(trim=0, top=4))
    assert sum(a.state == "candidate" for a in by_item(engine).values()) == 3


def test_a_new_top_n_updates_rejection_reasons_once(engine: Engine) -> None:
    for i in range(6):
        add(engine, f"p{i}", price=Decimal(10 + i))
    curate(engine, CurationParams(trim=0, top=3))
    changed = curate(engine, CurationParams(trim=0, top=2))
    assert changed.changed == 4  # one candidate rejected, three reasons say "top 2" now
    assert by_item(engine)["p0"].reason == "ranked #6, below the top 2"
    again = curate(engine, CurationParams(trim=0, top=2))
    assert (again.changed, again.unchanged) == (0, 6)


def test_negative_likes_never_make_a_nan_score(engine: Engine) -> None:
    add(engine, "a", likes=-5)
    curate(engine, CurationParams(trim=0, top=1))
    assert by_item(engine)["a"].value_score == pytest.approx(math.log1p(10))
    assert curate(engine, CurationParams(trim=0, top=1)).unchanged == 1


def test_other_writers_get_in_between_batches_and_are_respected(engine: Engine) -> None:
    """Curation writes in short transactions: a writer with no patience at all (SQLite busy
    timeout 0) commits between two batches, and an artwork another process moved on meanwhile
    is left alone by the later batch."""
    for i in range(6):
        add(engine, f"p{i}", price=Decimal(10 + i))
    curate(engine, CurationParams(trim=0, top=6))
    patience = {"timeout": 0} if engine.dialect.name == "sqlite" else {}
    impatient = create_engine(engine.url, connect_args=patience)
    calls: list[int] = []

    def between_batches(done: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # after the first batch was committed
            with Session(impatient) as session:  # fails at once if curation held the lock
                last = session.exec(
                    select(Artwork).join(Listing).where(Listing.item_id == "p5")
                ).one()
                transition(session, last, ArtworkState.PREPARED)
                session.commit()

    report = curate(
        engine, CurationParams(trim=0, top=1), progress=between_batches, batch_listings=2
    )
    assert calls == [0, 2, 4, 6]
    assert report.kept_in_pipeline == 1
    assert by_item(engine)["p5"].state == "prepared"
    assert by_item(engine)["p4"].reason == "ranked #2, below the top 1"
