"""The pinning-service pinner against a local Pinning Service API server with faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinner import IpfsError, PinFailed
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner
from storage.ipfs.profiles import LEGACY_V1
from storage.ipfs.transport import RetryPolicy
from storage.ipfs.unixfs import import_bytes
from storage.models.pin import PinStatus
from tests.storage.ipfs.fake_servers import (
    FAKE_PEER,
    KuboScript,
    ServiceState,
    fake_kubo,
    pinning_service,
)
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

pytestmark = pytest.mark.timeout(60)


def _pinner(
    url: str,
    tmp_path: Path,
    *,
    token: str = "test-token",
    timeout_s: float = 5.0,
    poll_timeout_s: float = 30.0,
) -> PinningServicePinner:
    client = PinningServiceClient(
        url, token, timeout_s=timeout_s, policy=RetryPolicy(attempts=3, sleep=lambda _s: None)
    )
    return PinningServicePinner(
        client,
        LocalBlockstore(tmp_path / "ipfs"),
        poll_interval_s=0.0,
        poll_timeout_s=poll_timeout_s,
        sleep=lambda _s: None,
    )


def test_pin_polls_until_pinned_and_keeps_the_bytes_locally(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=3)
    with pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path)
        outcome = pinner.add_bytes(b"metadata json", profile=LEGACY_V1, name="meta")
        assert outcome.status is PinStatus.PINNED and outcome.request_id
        assert outcome.cid == str(import_bytes(b"metadata json").cid)
        assert pinner.is_pinned(outcome.cid)
        assert pinner.cat(outcome.cid) == b"metadata json"
        assert pinner.status(outcome.cid, request_id=outcome.request_id).pinned
    assert state.requests.count("POST /pins") == 1
    assert state.polls[outcome.request_id] >= 3


def test_pinning_the_same_cid_twice_reuses_the_request(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path)
        first = pinner.add_bytes(b"same", profile=LEGACY_V1)
        second = pinner.add_bytes(b"same", profile=LEGACY_V1)
    assert first.request_id == second.request_id
    assert state.requests.count("POST /pins") == 1


def test_rate_limit_is_retried(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=1, faults={"POST /pins": ["429", "429"]})
    with pinning_service(state) as service:
        outcome = _pinner(service.url, tmp_path).add_bytes(b"x", profile=LEGACY_V1)
    assert outcome.pinned
    assert state.requests.count("POST /pins") == 3


def test_a_500_after_the_pin_was_created_does_not_create_a_second_request(
    tmp_path: Path,
) -> None:
    state = ServiceState(polls_until_pinned=1, faults={"POST /pins": ["500-after-create"]})
    with pinning_service(state) as service:
        outcome = _pinner(service.url, tmp_path).add_bytes(b"once", profile=LEGACY_V1)
    assert outcome.pinned
    assert state.requests.count("POST /pins") == 1  # reconciled through GET /pins?cid=
    assert len(state.pins) == 1


def test_a_plain_500_is_retried_after_checking(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=1, faults={"POST /pins": ["500"]})
    with pinning_service(state) as service:
        outcome = _pinner(service.url, tmp_path).add_bytes(b"retry", profile=LEGACY_V1)
    assert outcome.pinned and len(state.pins) == 1


def test_reads_are_retried_on_500(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=1, faults={"GET /pins/": ["500", "500"]})
    with pinning_service(state) as service:
        outcome = _pinner(service.url, tmp_path).add_bytes(b"reads", profile=LEGACY_V1)
    assert outcome.pinned


def test_failed_status_raises_with_the_cid_and_the_details(tmp_path: Path) -> None:
    cid = str(import_bytes(b"unreachable content").cid)
    state = ServiceState(fail_cids={cid})
    with pinning_service(state) as service, pytest.raises(PinFailed) as raised:
        _pinner(service.url, tmp_path).add_bytes(b"unreachable content", profile=LEGACY_V1)
    assert cid in str(raised.value) and "could not find the content" in str(raised.value)
    assert "/pins/" in str(raised.value)


def test_slow_service_times_out_and_names_the_endpoint(tmp_path: Path) -> None:
    state = ServiceState(faults={"GET /pins": ["slow:1", "slow:1", "slow:1"]})
    with pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path, timeout_s=0.3)
        with pytest.raises(IpfsError) as raised:
            pinner.add_bytes(b"slow", profile=LEGACY_V1)
    assert "Timeout" in str(raised.value) and "/pins" in str(raised.value)
    assert str(import_bytes(b"slow").cid) in str(raised.value)


def test_still_queued_at_the_deadline_is_returned_as_queued(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=10_000)
    with pinning_service(state) as service:
        outcome = _pinner(service.url, tmp_path, poll_timeout_s=0.0).add_bytes(
            b"later", profile=LEGACY_V1
        )
        assert outcome.status is PinStatus.QUEUED and outcome.request_id
        state.polls_until_pinned = 1
        pinner = _pinner(service.url, tmp_path)
        assert pinner.status(outcome.cid, request_id=outcome.request_id).pinned


def test_wrong_token_is_a_clear_error(tmp_path: Path) -> None:
    with pinning_service(ServiceState()) as service, pytest.raises(IpfsError) as raised:
        _pinner(service.url, tmp_path, token="wrong").add_bytes(b"x", profile=LEGACY_V1)
    assert "401" in str(raised.value) and "UNAUTHORIZED" in str(raised.value)


def test_unpin_deletes_the_request(tmp_path: Path) -> None:
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path)
        outcome = pinner.add_bytes(b"frame", profile=LEGACY_V1)
        pinner.unpin(outcome.cid)
        assert not pinner.is_pinned(outcome.cid)
    assert state.pins == {}


@pytest.mark.ipfs
def test_a_provider_node_holds_the_content(tmp_path: Path, jsipfs: JsIpfsNode) -> None:
    state = ServiceState(polls_until_pinned=1)
    provider = KuboPinner(KuboClient(jsipfs.api_url))
    with pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path)
        pinner.provider = provider
        outcome = pinner.add_bytes(b"fetch me from the node", profile=LEGACY_V1)
    assert outcome.pinned and provider.is_pinned(outcome.cid)
    assert provider.cat(outcome.cid) == b"fetch me from the node"


def test_the_provider_addresses_are_sent_as_origins(tmp_path: Path) -> None:
    data = b"fetch me from the node"
    script = KuboScript(add_hash=str(import_bytes(data).cid))
    state = ServiceState(polls_until_pinned=1)
    with fake_kubo(script) as node, pinning_service(state) as service:
        pinner = _pinner(service.url, tmp_path)
        pinner.provider = KuboPinner(KuboClient(node.url))
        pinner.origins = ("/dns4/pin.example/tcp/4001/p2p/12D3KooWOther",)
        assert pinner.add_bytes(data, profile=LEGACY_V1).pinned
    (request,) = state.pins.values()
    assert request["pin"]["origins"] == [
        "/dns4/pin.example/tcp/4001/p2p/12D3KooWOther",
        f"/ip4/127.0.0.1/tcp/4001/p2p/{FAKE_PEER}",
        f"/ip4/10.0.0.5/tcp/4001/p2p/{FAKE_PEER}",
    ]
    assert script.calls.count("/api/v0/id") == 1
