"""The kubo client against a real IPFS node: js-ipfs, offline on 127.0.0.1."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from storage.ipfs.cid import Cid
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinner import ContentNotFound
from storage.ipfs.profiles import LEGACY_V1, legacy_profile
from storage.ipfs.unixfs import import_bytes
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

pytestmark = [pytest.mark.ipfs, pytest.mark.timeout(180)]

SIZES = [0, 1, 11, 262_143, 262_144, 262_145, 3 * 262_144 + 7]


@pytest.fixture
def pinner(jsipfs: JsIpfsNode) -> KuboPinner:
    return KuboPinner(KuboClient(jsipfs.api_url, timeout_s=60))


def test_version_is_answered(pinner: KuboPinner) -> None:
    assert pinner.client.version()["Version"]


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", SIZES)
def test_add_pin_cat_match_the_local_cid(pinner: KuboPinner, size: int, cid_version: int) -> None:
    data = random.Random(size * 2 + cid_version).randbytes(size)
    outcome = pinner.add_bytes(data, profile=legacy_profile(cid_version), name=f"f{size}.bin")
    assert outcome.cid == str(import_bytes(data, profile=legacy_profile(cid_version)).cid)
    assert outcome.pinned and outcome.size == size
    assert pinner.is_pinned(outcome.cid)
    assert pinner.status(outcome.cid).pinned
    assert pinner.cat(outcome.cid) == data


def test_add_file_streams_from_disk(pinner: KuboPinner, tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    data = random.Random(5).randbytes(700_000)
    path.write_bytes(data)
    outcome = pinner.add_file(path, profile=LEGACY_V1)
    assert outcome.cid == str(import_bytes(data).cid)
    assert pinner.cat(outcome.cid) == data


def test_same_bytes_twice_is_the_same_pin(pinner: KuboPinner) -> None:
    first = pinner.add_bytes(b"twice", profile=LEGACY_V1)
    second = pinner.add_bytes(b"twice", profile=LEGACY_V1)
    assert first == second


def test_unpin_then_not_pinned(pinner: KuboPinner) -> None:
    outcome = pinner.add_bytes(b"to be unpinned", profile=LEGACY_V1)
    pinner.unpin(outcome.cid)
    assert not pinner.is_pinned(outcome.cid)
    pinner.unpin(outcome.cid)  # unpinning twice is harmless


def test_cat_of_absent_content_names_the_cid(pinner: KuboPinner) -> None:
    absent = str(import_bytes(b"never added to this node " * 3).cid)
    with pytest.raises(ContentNotFound) as raised:
        pinner.client.cat(absent, timeout="1s")
    assert absent in str(raised.value) and "/api/v0/cat" in str(raised.value)


def test_pin_ls_of_unknown_cid_is_false(pinner: KuboPinner) -> None:
    never = Cid.parse(str(import_bytes(b"never pinned").cid))
    assert not pinner.is_pinned(str(never))
