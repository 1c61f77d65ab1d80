"""Claims (storage/claims.py): one owner until the expiry, taken, renewed and released by one
conditional UPDATE each; a dead holder on this host is taken over at once, a live one never."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from storage import claims
from storage.db import session_scope
from storage.models.market import MintIntent
from tests.marketplace.helpers import add_pinned_artwork, new_engine


def _intent(engine: Engine) -> int:
    artwork_id = add_pinned_artwork(engine, 1)
    with session_scope(engine) as session:
        row = MintIntent(
            artwork_id=artwork_id,
            mode="testnet",
            chain_id=1,
            collection="0xc",
            token_id="1",
            creator="0xa",
            token_uri="/ipfs/x",
            payload_json="{}",
            digest="0x",
        )
        session.add(row)
        session.flush()
        return row.id or 0


@pytest.fixture
def intent(tmp_path: Path) -> tuple[Engine, int]:
    engine = new_engine(tmp_path)
    return engine, _intent(engine)


def _expire(engine: Engine, row_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(MintIntent.__table__)  # type: ignore[arg-type]
            .where(MintIntent.__table__.c.id == row_id)  # type: ignore[attr-defined]
            .values(claim_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_one_owner_until_it_releases(intent: tuple[Engine, int]) -> None:
    engine, row = intent
    first, second = claims.new_owner_id(), claims.new_owner_id()
    assert first != second and first.split(":")[1].isdigit()
    assert claims.take(engine, MintIntent, row, first, 60)
    assert claims.take(engine, MintIntent, row, first, 60)  # the holder may take it again
    assert not claims.take(engine, MintIntent, row, second, 60)
    assert not claims.renew(engine, MintIntent, row, second, 60)
    assert not claims.release(engine, MintIntent, row, second)
    held = claims.holder(engine, MintIntent, row)
    assert held is not None and held.owner == first
    assert held.expires_at > datetime.now(UTC) + timedelta(seconds=50)
    assert claims.renew(engine, MintIntent, row, first, 120, values={"status": "sending"})
    assert claims.release(engine, MintIntent, row, first, values={"status": "done"})
    assert claims.holder(engine, MintIntent, row) is None
    assert claims.take(engine, MintIntent, row, second, 60)


def test_an_expired_claim_goes_to_the_next_taker_and_the_old_owner_cannot_act(
    intent: tuple[Engine, int],
) -> None:
    engine, row = intent
    stalled, survivor = claims.new_owner_id(), claims.new_owner_id()
    assert claims.take(engine, MintIntent, row, stalled, 60)
    _expire(engine, row)
    assert claims.take(engine, MintIntent, row, survivor, 60)
    assert not claims.renew(engine, MintIntent, row, stalled, 60)  # it must not send now
    assert not claims.release(engine, MintIntent, row, stalled, values={"status": "rejected"})


def test_conditions_join_the_same_update(intent: tuple[Engine, int]) -> None:
    engine, row = intent
    status = MintIntent.__table__.c.status  # type: ignore[attr-defined]
    owner = claims.new_owner_id()
    assert not claims.take(engine, MintIntent, row, owner, 60, where=[status == "done"])
    assert claims.take(engine, MintIntent, row, owner, 60, where=[status == "signed"])
    assert not claims.release(engine, MintIntent, row, owner, where=[status == "done"])
    assert claims.holder(engine, MintIntent, row) is not None


def test_a_dead_process_of_this_host_is_taken_over_at_once(intent: tuple[Engine, int]) -> None:
    engine, row = intent
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = claims.new_owner_id().split(":")[0]
    dead = f"{host}:{child.pid}:deadbeef"
    assert claims.is_dead_here(dead)
    assert claims.take(engine, MintIntent, row, dead, 600)
    survivor = claims.new_owner_id()
    assert claims.take(engine, MintIntent, row, survivor, 60)  # no waiting for the expiry
    held = claims.holder(engine, MintIntent, row)
    assert held is not None and held.owner == survivor


def test_a_live_process_or_another_host_keeps_its_claim(intent: tuple[Engine, int]) -> None:
    engine, row = intent
    host = claims.new_owner_id().split(":")[0]
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for owner in (f"{host}:{sleeper.pid}:0a", f"elsewhere-{host}:1:0b"):
            assert not claims.is_dead_here(owner)
            with engine.begin() as connection:  # someone else holds it, unexpired
                connection.execute(
                    update(MintIntent.__table__)  # type: ignore[arg-type]
                    .where(MintIntent.__table__.c.id == row)  # type: ignore[attr-defined]
                    .values(
                        claim_owner=owner,
                        claim_expires_at=datetime.now(UTC) + timedelta(seconds=60),
                    )
                )
            assert not claims.take(engine, MintIntent, row, claims.new_owner_id(), 60)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_of_many_racing_takers_exactly_one_wins(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    row = _intent(engine)
    owners = [claims.new_owner_id() for _ in range(8)]
    start = threading.Barrier(len(owners))
    won: list[str] = []

    def race(owner: str) -> None:
        start.wait()
        if claims.take(engine, MintIntent, row, owner, 60):
            won.append(owner)

    threads = [threading.Thread(target=race, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from tests.storage.pg_cluster import PostgresUnavailable, running_postgres

    try:
        with running_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL cannot start here: {exc}")


def test_on_postgresql_claims_race_and_one_live_order_per_artwork(postgres_url: str) -> None:
    """The same conditional UPDATEs and the partial unique index, on PostgreSQL (the migrations
    up to the head, 0007 included, run there first)."""
    from sqlalchemy.exc import IntegrityError

    from storage.db import make_engine
    from storage.models.market import MarketOrder

    engine = make_engine(postgres_url)
    row = _intent(engine)
    owners = [claims.new_owner_id() for _ in range(8)]
    start = threading.Barrier(len(owners))
    won: list[str] = []

    def race(owner: str) -> None:
        start.wait()
        if claims.take(engine, MintIntent, row, owner, 60):
            won.append(owner)

    threads = [threading.Thread(target=race, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    loser = next(o for o in owners if o != won[0])
    assert not claims.take(engine, MintIntent, row, loser, 60)
    _expire(engine, row)
    assert claims.take(engine, MintIntent, row, loser, 60)
    assert not claims.renew(engine, MintIntent, row, won[0], 60)

    def order(salt: str, status: str = "signed") -> MarketOrder:
        return MarketOrder(
            artwork_id=1,
            mint_intent_id=row,
            mode="testnet",
            order_hash=f"0x{salt}",
            make_value="1",
            take_currency="ETH",
            price="0.1",
            price_wei="100000000000000000",
            salt=salt,
            start_ts=0,
            end_ts=0,
            data_type="V2",
            payload_json="{}",
            status=status,
        )

    with session_scope(engine) as session:
        session.add(order("1", "expired"))
        session.add(order("2"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(order("3"))
    engine.dispose()


def test_on_postgresql_a_stale_failure_or_transition_changes_nothing(postgres_url: str) -> None:
    from storage.artworks import StaleState, record_failure, transition
    from storage.db import make_engine
    from storage.models import Artwork, ArtworkState

    engine = make_engine(postgres_url)
    artwork_id = add_pinned_artwork(engine, 2, state=ArtworkState.MINTING)
    with session_scope(engine) as stale:
        artwork = stale.get(Artwork, artwork_id)
        assert artwork is not None and artwork.state == "minting"
        with session_scope(engine) as other:  # another process mints and lists it meanwhile
            fresh = other.get(Artwork, artwork_id)
            assert fresh is not None
            for target in (ArtworkState.MINTED, ArtworkState.LISTING, ArtworkState.LISTED):
                transition(other, fresh, target)
        assert not record_failure(stale, artwork, ArtworkState.MINTING, "late refusal")
    with pytest.raises(StaleState), session_scope(engine) as stale:
        artwork = stale.get(Artwork, artwork_id)
        assert artwork is not None
        with session_scope(engine) as other:
            fresh = other.get(Artwork, artwork_id)
            assert fresh is not None
            transition(other, fresh, ArtworkState.LISTING)  # an expired order is replaced
        transition(stale, artwork, ArtworkState.LISTING)  # from its stale `listed`
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None and artwork.state == "listing" and artwork.error is None
    engine.dispose()
