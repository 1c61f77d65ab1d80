"""Kubo client error paths: a node that answers another CID, 5xx retries, named errors."""

from __future__ import annotations

import pytest

from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinner import CidMismatch, IpfsError
from storage.ipfs.profiles import LEGACY_V0, LEGACY_V1
from storage.ipfs.transport import RetryPolicy
from tests.storage.ipfs.fake_servers import KuboScript, fake_kubo


def _pinner(url: str) -> KuboPinner:
    return KuboPinner(KuboClient(url, policy=RetryPolicy(attempts=3, sleep=lambda _s: None)))


def test_a_different_cid_from_the_node_is_a_hard_error_and_nothing_is_pinned() -> None:
    script = KuboScript(add_hash="QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")  # empty file
    with fake_kubo(script) as node, pytest.raises(CidMismatch) as raised:
        _pinner(node.url).add_bytes(b"not empty", profile=LEGACY_V0)
    message = str(raised.value)
    assert "QmbFMke1" in message and "/api/v0/add" in message
    assert "/api/v0/pin/add" not in script.calls  # added with pin=false, never pinned


def test_the_same_cid_in_another_base_is_accepted() -> None:
    from storage.ipfs.cid import b58encode
    from storage.ipfs.unixfs import import_bytes

    local = import_bytes(b"hello world\n", cid_version=1).cid
    script = KuboScript(add_hash="z" + b58encode(local.to_bytes()))  # js-ipfs style base58btc
    with fake_kubo(script) as node:
        outcome = _pinner(node.url).add_bytes(b"hello world\n", profile=LEGACY_V1)
    assert outcome.cid == str(local) and outcome.pinned
    assert script.calls == ["/api/v0/add", "/api/v0/pin/add"]


def test_unavailable_node_is_retried_then_succeeds() -> None:
    script = KuboScript(add_hash="QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", fail_first=[503])
    with fake_kubo(script) as node:
        outcome = _pinner(node.url).add_bytes(b"hello world\n", profile=LEGACY_V0)
    assert outcome.cid == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert script.calls[:2] == ["/api/v0/add", "/api/v0/add"]


def test_a_node_error_names_the_cid_and_the_endpoint() -> None:
    script = KuboScript(fail_first=[500])
    with fake_kubo(script) as node, pytest.raises(IpfsError) as raised:
        _pinner(node.url).client.pin_add("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert "QmT78zSu" in str(raised.value) and "/api/v0/pin/add" in str(raised.value)


def test_unreachable_node_names_the_endpoint() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(IpfsError) as raised:
        _pinner(f"http://127.0.0.1:{port}").client.version()
    assert f"127.0.0.1:{port}/api/v0/version" in str(raised.value)
    assert "3 attempt(s)" in str(raised.value)
