"""The pin backlog: move what the local blockstore holds to a kubo node or a pinning service.

Each pinned root is streamed from its local blocks (constant memory) with the CID profile it
was made with (recorded with the local pin, not the current setting), and the target's CID must
equal the local one, or the push of that CID fails (nothing is recorded for it) while the others
go on.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from storage.ipfs.blockstore import LocalBlockstore, LocalPinRecord
from storage.ipfs.kubo import KuboPinner
from storage.ipfs.pinner import IpfsError, Pinner, PinOutcome
from storage.ipfs.pinning_service import PinningServicePinner


@dataclass(frozen=True)
class PushResult:
    cid: str
    outcome: PinOutcome | None
    error: str | None = None


class _ContentStream(io.RawIOBase):
    """A DAG's file bytes as a readable stream, read leaf by leaf from the blockstore."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0  # an offset, not slicing: HTTP reads 8 KiB at a time from 256 KiB leaves

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._offset >= len(self._chunk):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._offset = chunk, 0
                continue
            end = len(self._chunk) if wanted < 0 else min(len(self._chunk), self._offset + wanted)
            parts.append(self._chunk[self._offset : end])
            if wanted > 0:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)


def _push_one(local: LocalBlockstore, target: Pinner, record: LocalPinRecord) -> PinOutcome:
    if isinstance(target, KuboPinner):
        # Read (and re-hash) every block once before sending anything: a block found missing
        # or damaged halfway through an upload would leave the node with a half-sent request.
        for _ in local.iter_content(record.cid):
            pass

        def open_body() -> tuple[BinaryIO, int]:
            return cast(BinaryIO, _ContentStream(local.iter_content(record.cid))), record.size

        return target.add_stream_verified(
            open_body,
            expected_cid=record.cid,
            profile=record.cid_profile,
            name=record.name,
        )
    if isinstance(target, PinningServicePinner):
        outcome = target.pin(record.cid, name=record.name)  # checks the service's pin.cid
        return PinOutcome(
            outcome.cid,
            outcome.target,
            outcome.status,
            record.size,
            outcome.request_id,
            outcome.detail,
            record.cid_profile.name,
        )
    raise ValueError(f"cannot push to pinner {target.name!r}: use kubo or pinning-service")


def push_backlog(
    local: LocalBlockstore, target: Pinner, *, skip: Iterable[str] = ()
) -> Iterator[PushResult]:
    """Push every locally pinned root not in `skip`; one result per CID, errors included."""
    skipped = set(skip)
    for record in local.pins():
        if record.cid in skipped:
            continue
        try:
            yield PushResult(record.cid, _push_one(local, target, record))
        except IpfsError as exc:
            yield PushResult(record.cid, None, str(exc))
