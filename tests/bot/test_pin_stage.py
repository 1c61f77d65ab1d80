"""chosen → pinned: image then metadata, recorded in `pins`, idempotent, failures named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bot.pipeline.pin_stage import PinStageError, pin_artwork
from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import Cid
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner
from storage.ipfs.profiles import LEGACY_V1, CidProfile
from storage.ipfs.records import token_uri
from storage.ipfs.targets import PinTarget, UnreachableTargets
from storage.ipfs.transport import RetryPolicy
from storage.ipfs.unixfs import import_bytes
from storage.models import Artwork, ArtworkEvent
from storage.models.frame import Frame
from storage.models.pin import Pin
from tests.bot.pin_fixtures import World, add_artwork, as_target, make_world
from tests.storage.ipfs.fake_servers import KuboScript, ServiceState, fake_kubo, pinning_service

VERSION = "nftbot generator 0.1.0"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "data")


def _run(world: World, artwork_id: int, *pinners, profile: CidProfile = LEGACY_V1):  # type: ignore[no-untyped-def]
    return pin_artwork(
        world.engine,
        artwork_id,
        targets=[p if isinstance(p, PinTarget) else as_target(p) for p in pinners],
        blobs=world.blobs,
        profile=profile,
        generator_version=VERSION,
    )


def test_chosen_frame_and_metadata_are_pinned_and_recorded(world: World) -> None:
    artwork_id, frame_ids = add_artwork(world)
    store = LocalBlockstore(world.data_dir / "ipfs")
    result = _run(world, artwork_id, store)
    assert result.ok and result.state == "pinned" and result.changed
    with session_scope(world.engine) as session:
        chosen = session.get(Frame, frame_ids[2])
        assert chosen is not None
        png = world.blobs.read_bytes(chosen.blob_sha256)
        rows = session.exec(select(Pin).order_by(Pin.id)).all()  # type: ignore[arg-type]
        assert [(r.kind, r.status, r.target) for r in rows] == [
            ("image", "pinned", "local"),
            ("metadata", "pinned", "local"),
        ]
        assert rows[0].cid == str(import_bytes(png).cid) and rows[0].frame_id == frame_ids[2]
        assert rows[0].size == len(png)
        assert token_uri(session, artwork_id) == f"ipfs://{rows[1].cid}" == result.token_uri
        assert session.get(Artwork, artwork_id).state == "pinned"  # type: ignore[union-attr]
    metadata = json.loads(store.cat(result.metadata_cid or ""))
    assert metadata["image"] == f"ipfs://{result.image_cid}"
    assert store.cat(result.image_cid or "") == png
    traits = {a["trait_type"]: a["value"] for a in metadata["attributes"]}
    assert traits["Iteration"] == 2 and traits["Seed"] == 7
    assert traits["Source series"] == "Cyber Cats"  # the series title stays as metadata
    assert traits["Generator version"] == VERSION and traits["Source NFT"] == "hive:nft-1"
    assert Cid.parse(result.metadata_cid or "").version == 1


def test_running_twice_changes_nothing(world: World) -> None:
    artwork_id, _ = add_artwork(world)
    store = LocalBlockstore(world.data_dir / "ipfs")
    first = _run(world, artwork_id, store)
    second = _run(world, artwork_id, store)
    assert second.ok and not second.changed and second.token_uri == first.token_uri
    with session_scope(world.engine) as session:
        assert len(session.exec(select(Pin)).all()) == 2
        events = session.exec(select(ArtworkEvent).where(ArtworkEvent.to_state == "pinned")).all()
        assert len(events) == 1


def test_a_crash_between_image_and_metadata_resumes_with_the_same_cids(world: World) -> None:
    artwork_id, _ = add_artwork(world)
    store = LocalBlockstore(world.data_dir / "ipfs")

    class DiesOnMetadata(LocalBlockstore):
        def add_bytes(self, data: bytes, *, profile: CidProfile, name: str | None = None):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # stands for kill -9 after the image was recorded

    with pytest.raises(KeyboardInterrupt):
        _run(world, artwork_id, DiesOnMetadata(store.root))
    with session_scope(world.engine) as session:
        assert [p.kind for p in session.exec(select(Pin)).all()] == ["image"]
        assert session.get(Artwork, artwork_id).state == "chosen"  # type: ignore[union-attr]
    result = _run(world, artwork_id, store)
    assert result.ok
    reference = make_world(world.data_dir.parent / "fresh")
    again_id, _ = add_artwork(reference)
    fresh = _run(reference, again_id, LocalBlockstore(reference.data_dir / "ipfs"))
    assert (result.image_cid, result.metadata_cid) == (fresh.image_cid, fresh.metadata_cid)


def test_no_chosen_frame_fails_the_artwork_with_a_reason(world: World) -> None:
    artwork_id, _ = add_artwork(world, chosen_iteration=None)
    result = _run(world, artwork_id, LocalBlockstore(world.data_dir / "ipfs"))
    assert result.state == "failed" and not result.ok
    assert f"artwork {artwork_id} has no chosen frame" in (result.detail or "")
    with session_scope(world.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None and artwork.failed_stage == "pinned" and artwork.attempts == 1
        assert session.exec(select(Pin)).all() == []


def test_a_failed_artwork_is_retried_and_others_are_unaffected(world: World) -> None:
    bad, _ = add_artwork(world, item_id="bad", chosen_iteration=None)
    good, _ = add_artwork(world, item_id="good")
    store = LocalBlockstore(world.data_dir / "ipfs")
    assert _run(world, bad, store).state == "failed"
    assert _run(world, good, store).ok
    with session_scope(world.engine) as session:
        frame = session.exec(select(Frame).where(Frame.artwork_id == bad)).first()
        assert frame is not None
        frame.chosen = True
        session.add(frame)
    assert _run(world, bad, store).ok


def test_wrong_state_is_refused_without_side_effects(world: World) -> None:
    from storage.models import ArtworkState

    artwork_id, _ = add_artwork(world, state=ArtworkState.GENERATED)
    with pytest.raises(PinStageError, match=f"artwork {artwork_id} is generated, not chosen"):
        _run(world, artwork_id, LocalBlockstore(world.data_dir / "ipfs"))


def test_a_node_with_another_cid_fails_the_stage_and_records_only_the_failure(
    world: World,
) -> None:
    artwork_id, _ = add_artwork(world)
    with fake_kubo(KuboScript()) as node:
        pinner = KuboPinner(KuboClient(node.url, policy=RetryPolicy(attempts=1)))
        result = _run(world, artwork_id, pinner)
    assert result.state == "failed" and "node answered" in (result.detail or "")
    with session_scope(world.engine) as session:
        (row,) = session.exec(select(Pin)).all()  # the image's; the metadata was not tried
        assert (row.kind, row.target, row.status) == ("image", "kubo", "failed")
        assert "node answered" in (row.error or "") and token_uri(session, artwork_id) is None


def test_a_pin_still_queued_leaves_the_artwork_chosen(world: World) -> None:
    artwork_id, _ = add_artwork(world)
    state = ServiceState(polls_until_pinned=10_000)
    with pinning_service(state) as service:
        client = PinningServiceClient(service.url, state.token)
        pinner = PinningServicePinner(
            client,
            LocalBlockstore(world.data_dir / "ipfs"),
            poll_timeout_s=0.0,
            sleep=lambda _s: None,
        )
        waiting = _run(world, artwork_id, pinner)
        assert waiting.state == "chosen" and "queued" in (waiting.detail or "")
        state.polls_until_pinned = 1
        pinner.poll_timeout_s = 5.0
        done = _run(world, artwork_id, pinner)
    assert done.ok and done.token_uri
    assert state.requests.count("POST /pins") == 2  # image once, metadata once


# --- several targets ------------------------------------------------------------------------------
class _CountingStore(LocalBlockstore):
    adds = 0

    def add_file(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).adds += 1
        return super().add_file(*args, **kwargs)

    def add_bytes(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).adds += 1
        return super().add_bytes(*args, **kwargs)


def _service_target(world: World, url: str, token: str, *, required: bool) -> PinTarget:
    pinner = PinningServicePinner(
        PinningServiceClient(url, token),
        LocalBlockstore(world.data_dir / "ipfs"),
        name="svc",
        sleep=lambda _s: None,
    )
    return PinTarget("svc", "pinning-service", required, pinner)


def test_an_optional_target_that_fails_does_not_hold_the_artwork_back(world: World) -> None:
    artwork_id, _ = add_artwork(world)
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        image_cid = str(import_bytes(_chosen_png(world, artwork_id)).cid)
        state.fail_cids.add(image_cid)
        svc = _service_target(world, service.url, state.token, required=False)
        result = _run(world, artwork_id, LocalBlockstore(world.data_dir / "ipfs"), svc)
    assert result.ok and result.state == "pinned" and "failed at svc" in (result.detail or "")
    with session_scope(world.engine) as session:
        rows = {(r.kind, r.target): (r.status, r.error) for r in session.exec(select(Pin))}
    assert rows[("image", "local")] == ("pinned", None)
    assert rows[("metadata", "local")] == ("pinned", None)
    status, error = rows[("image", "svc")]
    assert status == "failed" and "could not find the content" in (error or "")
    assert ("metadata", "svc") not in rows  # metadata only follows its image on a target


def test_a_required_target_that_fails_fails_the_artwork_and_the_retry_asks_only_it(
    world: World,
) -> None:
    artwork_id, _ = add_artwork(world)
    store = _CountingStore(world.data_dir / "ipfs")
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        image_cid = str(import_bytes(_chosen_png(world, artwork_id)).cid)
        state.fail_cids.add(image_cid)
        svc = _service_target(world, service.url, state.token, required=True)
        failed = _run(world, artwork_id, store, svc)
        assert failed.state == "failed" and "image failed at svc" in (failed.detail or "")
        adds_before = _CountingStore.adds
        state.fail_cids.clear()
        done = _run(world, artwork_id, store, svc)
    assert done.ok and done.token_uri
    assert _CountingStore.adds == adds_before  # the local target already had both
    assert state.requests.count("POST /pins") == 3  # the failed image, then image and metadata
    with session_scope(world.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        # Pinned: the failure is in the event log; the next stage starts with a fresh count.
        assert artwork is not None and artwork.state == "pinned" and artwork.attempts == 0
        statuses = {(r.kind, r.target): r.status for r in session.exec(select(Pin))}
    assert set(statuses.values()) == {"pinned"} and len(statuses) == 4


def test_the_profile_decides_the_cids_and_is_recorded(world: World) -> None:
    from storage.ipfs.profiles import UNIXFS_V1_2025

    artwork_id, _ = add_artwork(world)
    store = LocalBlockstore(world.data_dir / "ipfs")
    result = _run(world, artwork_id, store, profile=UNIXFS_V1_2025)
    png = _chosen_png(world, artwork_id)
    assert result.image_cid == str(import_bytes(png, UNIXFS_V1_2025).cid)
    with session_scope(world.engine) as session:
        assert {r.profile for r in session.exec(select(Pin))} == {"unixfs-v1-2025"}
    record = store.pin_record(result.image_cid or "")
    assert record is not None and record.profile == "unixfs-v1-2025"


def _chosen_png(world: World, artwork_id: int) -> bytes:
    with session_scope(world.engine) as session:
        frame = session.exec(
            select(Frame).where(Frame.artwork_id == artwork_id, Frame.chosen == True)  # noqa: E712
        ).one()
        return world.blobs.read_bytes(frame.blob_sha256)


def test_a_target_that_does_not_answer_is_asked_once_per_batch_not_once_per_artwork(
    world: World,
) -> None:
    """An optional kubo that answers 503 to every retry: the first artwork waits through the
    retries, the next one is not sent there at all; both are pinned at the local target and
    keep a failed row for the node (which `bot pins verify` repairs). After the hold the node
    is asked again."""
    first, _ = add_artwork(world, item_id="nft-1")
    second, _ = add_artwork(world, item_id="nft-2")
    now = [0.0]
    unreachable = UnreachableTargets(hold_s=300, clock=lambda: now[0])
    script = KuboScript(fail_first=[503] * 100)
    with fake_kubo(script) as node:
        kubo = KuboPinner(
            KuboClient(node.url, policy=RetryPolicy(attempts=3, sleep=lambda _: None))
        )
        targets = [
            as_target(LocalBlockstore(world.data_dir / "ipfs")),
            as_target(kubo, required=False),
        ]

        def pin(artwork_id: int):  # type: ignore[no-untyped-def]
            return pin_artwork(
                world.engine, artwork_id, targets=targets, blobs=world.blobs,
                profile=LEGACY_V1, generator_version=VERSION, unreachable=unreachable,
            )  # fmt: skip

        assert pin(first).state == "pinned"
        asked = len(script.calls)
        assert asked == 3  # the retries of the image, then the node counts as down
        result = pin(second)
        assert result.state == "pinned" and "did not answer a moment ago" in (result.detail or "")
        assert len(script.calls) == asked  # not asked again within the hold
        with session_scope(world.engine) as session:
            rows = {(r.artwork_id, r.kind, r.target): r.status for r in session.exec(select(Pin))}
        node_name = targets[1].name
        assert rows[(second, "image", node_name)] == "failed"
        now[0] = 301.0  # the hold is over: the node is asked again
        third, _ = add_artwork(world, item_id="nft-3")
        pin(third)
        assert len(script.calls) == asked + 3
