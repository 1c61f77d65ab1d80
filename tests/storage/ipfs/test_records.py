"""The `pins` table: one row per (cid, target) with its profile, kind upgrades, the token URI,
races."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage.db import make_engine, session_scope
from storage.ipfs import records
from storage.ipfs.pinner import PinOutcome
from storage.models import Artwork, Listing
from storage.models.pin import Pin, PinKind, PinStatus

CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        listing = Listing(source="kaggle", marketplace="hive", item_id="a")
        session.add(listing)
        session.flush()
        session.add(Artwork(id=1, listing_id=listing.id, state="chosen"))
    return engine


def _pinned(cid: str = CID, target: str = "local", size: int | None = 12) -> PinOutcome:
    return PinOutcome(cid, target, PinStatus.PINNED, size=size, profile="legacy-v1")


def test_same_cid_and_target_is_one_row_and_frame_becomes_image(engine: Engine) -> None:
    with session_scope(engine) as session:
        records.record_outcome(session, _pinned(), kind=PinKind.FRAME, artwork_id=1)
        records.record_outcome(session, _pinned(size=None), kind=PinKind.IMAGE, artwork_id=1)
        records.record_outcome(session, _pinned(), kind=PinKind.FRAME, artwork_id=1)
        records.record_outcome(session, _pinned(target="kubo"), kind=PinKind.IMAGE)
    with session_scope(engine) as session:
        rows = session.exec(select(Pin).order_by(Pin.id)).all()  # type: ignore[arg-type]
        assert [(r.target, r.kind, r.size, r.profile) for r in rows] == [
            ("local", "image", 12, "legacy-v1"),
            ("kubo", "image", 12, "legacy-v1"),
        ]


def test_a_new_row_needs_the_profile_that_made_its_cid(engine: Engine) -> None:
    unknown = PinOutcome(CID, "kubo", PinStatus.PINNED, size=3)  # e.g. a bare `pin` answer
    with session_scope(engine) as session, pytest.raises(ValueError, match="no CID profile"):
        records.record_outcome(session, unknown, kind=PinKind.IMAGE)
    with session_scope(engine) as session:
        row = records.record_outcome(
            session, unknown, kind=PinKind.IMAGE, profile="unixfs-v1-2025", checked=True
        )
        assert row.profile == "unixfs-v1-2025" and row.checked_at is not None
        # an update keeps the recorded profile: the CID was made that way, whoever answers now
        again = records.record_outcome(session, _pinned(target="kubo"), kind=PinKind.IMAGE)
        assert again.profile == "unixfs-v1-2025"


def test_token_uri_needs_a_pinned_metadata_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert records.token_uri(session, 1) is None
        queued = PinOutcome(CID, "pinning-service", PinStatus.QUEUED, 3, "r1", profile="legacy-v1")
        records.record_outcome(session, queued, kind=PinKind.METADATA, artwork_id=1)
        assert records.token_uri(session, 1) is None
        records.record_outcome(
            session,
            PinOutcome(CID, "pinning-service", PinStatus.PINNED),
            kind=PinKind.METADATA,
            artwork_id=1,
        )
        assert records.token_uri(session, 1) == f"ipfs://{CID}"
        (row,) = records.list_pins(session, artwork_id=1)
        assert row.request_id == "r1" and row.size == 3


def test_a_concurrent_insert_of_the_same_pin_is_merged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine) as session:
        records.record_outcome(session, _pinned(), kind=PinKind.FRAME, artwork_id=1)
    real_find = records.find_pin
    calls = {"n": 0}

    def find_that_misses_once(session, cid, target):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else real_find(session, cid, target)

    monkeypatch.setattr(records, "find_pin", find_that_misses_once)
    with session_scope(engine) as session:
        row = records.record_outcome(session, _pinned(), kind=PinKind.IMAGE, artwork_id=1)
        assert row.kind == "image"
    with session_scope(engine) as session:
        assert len(session.exec(select(Pin)).all()) == 1


def test_record_failed_keeps_the_reason(engine: Engine) -> None:
    with session_scope(engine) as session:
        row = records.record_failed(
            session,
            cid=CID,
            target="kubo",
            kind=PinKind.FRAME,
            size=5,
            error="node down",
            profile="legacy-v1",
        )
        assert row.status == "failed" and row.error == "node down"
