"""The embedded `local` pinner: blocks kept on disk, pins, cat, status re-check, gc."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import Cid
from storage.ipfs.pinner import IpfsError, Pinner
from storage.ipfs.profiles import LEGACY_V0, LEGACY_V1, legacy_profile
from storage.ipfs.unixfs import import_bytes
from storage.models.pin import PinStatus


@pytest.fixture
def store(tmp_path: Path) -> LocalBlockstore:
    return LocalBlockstore(tmp_path / "ipfs")


def test_is_a_pinner(store: LocalBlockstore) -> None:
    assert isinstance(store, Pinner)


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", [0, 5, 262_144, 262_145, 1_000_000])
def test_add_keeps_the_dag_and_cat_returns_the_bytes(
    store: LocalBlockstore, size: int, cid_version: int
) -> None:
    data = random.Random(size).randbytes(size)
    outcome = store.add_bytes(data, profile=legacy_profile(cid_version))
    assert outcome.cid == str(import_bytes(data, profile=legacy_profile(cid_version)).cid)
    assert outcome.pinned and outcome.size == size
    assert store.cat(outcome.cid) == data
    assert store.is_pinned(outcome.cid)
    record = store.pin_record(outcome.cid)
    assert record is not None and record.cid_version == cid_version
    assert record.raw_leaves == (cid_version == 1)


def test_add_file_and_bytes_agree(store: LocalBlockstore, tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG" + bytes(600_000))
    assert (
        store.add_file(path, profile=LEGACY_V1).cid
        == store.add_bytes(path.read_bytes(), profile=LEGACY_V1).cid
    )
    assert len(store.pins()) == 1


def test_a_missing_block_turns_the_status_to_failed(store: LocalBlockstore) -> None:
    outcome = store.add_bytes(random.Random(1).randbytes(600_000), profile=LEGACY_V1)
    leaf = next(c for c in store.dag_blocks(outcome.cid) if c != Cid.parse(outcome.cid))
    store._block_path(leaf).unlink()
    status = store.status(outcome.cid)
    assert status.status is PinStatus.FAILED and str(leaf) in (status.detail or "")
    assert not store.is_pinned(outcome.cid)


def test_a_corrupted_block_is_noticed(store: LocalBlockstore) -> None:
    outcome = store.add_bytes(b"precious", profile=LEGACY_V1)
    store._block_path(Cid.parse(outcome.cid)).write_bytes(b"tampered")
    with pytest.raises(IpfsError, match="corrupted"):
        store.cat(outcome.cid)


def test_unpin_then_gc_frees_only_unreferenced_blocks(store: LocalBlockstore) -> None:
    shared_prefix = bytes(262_144)  # the first chunk is the same block in both files
    keep = store.add_bytes(shared_prefix + b"keep", profile=LEGACY_V1)
    drop = store.add_bytes(shared_prefix + b"drop", profile=LEGACY_V1)
    store.unpin(drop.cid)
    assert store.status(drop.cid).status is PinStatus.UNPINNED
    assert store.gc() == 2  # drop's root and its own last leaf; the shared leaf stays
    assert store.cat(keep.cid) == shared_prefix + b"keep"
    assert store.gc() == 0


def test_pin_again_after_unpin_before_gc(store: LocalBlockstore) -> None:
    outcome = store.add_bytes(bytes(300_000), profile=LEGACY_V0)
    store.unpin(outcome.cid)
    again = store.pin(outcome.cid)
    assert again.pinned and again.size == 300_000
    record = store.pin_record(outcome.cid)
    assert record is not None and record.cid_version == 0 and not record.raw_leaves
