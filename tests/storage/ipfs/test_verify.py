"""`verify_pins` with real targets: the local blockstore, a js-ipfs node (kubo RPC) and the
Pinning Service API test server; gateways: the js-ipfs node's own and a lying test gateway."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine

from storage.db import make_engine, session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import Cid
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner
from storage.ipfs.profiles import LEGACY_V1, UNIXFS_V1_2025, CidProfile
from storage.ipfs.records import find_pin, record_outcome
from storage.ipfs.targets import PinTarget
from storage.ipfs.transport import RetryPolicy
from storage.ipfs.unixfs import import_bytes
from storage.ipfs.verify import verify_pins
from storage.models.pin import PinKind
from tests.storage.ipfs.fake_servers import GatewayState, ServiceState, gateway, pinning_service
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

pytestmark = [pytest.mark.ipfs, pytest.mark.timeout(180)]


@dataclass
class Setup:
    engine: Engine
    store: LocalBlockstore
    local: PinTarget
    node: PinTarget
    service: PinTarget
    state: ServiceState
    client: KuboClient

    @property
    def targets(self) -> list[PinTarget]:
        return [self.local, self.node, self.service]


@pytest.fixture
def setup(jsipfs: JsIpfsNode, tmp_path: Path):  # type: ignore[no-untyped-def]
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        store = LocalBlockstore(tmp_path / "ipfs")
        client = KuboClient(jsipfs.api_url, timeout_s=30)
        yield Setup(
            make_engine(f"sqlite:///{tmp_path / 'bot.db'}"),
            store,
            PinTarget("local", "local", True, store),
            PinTarget("node", "kubo", True, KuboPinner(client, name="node", cat_timeout="3s")),
            PinTarget(
                "service",
                "pinning-service",
                False,
                PinningServicePinner(
                    PinningServiceClient(service.url, state.token),
                    LocalBlockstore(tmp_path / "ipfs"),
                    name="service",
                    poll_interval_s=0,
                    sleep=lambda _s: None,
                ),
            ),
            state,
            client,
        )


def _publish(setup: Setup, profile: CidProfile = UNIXFS_V1_2025) -> tuple[bytes, bytes, str, str]:
    """An image (1.5 MB: its CID differs between profiles) and its metadata on every target."""
    image = random.Random(uuid.uuid4().int).randbytes(1_500_000)
    image_cid = str(import_bytes(image, profile).cid)
    metadata = json.dumps({"image": f"ipfs://{image_cid}", "nonce": uuid.uuid4().hex}).encode()
    metadata_cid = str(import_bytes(metadata, profile).cid)
    for data, kind in ((image, PinKind.IMAGE), (metadata, PinKind.METADATA)):
        for target in setup.targets:
            outcome = target.pinner.add_bytes(data, profile=profile, name=kind.value)
            assert outcome.pinned
            with session_scope(setup.engine) as session:
                record_outcome(session, outcome, kind=kind)
    return image, metadata, image_cid, metadata_cid


def _lose_on_node(setup: Setup, cid: str) -> None:
    setup.client.pin_rm(cid)
    gc = requests.post(f"{setup.client.base_url}/api/v0/repo/gc", timeout=60)
    assert gc.ok
    assert not setup.client.pin_ls(cid)


def _lose_at_service(setup: Setup, cid: str) -> None:
    for request_id, pin in list(setup.state.pins.items()):
        if pin["pin"]["cid"] == cid:
            del setup.state.pins[request_id]


def test_lost_pins_are_found_and_repaired_and_a_lying_gateway_is_caught(
    setup: Setup, jsipfs: JsIpfsNode
) -> None:
    image, metadata, image_cid, metadata_cid = _publish(setup)
    _lose_on_node(setup, image_cid)
    _lose_at_service(setup, metadata_cid)
    liar = GatewayState({image_cid: image + b"!", metadata_cid: metadata.replace(b"ipfs", b"IPFS")})
    # (The js-ipfs gateway is asked only after the repair: offline, it waits for missing blocks
    # until the client gives up, which would only slow the test down.)
    with gateway(liar) as lying:
        report = verify_pins(
            setup.engine,
            setup.targets,
            blockstore=setup.store,
            gateways=[f"{lying.url}/ipfs/", "http://127.0.0.1:9/ipfs/"],
            timeout_s=3,
        )
    by_cid = {r.cid: r for r in report.cids}
    image_report, metadata_report = by_cid[image_cid], by_cid[metadata_cid]
    assert image_report.profile == metadata_report.profile == "unixfs-v1-2025"
    found = {c.target: (c.found, c.action) for c in image_report.targets}
    assert found == {
        "local": ("ok", None),
        "node": ("missing", "repaired"),
        "service": ("ok", None),
    }
    found = {c.target: (c.found, c.action) for c in metadata_report.targets}
    assert found == {
        "local": ("ok", None),
        "node": ("ok", None),
        "service": ("missing", "repaired"),
    }
    assert [g.found for g in image_report.gateways] == ["wrong-bytes", "unavailable"]
    assert [g.found for g in metadata_report.gateways] == ["wrong-bytes", "unavailable"]
    assert "served more than" in (image_report.gateways[0].detail or "")
    lie = metadata_report.gateways[0].detail or ""
    assert "with profile unixfs-v1-2025" in lie and lie.endswith(f"not {metadata_cid}")
    assert not report.ok  # a gateway served wrong bytes
    assert report.counts() == {
        "cids": 2,
        "lost": 2,
        "repaired": 2,
        "unresolved": 0,
        "gateway_wrong_bytes": 2,
        "gateway_unavailable": 2,
    }
    # really repaired: the node pins and serves the image again, the service pins the metadata
    assert setup.client.pin_ls(image_cid) and setup.client.cat(image_cid) == image
    assert any(p["pin"]["cid"] == metadata_cid for p in setup.state.pins.values())
    with session_scope(setup.engine) as session:
        row = find_pin(session, image_cid, "node")
        assert row is not None and row.status == "pinned" and row.checked_at is not None
        assert row.profile == "unixfs-v1-2025"

    again = verify_pins(
        setup.engine,
        setup.targets,
        blockstore=setup.store,
        gateways=[f"{jsipfs.gateway_url}/ipfs/"],
        timeout_s=3,
    )
    assert again.ok and again.counts()["lost"] == 0
    assert all(g.found == "ok" for r in again.cids for g in r.gateways)


def test_the_recorded_profile_is_used_not_a_current_setting(setup: Setup) -> None:
    """Legacy-v1 pins are checked and re-pinned as legacy-v1 (a 2025 import of the same bytes
    has another CID, which the node's answer would not match)."""
    image, _metadata, image_cid, _ = _publish(setup, LEGACY_V1)
    assert image_cid != str(import_bytes(image, UNIXFS_V1_2025).cid)
    _lose_on_node(setup, image_cid)
    report = verify_pins(setup.engine, setup.targets, blockstore=setup.store, timeout_s=3)
    assert report.ok
    (checked,) = [r for r in report.cids if r.cid == image_cid]
    assert checked.profile == "legacy-v1"
    assert [(c.target, c.action) for c in checked.targets if c.action] == [("node", "repaired")]


def test_a_corrupted_local_copy_is_rewritten_from_the_node(setup: Setup) -> None:
    image, _metadata, image_cid, _ = _publish(setup)
    leaf = next(c for c in setup.store.dag_blocks(image_cid) if c != Cid.parse(image_cid))
    setup.store._block_path(leaf).write_bytes(b"bit rot")
    report = verify_pins(
        setup.engine, [setup.local, setup.node], blockstore=setup.store, timeout_s=3
    )
    (checked,) = [r for r in report.cids if r.cid == image_cid]
    local = checked.targets[0]
    assert (local.found, local.action) == ("corrupt", "repaired")
    assert checked.source == "target node" and report.ok
    assert setup.store.cat(image_cid) == image


def test_bytes_found_nowhere_cannot_be_repaired(setup: Setup) -> None:
    _image, _metadata, image_cid, _ = _publish(setup)
    for block in list(setup.store.dag_blocks(image_cid)):
        setup.store._block_path(block).unlink()
    _lose_on_node(setup, image_cid)
    report = verify_pins(
        setup.engine, [setup.local, setup.node], blockstore=setup.store, timeout_s=3
    )
    (checked,) = [r for r in report.cids if r.cid == image_cid]
    assert [(c.found, c.action) for c in checked.targets] == [
        ("missing", "repair-failed"),
        ("missing", "repair-failed"),
    ]
    assert "no verified copy anywhere" in (checked.targets[0].detail or "")
    assert not report.ok and report.counts()["unresolved"] == 2
    with session_scope(setup.engine) as session:
        row = find_pin(session, image_cid, "node")
        assert row is not None and row.status == "failed"
        assert "no verified copy" in (row.error or "")


def test_a_target_added_later_is_filled_and_an_unreachable_one_reported(
    setup: Setup, tmp_path: Path
) -> None:
    _image, _metadata, image_cid, metadata_cid = _publish(setup)
    fresh = ServiceState(polls_until_pinned=1)
    with pinning_service(fresh) as second:
        added = PinTarget(
            "second",
            "pinning-service",
            True,
            PinningServicePinner(
                PinningServiceClient(second.url, fresh.token),
                LocalBlockstore(tmp_path / "ipfs"),
                name="second",
                poll_interval_s=0,
                sleep=lambda _s: None,
            ),
        )
        nobody = KuboClient("http://127.0.0.1:9", timeout_s=2, policy=RetryPolicy(attempts=1))
        down = PinTarget("down", "kubo", False, KuboPinner(nobody, name="down"))
        report = verify_pins(
            setup.engine, [setup.local, added, down], blockstore=setup.store, timeout_s=3
        )
    found = {(r.cid, c.target): (c.found, c.action) for r in report.cids for c in r.targets}
    for cid in (image_cid, metadata_cid):
        assert found[(cid, "local")] == ("ok", None)
        assert found[(cid, "second")] == ("missing", "repaired")
        assert found[(cid, "down")] == ("unreachable", None)
    assert not report.ok and report.counts()["unresolved"] == 2
    # Asked once: the next CID does not wait through the retries of a target that is down.
    details = [c.detail or "" for r in report.cids for c in r.targets if c.target == "down"]
    assert sum("not asked: it did not answer earlier" in d for d in details) == 1, details
    assert {pin["pin"]["cid"] for pin in fresh.pins.values()} == {image_cid, metadata_cid}
    with session_scope(setup.engine) as session:
        row = find_pin(session, image_cid, "second")
        assert row is not None and row.status == "pinned" and row.kind == "image"
        assert find_pin(session, image_cid, "down") is None  # unknown state: nothing invented
