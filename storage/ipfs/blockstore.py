"""The embedded `local` pinner: a blockstore under `<data_dir>/ipfs/`.

It stores every block the importer computes, so the exact DAG behind each CID is kept and can
be pushed to a real node later (`bot ipfs push`). Layout, similar to kubo's flatfs:

    blocks/<2 chars>/<base32 multihash>   one file per block, written atomically
    pins/<cid>.json                       one file per pinned root, with its CID profile

Blocks are written before the pin record, so a crash leaves at worst unreferenced blocks,
which `gc()` removes. Every block read is re-hashed, so a corrupted file is noticed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.files import write_atomically
from storage.ipfs.cid import DAG_PB, RAW, Cid, b32encode
from storage.ipfs.dagpb import MalformedBlock, decode_node, decode_unixfs
from storage.ipfs.pinner import ContentNotFound, IpfsError, PinOutcome
from storage.ipfs.profiles import CidProfile, profile_for_record
from storage.ipfs.unixfs import ImportResult, import_bytes, import_file
from storage.models.pin import PinStatus
from storage.types import utcnow


@dataclass(frozen=True)
class LocalPinRecord:
    cid: str
    cid_version: int
    raw_leaves: bool
    size: int
    name: str | None
    pinned_at: str
    profile: str | None = None  # absent in records written before CID profiles existed

    @property
    def cid_profile(self) -> CidProfile:
        return profile_for_record(self.profile, self.cid_version, self.raw_leaves)


class LocalBlockstore:
    def __init__(self, root: Path, *, name: str = "local") -> None:
        self.name = name
        self.root = Path(root)
        self.blocks_dir = self.root / "blocks"
        self.pins_dir = self.root / "pins"

    # -- blocks --------------------------------------------------------------------------------
    def _block_path(self, cid: Cid) -> Path:
        key = b32encode(cid.multihash)
        return self.blocks_dir / key[-3:-1] / key

    def has_block(self, cid: Cid) -> bool:
        return self._block_path(cid).is_file()

    def put_block(self, cid: Cid, parts: Iterable[bytes | memoryview]) -> None:
        """BlockSink for the importer: write the block once, atomically."""
        target = self._block_path(cid)
        if target.is_file():
            return
        write_atomically(target, parts)

    def get_block(self, cid: Cid) -> bytes:
        path = self._block_path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(
                "block not in the local blockstore", cid=str(cid), endpoint=str(self.root)
            ) from None
        if hashlib.sha256(data).digest() != cid.digest:
            raise IpfsError(
                f"block file {path} is corrupted (hash differs)",
                cid=str(cid),
                endpoint=str(self.root),
            )
        return data

    def iter_content(self, cid: str | Cid) -> Iterator[bytes]:
        """The file bytes of a UnixFS DAG, leaf by leaf (constant memory)."""
        root = Cid.parse(cid) if isinstance(cid, str) else cid
        stack = [root]
        while stack:
            current = stack.pop()
            block = self.get_block(current)
            if current.codec == RAW:
                yield block
                continue
            if current.codec != DAG_PB:
                raise IpfsError(f"unsupported codec 0x{current.codec:x}", cid=str(current))
            try:
                links, data = decode_node(block)
                unixfs = decode_unixfs(data or b"")
            except MalformedBlock as exc:
                raise IpfsError(str(exc), cid=str(current), endpoint=str(self.root)) from None
            if unixfs.data:
                yield unixfs.data
            stack.extend(link.cid for link in reversed(links))

    def dag_blocks(self, cid: str | Cid) -> Iterator[Cid]:
        """Every block CID of a DAG; raises ContentNotFound for the first missing one."""
        root = Cid.parse(cid) if isinstance(cid, str) else cid
        stack = [root]
        while stack:
            current = stack.pop()
            yield current
            if current.codec == RAW:
                if not self.has_block(current):
                    raise ContentNotFound(
                        "block missing", cid=str(current), endpoint=str(self.root)
                    )
                continue
            links, _ = decode_node(self.get_block(current))
            stack.extend(link.cid for link in links)

    def drop_damaged_blocks(self, cid: str | Cid) -> int:
        """Delete the blocks of a DAG whose bytes no longer match their hash, so that adding
        the content again rewrites them (a block that exists is never rewritten). Returns how
        many were deleted; children of an undecodable node are not reached (re-adding writes
        whatever is missing)."""
        root = Cid.parse(cid) if isinstance(cid, str) else cid
        stack, dropped = [root], 0
        while stack:
            current = stack.pop()
            path = self._block_path(current)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            if hashlib.sha256(data).digest() != current.digest:
                path.unlink(missing_ok=True)
                dropped += 1
                continue
            if current.codec == DAG_PB:
                try:
                    links, _ = decode_node(data)
                except MalformedBlock:
                    continue
                stack.extend(link.cid for link in links)
        return dropped

    # -- pins ----------------------------------------------------------------------------------
    def _pin_path(self, cid: str) -> Path:
        return self.pins_dir / f"{Cid.parse(cid)}.json"

    def _record(self, result: ImportResult, name: str | None) -> PinOutcome:
        cid = str(result.cid)
        path = self._pin_path(cid)
        if not path.is_file():  # pinning the same bytes twice is a no-op
            record = LocalPinRecord(
                cid,
                result.cid_version,
                result.raw_leaves,
                result.file_size,
                name,
                utcnow().isoformat(),
                result.profile,
            )
            self._write_json(path, record.__dict__)
        return PinOutcome(
            cid, self.name, PinStatus.PINNED, size=result.file_size, profile=result.profile
        )

    def _write_json(self, path: Path, payload: dict[str, object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)

    def add_bytes(self, data: bytes, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        return self._record(import_bytes(data, profile, sink=self), name)

    def add_file(self, path: Path, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        return self._record(import_file(Path(path), profile, sink=self), name)

    def pin(
        self, cid: str, *, name: str | None = None, profile: CidProfile | None = None
    ) -> PinOutcome:
        """Pin content whose blocks are already here (e.g. after an unpin, before gc).

        Without `profile` the record names the legacy profile the DAG's leaves imply."""
        root = Cid.parse(cid)
        size = sum(len(chunk) for chunk in self.iter_content(root))
        raw_leaves = root.codec == RAW or self._first_leaf_is_raw(root)
        chosen = profile or profile_for_record(None, root.version, raw_leaves)
        result = ImportResult(root, size, 0, 0, root.version, raw_leaves, chosen.name)
        return self._record(result, name)

    def _first_leaf_is_raw(self, root: Cid) -> bool:
        current = root
        while current.codec == DAG_PB:
            links, _ = decode_node(self.get_block(current))
            if not links:
                return False
            current = links[0].cid
        return current.codec == RAW

    def status(self, cid: str, *, request_id: str | None = None) -> PinOutcome:
        """Re-check: pinned only if the pin record exists and every block is present."""
        record = self.pin_record(cid)
        if record is None:
            return PinOutcome(cid, self.name, PinStatus.UNPINNED)
        try:
            for _ in self.dag_blocks(cid):
                pass
        except IpfsError as exc:
            return PinOutcome(cid, self.name, PinStatus.FAILED, size=record.size, detail=str(exc))
        return PinOutcome(
            cid, self.name, PinStatus.PINNED, size=record.size, profile=record.cid_profile.name
        )

    def is_pinned(self, cid: str) -> bool:
        return self.status(cid).pinned

    def cat(self, cid: str) -> bytes:
        return b"".join(self.iter_content(cid))

    def unpin(self, cid: str, *, request_id: str | None = None) -> None:
        """Drop the pin record; the blocks go at the next `gc()`."""
        self._pin_path(cid).unlink(missing_ok=True)

    def pin_record(self, cid: str) -> LocalPinRecord | None:
        path = self._pin_path(cid)
        if not path.is_file():
            return None
        return LocalPinRecord(**json.loads(path.read_text(encoding="utf-8")))

    def pins(self) -> list[LocalPinRecord]:
        if not self.pins_dir.is_dir():
            return []
        records = [
            LocalPinRecord(**json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(self.pins_dir.glob("*.json"))
        ]
        return sorted(records, key=lambda record: record.pinned_at)

    def gc(self) -> int:
        """Delete every block no pinned DAG reaches; returns how many were deleted."""
        keep: set[str] = set()
        for record in self.pins():
            try:
                keep.update(b32encode(block.multihash) for block in self.dag_blocks(record.cid))
            except IpfsError:
                continue  # a damaged pin keeps what it still reaches
        removed = 0
        if not self.blocks_dir.is_dir():
            return 0
        for path in self.blocks_dir.glob("*/*"):
            # ".incoming-" files may belong to a writer that is running right now.
            if not path.name.startswith(".incoming-") and path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
