"""CID profiles against independent implementations (see cid_oracles.py for which checks what).

Sizes: 0, 1 B, 256 KiB ± 1, 1 MiB ± 1 for every profile; 1024 and 1025 chunks (one more than
the 2025 profile's links per node) with a small test chunk size through the same code path in
the default run, and at full size (256 MiB / 1 GiB, sparse files) in the slow run.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from storage.ipfs.cid import DAG_PB, Cid, same_cid
from storage.ipfs.dagpb import decode_node
from storage.ipfs.profiles import (
    LEGACY_V0,
    LEGACY_V1,
    PROFILES,
    UNIXFS_V1_2025,
    CidProfile,
    UnknownProfile,
    get_profile,
    legacy_profile,
)
from storage.ipfs.unixfs import import_file
from tests.storage.ipfs.cid_oracles import (
    importer_cids,
    ipfs_cid_v0,
    jsipfs_cid,
    sparse_chunks,
)
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

KIB = 1024
MIB = 1024 * KIB
SIZES = [0, 1, 256 * KIB - 1, 256 * KIB, 256 * KIB + 1, MIB - 1, MIB, MIB + 1]
ALL = [LEGACY_V0, LEGACY_V1, UNIXFS_V1_2025]


class _Blocks:
    """Keeps only dag-pb blocks (the tree's nodes), to look at the root's links."""

    def __init__(self) -> None:
        self.blocks: dict[Cid, bytes] = {}

    def put_block(self, cid: Cid, parts: Iterable[bytes | memoryview]) -> None:
        if cid.codec == DAG_PB:
            self.blocks[cid] = b"".join(bytes(part) for part in parts)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("profile-files")
    out = {}
    for size in SIZES:
        path = root / f"f{size}.bin"
        path.write_bytes(random.Random(size).randbytes(size))
        out[size] = path
    return out


def _ours(path: Path, profile: CidProfile) -> str:
    return str(import_file(path, profile).cid)


def test_profiles_are_named_as_kubo_names_them() -> None:
    assert get_profile("unixfs-v1-2025") == UNIXFS_V1_2025
    assert get_profile("unixfs-v0-2015") == get_profile("legacy-cid-v0") == LEGACY_V0
    assert legacy_profile(0) == LEGACY_V0 and legacy_profile(1) == LEGACY_V1
    odd = legacy_profile(1, raw_leaves=False)
    assert get_profile(odd.name) == odd and not odd.raw_leaves
    assert (UNIXFS_V1_2025.chunk_size, UNIXFS_V1_2025.max_links) == (1_048_576, 1024)
    with pytest.raises(UnknownProfile, match="unixfs-v1-2025"):
        get_profile("unixfs-v1-2026")
    assert dict(UNIXFS_V1_2025.kubo_add_options())["max-file-links"] == "1024"
    assert dict(LEGACY_V0.kubo_add_options())["chunker"] == "size-262144"


def test_2025_differs_from_legacy_v1_exactly_above_256_kib(files: dict[int, Path]) -> None:
    for size, path in files.items():
        same = _ours(path, LEGACY_V1) == _ours(path, UNIXFS_V1_2025)
        assert same == (size <= 256 * KIB), size


@pytest.mark.ipfs
@pytest.mark.timeout(180)
def test_every_profile_and_size_against_the_js_importer(files: dict[int, Path]) -> None:
    jobs = [(files[size], profile) for profile in ALL for size in SIZES]
    oracle = importer_cids(jobs)
    mine = [_ours(path, profile) for path, profile in jobs]
    mismatches = [
        (profile.name, path.name, theirs, ours)
        for (path, profile), theirs, ours in zip(jobs, oracle, mine, strict=True)
        if not same_cid(theirs, ours)
    ]
    assert mismatches == []


@pytest.mark.ipfs
@pytest.mark.timeout(180)
@pytest.mark.parametrize("profile", ALL, ids=lambda p: p.name)
def test_every_size_against_the_jsipfs_node(
    jsipfs: JsIpfsNode, files: dict[int, Path], profile: CidProfile
) -> None:
    for size, path in files.items():
        assert same_cid(jsipfs_cid(jsipfs.api_url, path, profile), _ours(path, profile)), size


def test_legacy_v0_against_ipfs_cid(files: dict[int, Path]) -> None:
    for size, path in files.items():
        assert _ours(path, LEGACY_V0) == ipfs_cid_v0(path), size


# --- the links-per-node boundary -------------------------------------------------------------
SMALL = 1024  # bytes per chunk: 1025 chunks make a 1 MiB file, through the same code path
SMALL_2025 = CidProfile("test-2025-shape", 1, True, SMALL, UNIXFS_V1_2025.max_links)
SMALL_LEGACY_V0 = CidProfile("test-legacy-v0-shape", 0, False, SMALL, LEGACY_V0.max_links)
SMALL_LEGACY_V1 = CidProfile("test-legacy-v1-shape", 1, True, SMALL, LEGACY_V1.max_links)


def _root_links(path: Path, profile: CidProfile) -> int:
    sink = _Blocks()
    root = import_file(path, profile, sink=sink).cid
    links, _ = decode_node(sink.blocks[root])
    return len(links)


@pytest.mark.ipfs
@pytest.mark.timeout(180)
def test_1024_and_1025_chunks_with_small_chunks(tmp_path: Path) -> None:
    paths = {n: sparse_chunks(tmp_path / f"{n}.bin", SMALL, n) for n in (1024, 1025, 2049)}
    # 1024 chunks fit one node of the 2025 shape; the 1025th needs a second level
    assert _root_links(paths[1024], SMALL_2025) == 1024
    assert _root_links(paths[1025], SMALL_2025) == 2
    assert _root_links(paths[2049], SMALL_2025) == 3
    jobs = [(path, p) for path in paths.values() for p in (SMALL_2025, SMALL_LEGACY_V1)]
    jobs += [(paths[1025], SMALL_LEGACY_V0)]
    for (path, profile), theirs in zip(jobs, importer_cids(jobs), strict=True):
        assert same_cid(theirs, _ours(path, profile)), (path.name, profile.name)


@pytest.mark.ipfs
@pytest.mark.timeout(180)
def test_small_chunks_legacy_shape_against_the_jsipfs_node(
    jsipfs: JsIpfsNode, tmp_path: Path
) -> None:
    """js-ipfs builds 174 links per node, so it checks the legacy shape at 1025 chunks."""
    path = sparse_chunks(tmp_path / "1025.bin", SMALL, 1025)
    for profile in (SMALL_LEGACY_V0, SMALL_LEGACY_V1):
        assert same_cid(jsipfs_cid(jsipfs.api_url, path, profile), _ours(path, profile))


@pytest.mark.slow
@pytest.mark.ipfs
@pytest.mark.timeout(900)
@pytest.mark.parametrize("chunks", [1024, 1025])
def test_full_size_1024_and_1025_chunks(tmp_path: Path, chunks: int) -> None:
    """256 MiB (legacy) and 1 GiB (2025) sparse files: every oracle that can check them."""
    legacy = sparse_chunks(tmp_path / "legacy.bin", LEGACY_V1.chunk_size, chunks)
    current = sparse_chunks(tmp_path / "2025.bin", UNIXFS_V1_2025.chunk_size, chunks)
    assert _root_links(current, UNIXFS_V1_2025) == (1024 if chunks == 1024 else 2)
    jobs = [(legacy, LEGACY_V0), (legacy, LEGACY_V1), (current, UNIXFS_V1_2025)]
    for (path, profile), theirs in zip(jobs, importer_cids(jobs, timeout_s=850), strict=True):
        assert same_cid(theirs, _ours(path, profile)), profile.name
    assert _ours(legacy, LEGACY_V0) == ipfs_cid_v0(legacy)


def test_every_named_profile_is_tested() -> None:
    assert set(PROFILES) == {p.name for p in ALL}
