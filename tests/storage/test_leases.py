"""Leases on artworks in work (storage/leases.py), on SQLite and PostgreSQL: one batch
statement picks and marks; an expired lease or a dead owner's lease is taken over; two real
worker processes on one PostgreSQL database never take the same artwork."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage import leases
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.types import utcnow

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [col(Artwork.state) == ArtworkState.CANDIDATE.value]


def add_artworks(engine: Engine, n: int) -> list[int]:
    with session_scope(engine) as session:
        ids = []
        for i in range(n):
            listing = Listing(source="test", marketplace="test", item_id=f"item-{i}", title="Cats")
            session.add(listing)
            session.flush()
            artwork = Artwork(listing_id=listing.id or 0, state="candidate", rank=n - i)
            session.add(artwork)
            session.flush()
            ids.append(artwork.id or 0)
    return ids


def holders(engine: Engine) -> dict[int, str | None]:
    with session_scope(engine) as session:
        return {a.id or 0: a.claim_owner for a in session.exec(select(Artwork)).all()}


def test_a_batch_is_leased_once_in_rank_order_and_released(db_url: str) -> None:
    engine = make_engine(db_url)
    ids = add_artworks(engine, 5)
    order = [col(Artwork.rank).asc()]
    first = leases.claim_batch(engine, "a:1:x", 60, where=CANDIDATES, order_by=order, limit=3)
    assert first == sorted(ids, reverse=True)[:3]  # best rank (lowest number) first
    second = leases.claim_batch(engine, "b:2:y", 60, where=CANDIDATES, order_by=order, limit=3)
    assert set(second) == set(ids) - set(first)  # the rest, never a leased one
    assert leases.claim_batch(engine, "c:3:z", 60, where=CANDIDATES) == []
    # The holder may take its own again (a retry after an error); renewal keeps what it holds.
    again = leases.claim_batch(engine, "a:1:x", 60, where=CANDIDATES, limit=10)
    assert set(again) == set(first)
    assert leases.renew(engine, "a:1:x", ids, 60) == set(first)
    assert leases.holds(engine, "a:1:x", first[0]) and not leases.holds(engine, "b:2:y", first[0])
    assert leases.release(engine, "a:1:x", first[:1]) == 1
    assert leases.release(engine, "a:1:x") == 2
    assert leases.leases_held(engine) == {"b:2:y": 2}
    assert {i for i, h in holders(engine).items() if h is None} == set(first)


def test_an_expired_lease_goes_to_the_next_worker_and_the_old_one_cannot_renew(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    (artwork_id,) = add_artworks(engine, 1)
    stalled = "otherhost:123:aaaa"  # another machine: only the expiry frees its leases
    assert leases.claim_batch(engine, stalled, 60, where=CANDIDATES) == [artwork_id]
    assert leases.claim_batch(engine, "here:1:b", 60, where=CANDIDATES) == []
    assert leases.release_dead_owners(engine) == {}  # not of this host: alive as far as we know
    with engine.begin() as connection:  # time passes: the lease runs out
        connection.execute(
            update(Artwork.__table__)  # type: ignore[attr-defined]
            .where(col(Artwork.id) == artwork_id)
            .values(claim_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert leases.claim_batch(engine, "here:1:b", 60, where=CANDIDATES) == [artwork_id]
    assert leases.renew(engine, stalled, [artwork_id], 60) == set()  # lost: must stop
    assert holders(engine)[artwork_id] == "here:1:b"


def test_a_dead_process_of_this_host_loses_its_leases_at_once(db_url: str) -> None:
    engine = make_engine(db_url)
    ids = add_artworks(engine, 2)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that existed and is gone
    dead = f"{leases.socket.gethostname()}:{child.pid}:dead"
    assert leases.claim_batch(engine, dead, 3600, where=CANDIDATES) == sorted(ids)
    assert leases.is_dead_here(dead) and not leases.is_dead_here(leases.new_owner_id())
    assert leases.release_dead_owners(engine) == {dead: 2}
    assert sorted(leases.claim_batch(engine, "here:1:c", 60, where=CANDIDATES)) == sorted(ids)


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from sqlalchemy import update
    from sqlmodel import col
    from storage import leases
    from storage.db import make_engine
    from storage.models import Artwork

    url, log_path, hold_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    engine = make_engine(url, schema_policy="skip")
    owner = leases.new_owner_id()
    table = Artwork.__table__
    with open(log_path, "a") as log:
        while True:
            leases.release_dead_owners(engine)  # as every pipeline pass does first
            ids = leases.claim_batch(
                engine, owner, 30,
                where=[col(Artwork.state) == "candidate"],
                order_by=[col(Artwork.rank).asc()], limit=3,
            )
            if not ids:
                break
            log.write(json.dumps({"owner": owner, "ids": ids}) + "\\n")
            log.flush()
            time.sleep(hold_s)  # "work", while holding the leases
            with engine.begin() as connection:
                connection.execute(
                    update(table).where(table.c.id.in_(ids), table.c.claim_owner == owner)
                    .values(state="prepared")
                )
            leases.release(engine, owner, ids)
    """
)


def _start_worker(url: str, log: Path, hold_s: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(log), str(hold_s)], env=env, cwd=REPO
    )


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_two_worker_processes_on_postgresql_never_take_the_same_artwork(
    postgres_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        engine = make_engine(url)
        ids = add_artworks(engine, 60)
        logs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
        workers = [_start_worker(url, log, 0.02) for log in logs]
        for worker in workers:
            assert worker.wait(150) == 0
        taken: dict[int, str] = {}
        per_worker: list[int] = []
        for log in logs:
            batches = [json.loads(line) for line in log.read_text().splitlines()]
            per_worker.append(sum(len(b["ids"]) for b in batches))
            for batch in batches:
                for artwork_id in batch["ids"]:
                    assert artwork_id not in taken, f"artwork {artwork_id} taken twice"
                    taken[artwork_id] = batch["owner"]
        assert sorted(taken) == sorted(ids)  # every artwork, exactly once
        assert all(count > 0 for count in per_worker), per_worker  # both shared the work
        assert set(holders(engine).values()) == {None}
        engine.dispose()
    finally:
        postgres_server.drop_database(name)


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_a_worker_killed_with_sigkill_loses_its_lease_and_another_finishes(
    postgres_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        engine = make_engine(url)
        ids = add_artworks(engine, 9)
        first_log = tmp_path / "killed.jsonl"
        killed = _start_worker(url, first_log, 3600)  # holds its first batch "forever"
        deadline = time.monotonic() + 60
        while not (first_log.exists() and first_log.read_text().strip()):
            assert time.monotonic() < deadline and killed.poll() is None
            time.sleep(0.05)
        held = json.loads(first_log.read_text().splitlines()[0])["ids"]
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert {holders(engine)[i] for i in held} != {None}  # the dead worker's leases remain
        survivor_log = tmp_path / "survivor.jsonl"
        survivor = _start_worker(url, survivor_log, 0)
        assert survivor.wait(120) == 0
        done = [json.loads(line) for line in survivor_log.read_text().splitlines()]
        survivor_ids = {i for batch in done for i in batch["ids"]}
        assert set(held) <= survivor_ids and survivor_ids == set(ids)
        with session_scope(engine) as session:
            states = {a.state for a in session.exec(select(Artwork)).all()}
        assert states == {"prepared"}
        engine.dispose()
    finally:
        postgres_server.drop_database(name)
