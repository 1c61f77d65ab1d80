"""The UnixFS importer exactly as `ipfs add` runs it, streaming, in constant memory.

The options come from a CID profile (`storage.ipfs.profiles`): fixed-size chunks (256 KiB for
the legacy profiles, 1 MiB for `unixfs-v1-2025`), a balanced DAG of at most 174 (legacy) or
1024 (`unixfs-v1-2025`) links per node, sha2-256. CIDv0 gives dag-pb leaves and a `Qm…` root;
CIDv1 raw leaves and a base32 `bafk…`/`bafy…` root, as `ipfs add --cid-version=1` does.
Without a profile the functions keep their old meaning: `cid_version` (default 1) with kubo's
legacy defaults.

The balanced layout (boxo `importer/balanced`) fills a complete N-ary tree from the left,
every leaf at the same depth. Built bottom-up with one pending list of links per level: a level
is turned into a node only when a further link arrives for it (or at the end), so at most
`max_links` links per level and one chunk buffer are held, whatever the file size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from storage.ipfs.cid import DAG_PB, RAW, Cid, sha256_multihash
from storage.ipfs.dagpb import PbLink, directory_node, file_node, leaf_envelope
from storage.ipfs.profiles import LEGACY_CHUNK_SIZE, LEGACY_MAX_LINKS, CidProfile, legacy_profile

CHUNK_SIZE = LEGACY_CHUNK_SIZE
MAX_LINKS = LEGACY_MAX_LINKS


class BlockSink(Protocol):
    """Receives every block the importer makes, as parts to be concatenated."""

    def put_block(self, cid: Cid, parts: Iterable[bytes | memoryview]) -> None: ...


@dataclass(frozen=True)
class ImportResult:
    cid: Cid
    file_size: int
    dag_size: int = field(metadata={"doc": "cumulative size of every block (kubo's Size)"})
    blocks: int
    cid_version: int
    raw_leaves: bool
    profile: str = "legacy-v1"

    def __str__(self) -> str:
        return str(self.cid)


@dataclass(frozen=True)
class _Child:
    cid: Cid
    tsize: int
    file_size: int


def default_raw_leaves(cid_version: int) -> bool:
    """kubo: `--cid-version=1` turns raw leaves on unless `--raw-leaves=false` is given."""
    return cid_version == 1


class UnixFsImporter:
    """Feed bytes with `write`, then `finish` for the root. Hands blocks to an optional sink."""

    def __init__(
        self,
        *,
        cid_version: int = 1,
        raw_leaves: bool | None = None,
        sink: BlockSink | None = None,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
        profile_name: str | None = None,
    ) -> None:
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, not {cid_version!r}")
        self.cid_version = cid_version
        self.raw_leaves = default_raw_leaves(cid_version) if raw_leaves is None else raw_leaves
        self.profile_name = profile_name or legacy_profile(cid_version, self.raw_leaves).name
        self._sink = sink
        self._chunk_size = chunk_size
        self._max_links = max_links
        self._buffer = bytearray()
        self._levels: list[list[_Child]] = [[]]
        self._file_size = 0
        self._blocks = 0
        self._finished = False

    # -- feeding -------------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise RuntimeError("importer already finished")
        view = memoryview(data).cast("B")
        if self._buffer:
            take = min(len(view), self._chunk_size - len(self._buffer))
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._chunk_size:
                self._add_leaf(memoryview(self._buffer))
                self._buffer = bytearray()
        while len(view) >= self._chunk_size:
            self._add_leaf(view[: self._chunk_size])
            view = view[self._chunk_size :]
        if len(view):
            self._buffer += view

    def write_stream(self, stream: BinaryIO) -> None:
        """Read whole chunks straight into one reused buffer (no per-chunk allocation)."""
        buffer = bytearray(self._chunk_size)
        view = memoryview(buffer)
        if self._buffer:  # finish a partial chunk from earlier `write` calls first
            pending = bytes(self._buffer)
            self._buffer = bytearray()
            self.write(pending)
        while True:
            filled = 0
            while filled < self._chunk_size:
                count = stream.readinto(view[filled:])  # type: ignore[attr-defined]
                if not count:
                    break
                filled += count
            if filled == self._chunk_size:
                if self._buffer:
                    self.write(view[:filled])
                else:
                    self._add_leaf(view)
                continue
            if filled:
                self.write(view[:filled])
            return

    # -- building --------------------------------------------------------------------------------
    def _emit(self, cid: Cid, parts: list[bytes | memoryview]) -> None:
        self._blocks += 1
        if self._sink is not None:
            self._sink.put_block(cid, parts)

    def _add_leaf(self, chunk: memoryview | bytes) -> None:
        length = len(chunk)
        self._file_size += length
        if self.raw_leaves:
            cid = Cid(1, RAW, sha256_multihash(hashlib.sha256(chunk).digest()))
            self._emit(cid, [chunk])
            self._push(0, _Child(cid, length, length))
            return
        prefix, suffix = leaf_envelope(length)
        hasher = hashlib.sha256(prefix)
        hasher.update(chunk)
        hasher.update(suffix)
        cid = Cid(self.cid_version, DAG_PB, sha256_multihash(hasher.digest()))
        self._emit(cid, [prefix, chunk, suffix])
        self._push(0, _Child(cid, len(prefix) + length + len(suffix), length))

    def _push(self, level: int, child: _Child) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        if len(pending) == self._max_links:
            self._levels[level] = []
            self._push(level + 1, self._make_node(pending))
            pending = self._levels[level]
        pending.append(child)

    def _make_node(self, children: list[_Child]) -> _Child:
        links = [PbLink(child.cid, "", child.tsize) for child in children]
        block = file_node(links, [child.file_size for child in children])
        cid = Cid(self.cid_version, DAG_PB, sha256_multihash(hashlib.sha256(block).digest()))
        self._emit(cid, [block])
        return _Child(
            cid,
            len(block) + sum(child.tsize for child in children),
            sum(child.file_size for child in children),
        )

    def finish(self) -> ImportResult:
        if self._finished:
            raise RuntimeError("importer already finished")
        if self._buffer or self._file_size == 0:
            # An empty file is one empty chunk; otherwise the short last chunk.
            self._add_leaf(bytes(self._buffer))
            self._buffer = bytearray()
        self._finished = True
        level = 0
        while True:
            pending = self._levels[level]
            is_top = level == len(self._levels) - 1
            if is_top and len(pending) == 1:
                root = pending[0]
                break
            self._levels[level] = []
            self._push(level + 1, self._make_node(pending))
            level += 1
        return ImportResult(
            cid=root.cid,
            file_size=root.file_size,
            dag_size=root.tsize,
            blocks=self._blocks,
            cid_version=self.cid_version,
            raw_leaves=self.raw_leaves,
            profile=self.profile_name,
        )

    @classmethod
    def for_profile(cls, profile: CidProfile, *, sink: BlockSink | None = None) -> UnixFsImporter:
        return cls(
            cid_version=profile.cid_version,
            raw_leaves=profile.raw_leaves,
            sink=sink,
            chunk_size=profile.chunk_size,
            max_links=profile.max_links,
            profile_name=profile.name,
        )


def resolve_profile(
    profile: CidProfile | None, cid_version: int | None, raw_leaves: bool | None
) -> CidProfile:
    """A profile, or the legacy one for `cid_version` (default 1): never both."""
    if profile is not None:
        if cid_version is not None or raw_leaves is not None:
            raise ValueError("give a CID profile or cid_version/raw_leaves, not both")
        return profile
    return legacy_profile(1 if cid_version is None else cid_version, raw_leaves)


def import_bytes(
    data: bytes,
    profile: CidProfile | None = None,
    *,
    cid_version: int | None = None,
    raw_leaves: bool | None = None,
    sink: BlockSink | None = None,
) -> ImportResult:
    chosen = resolve_profile(profile, cid_version, raw_leaves)
    importer = UnixFsImporter.for_profile(chosen, sink=sink)
    importer.write(data)
    return importer.finish()


def import_stream(
    stream: BinaryIO,
    profile: CidProfile | None = None,
    *,
    cid_version: int | None = None,
    raw_leaves: bool | None = None,
    sink: BlockSink | None = None,
) -> ImportResult:
    chosen = resolve_profile(profile, cid_version, raw_leaves)
    importer = UnixFsImporter.for_profile(chosen, sink=sink)
    importer.write_stream(stream)
    return importer.finish()


def import_file(
    path: Path,
    profile: CidProfile | None = None,
    *,
    cid_version: int | None = None,
    raw_leaves: bool | None = None,
    sink: BlockSink | None = None,
) -> ImportResult:
    chosen = resolve_profile(profile, cid_version, raw_leaves)
    with open(path, "rb", buffering=0) as stream:
        return import_stream(stream, chosen, sink=sink)


def import_chunks(
    chunks: Iterable[bytes | memoryview], profile: CidProfile, *, sink: BlockSink | None = None
) -> ImportResult:
    """Import bytes that arrive in pieces of any size (an HTTP body, a DAG read leaf by leaf)."""
    importer = UnixFsImporter.for_profile(profile, sink=sink)
    for piece in chunks:
        importer.write(piece)
    return importer.finish()


def wrap_in_directory(name: str, result: ImportResult, *, sink: BlockSink | None = None) -> Cid:
    """`ipfs add -w`: a UnixFS directory holding the file under `name`."""
    block = directory_node([PbLink(result.cid, name, result.dag_size)])
    cid = Cid(result.cid_version, DAG_PB, sha256_multihash(hashlib.sha256(block).digest()))
    if sink is not None:
        sink.put_block(cid, [block])
    return cid
