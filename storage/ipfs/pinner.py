"""The one small interface every pinner implements, and the errors they raise.

A pinner adds bytes or a file with a CID profile and answers with the CID *it* computed, which
the caller compares with the CID computed locally; it pins a CID, says whether a CID is pinned,
and returns a CID's content. Every error names the CID and the endpoint it concerns.

A pinner is one configured pin target (`storage.ipfs.targets`): its `name` is the target's name,
which is what the `pins` table records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from storage.ipfs.profiles import CidProfile
from storage.models.pin import PinStatus


class IpfsError(RuntimeError):
    """Any IPFS failure; the message names the CID (when known) and the endpoint."""

    def __init__(self, reason: str, *, cid: str | None = None, endpoint: str | None = None) -> None:
        self.reason = reason
        self.cid = cid
        self.endpoint = endpoint
        where = []
        if cid:
            where.append(f"cid {cid}")
        if endpoint:
            where.append(f"at {endpoint}")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)


class TargetUnreachable(IpfsError):
    """No usable answer after every retry (refused or dropped connections, timeouts, 429 or
    5xx): the target is down or overloaded, whatever the content."""


class CidMismatch(IpfsError):
    """The node computed a different CID than the bot: a hard error, nothing is recorded."""


class ContentNotFound(IpfsError):
    """The blocks of a CID are not available where they were asked for."""


class PinFailed(IpfsError):
    """The node or service reported that the pin failed."""


@dataclass(frozen=True)
class PinOutcome:
    cid: str
    target: str
    status: PinStatus
    size: int | None = None
    request_id: str | None = None
    detail: str | None = None
    profile: str | None = None  # the CID profile that made `cid`, when this answer knows it

    @property
    def pinned(self) -> bool:
        return self.status is PinStatus.PINNED


@runtime_checkable
class Pinner(Protocol):
    """add bytes/file → CID (verified against the local CID), pin, status, cat, unpin."""

    name: str

    def add_bytes(
        self, data: bytes, *, profile: CidProfile, name: str | None = None
    ) -> PinOutcome: ...

    def add_file(
        self, path: Path, *, profile: CidProfile, name: str | None = None
    ) -> PinOutcome: ...

    def pin(self, cid: str, *, name: str | None = None) -> PinOutcome: ...

    def status(self, cid: str, *, request_id: str | None = None) -> PinOutcome: ...

    def is_pinned(self, cid: str) -> bool: ...

    def cat(self, cid: str) -> bytes: ...

    def unpin(self, cid: str, *, request_id: str | None = None) -> None: ...


@runtime_checkable
class ContentReader(Protocol):
    """A pinner that serves the content it holds (the local blockstore, a kubo node), read in
    pieces so that checking it takes constant memory. A pinning service has no read endpoint."""

    def iter_content(self, cid: str) -> Iterator[bytes]: ...
