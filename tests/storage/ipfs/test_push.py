"""The pin backlog: local blockstore → a real node (js-ipfs) or a pinning service, verified."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import Cid
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner
from storage.ipfs.profiles import legacy_profile
from storage.ipfs.push import push_backlog
from tests.storage.ipfs.fake_servers import ServiceState, pinning_service
from tests.storage.ipfs.jsipfs_node import JsIpfsNode


def _filled_store(root: Path) -> tuple[LocalBlockstore, dict[str, bytes]]:
    store = LocalBlockstore(root)
    contents: dict[str, bytes] = {}
    for index, (size, version) in enumerate([(10, 1), (300_000, 1), (600_000, 0), (0, 0)]):
        data = random.Random(index).randbytes(size)
        outcome = store.add_bytes(data, profile=legacy_profile(version), name=f"f{index}")
        contents[outcome.cid] = data
    return store, contents


@pytest.mark.ipfs
@pytest.mark.timeout(120)
def test_push_to_a_node_gives_the_same_cids(jsipfs: JsIpfsNode, tmp_path: Path) -> None:
    store, contents = _filled_store(tmp_path / "ipfs")
    node = KuboPinner(KuboClient(jsipfs.api_url))
    results = list(push_backlog(store, node))
    assert [r.error for r in results] == [None] * len(contents)
    assert {r.cid for r in results} == set(contents)
    for cid, data in contents.items():
        assert node.is_pinned(cid)
        assert node.cat(cid) == data


@pytest.mark.ipfs
@pytest.mark.timeout(120)
def test_a_damaged_local_dag_fails_alone(jsipfs: JsIpfsNode, tmp_path: Path) -> None:
    store, contents = _filled_store(tmp_path / "ipfs")
    damaged = next(cid for cid, data in contents.items() if len(data) == 300_000)
    leaf = next(c for c in store.dag_blocks(damaged) if c != Cid.parse(damaged))
    store._block_path(leaf).unlink()
    results = {r.cid: r for r in push_backlog(store, KuboPinner(KuboClient(jsipfs.api_url)))}
    assert results[damaged].outcome is None and str(leaf) in (results[damaged].error or "")
    assert all(r.outcome is not None for cid, r in results.items() if cid != damaged)


def test_push_to_a_pinning_service_and_skip(tmp_path: Path) -> None:
    store, contents = _filled_store(tmp_path / "ipfs")
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        target = PinningServicePinner(
            PinningServiceClient(service.url, state.token), store, sleep=lambda _s: None
        )
        skip = next(iter(contents))
        results = list(push_backlog(store, target, skip=[skip]))
    assert {r.cid for r in results} == set(contents) - {skip}
    assert all(r.outcome is not None and r.outcome.pinned for r in results)
    assert {pin["pin"]["cid"] for pin in state.pins.values()} == set(contents) - {skip}


def test_push_to_local_is_refused(tmp_path: Path) -> None:
    store, _ = _filled_store(tmp_path / "ipfs")
    with pytest.raises(ValueError, match="cannot push to pinner 'local'"):
        list(push_backlog(store, LocalBlockstore(tmp_path / "other")))
