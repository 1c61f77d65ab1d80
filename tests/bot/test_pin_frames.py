"""Progress-loss protection: every frame pinned as written, unchosen ones unpinned later."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.pipeline.frame_pins import make_frame_pin_hook, unpin_unchosen_frames
from bot.pipeline.pin_stage import pin_artwork
from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.pinner import IpfsError
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner
from storage.ipfs.profiles import LEGACY_V1
from storage.models.frame import Frame
from storage.models.pin import Pin
from tests.bot.pin_fixtures import World, add_artwork, as_target, make_world
from tests.storage.ipfs.fake_servers import ServiceState, pinning_service


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "data")


def _frames(world: World, artwork_id: int) -> list[Frame]:
    with session_scope(world.engine) as session:
        return list(session.exec(select(Frame).where(Frame.artwork_id == artwork_id)).all())


def _pins(world: World) -> list[Pin]:
    with session_scope(world.engine) as session:
        return list(session.exec(select(Pin).order_by(Pin.id)).all())  # type: ignore[arg-type]


def test_every_frame_is_pinned_then_unchosen_ones_unpinned(world: World) -> None:
    artwork_id, frame_ids = add_artwork(world, frames=4, chosen_iteration=1)
    store = LocalBlockstore(world.data_dir / "ipfs")
    hook = make_frame_pin_hook(world.engine, [as_target(store)], world.blobs)
    for frame in _frames(world, artwork_id):
        hook(frame)
        hook(frame)  # a second call (writer retry) adds nothing
    pins = _pins(world)
    assert [(p.kind, p.status, p.frame_id) for p in pins] == [
        ("frame", "pinned", frame_id) for frame_id in frame_ids
    ]
    assert all(store.is_pinned(p.cid) for p in pins)

    result = pin_artwork(
        world.engine,
        artwork_id,
        targets=[as_target(store)],
        blobs=world.blobs,
        profile=LEGACY_V1,
        generator_version="test",
    )
    assert result.ok
    kinds = {p.frame_id: p.kind for p in _pins(world) if p.frame_id}
    assert kinds[frame_ids[1]] == "image"  # the chosen frame's row became the image pin

    with session_scope(world.engine) as session:
        assert unpin_unchosen_frames(session, [as_target(store)], artwork_id) == 3
    by_frame = {p.frame_id: p for p in _pins(world) if p.frame_id}
    for index, frame_id in enumerate(frame_ids):
        if index == 1:
            assert by_frame[frame_id].status == "pinned" and store.is_pinned(by_frame[frame_id].cid)
        else:
            assert by_frame[frame_id].status == "unpinned"
            assert not store.is_pinned(by_frame[frame_id].cid)
    assert store.cat(result.image_cid or "")  # the chosen image's blocks survived the gc
    with session_scope(world.engine) as session:
        assert unpin_unchosen_frames(session, [as_target(store)], artwork_id) == 0


def test_a_failing_pinner_records_the_failure_and_raises(world: World) -> None:
    artwork_id, _ = add_artwork(world, frames=1)
    state = ServiceState(faults={"GET /pins": ["500"] * 10})
    with pinning_service(state) as service:
        from storage.ipfs.transport import RetryPolicy

        client = PinningServiceClient(
            service.url, state.token, policy=RetryPolicy(attempts=2, sleep=lambda _s: None)
        )
        pinner = PinningServicePinner(client, LocalBlockstore(world.data_dir / "ipfs"))
        hook = make_frame_pin_hook(world.engine, [as_target(pinner)], world.blobs)
        with pytest.raises(IpfsError):
            hook(_frames(world, artwork_id)[0])
    (pin,) = _pins(world)
    assert pin.kind == "frame" and pin.status == "failed" and "HTTP 500" in (pin.error or "")


def test_unpin_with_a_pinning_service_deletes_the_requests(world: World) -> None:
    artwork_id, _ = add_artwork(world, frames=3, chosen_iteration=0)
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        pinner = PinningServicePinner(
            PinningServiceClient(service.url, state.token),
            LocalBlockstore(world.data_dir / "ipfs"),
            sleep=lambda _s: None,
        )
        hook = make_frame_pin_hook(world.engine, [as_target(pinner)], world.blobs)
        for frame in _frames(world, artwork_id):
            hook(frame)
        assert len(state.pins) == 3
        with session_scope(world.engine) as session:
            assert unpin_unchosen_frames(session, [as_target(pinner)], artwork_id) == 2
        assert len(state.pins) == 1
