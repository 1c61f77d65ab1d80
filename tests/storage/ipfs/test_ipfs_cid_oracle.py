"""CIDv0 of random files of many sizes against Debian's `ipfs_cid` tool (another implementation)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from storage.ipfs.unixfs import CHUNK_SIZE, MAX_LINKS, import_file

IPFS_CID = shutil.which("ipfs_cid")


def _oracle(path: Path) -> str:
    if IPFS_CID is None:
        pytest.fail("Debian package ipfs-cid is missing: run `bash scripts/install_test_deps.sh`")
    completed = subprocess.run([IPFS_CID, str(path)], capture_output=True, check=True, timeout=60)
    return str(json.loads(completed.stdout)["CIDv0"])


def _random_sizes() -> list[int]:
    rng = random.Random(2021)
    boundaries = [0, 1, 2, 127, 128, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE]
    return boundaries + [rng.randint(1, 8 * CHUNK_SIZE) for _ in range(12)]


@pytest.mark.parametrize("size", _random_sizes())
def test_cid_v0_equals_ipfs_cid(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(random.Random(size).randbytes(size))
    assert str(import_file(path, cid_version=0).cid) == _oracle(path)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("chunks", [MAX_LINKS, MAX_LINKS + 1, 2 * MAX_LINKS + 3])
def test_cid_v0_equals_ipfs_cid_around_a_second_tree_level(tmp_path: Path, chunks: int) -> None:
    """174 chunks fit one node; the 175th needs a second level (files of 45-92 MB)."""
    path = tmp_path / "big.bin"
    block = random.Random(chunks).randbytes(CHUNK_SIZE)
    with open(path, "wb") as handle:
        for index in range(chunks):
            handle.write(block[index % 7 :] + block[: index % 7])
        handle.write(b"tail")
    assert str(import_file(path, cid_version=0).cid) == _oracle(path)
