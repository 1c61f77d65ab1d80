"""Re-verification: read every published CID back, check its bytes, re-pin what was lost.

For each image and metadata CID in `pins` (frames are insurance, not publications):
1. Read it back from every place that serves content: the local blockstore (as a source even
   when it is not a target: a pinning service's blocks are kept there), each target that serves
   content (the local blockstore, a kubo node's `cat`) and each gateway. Every copy is streamed
   through the UnixFS importer with the CID profile recorded with the pin, and counts only if it
   gives the same CID; the first such copy is spooled to a temporary file for repairs. A copy
   that gives another CID is reported and never used.
2. Ask each target whether it still pins the CID (a pinning service cannot be read back, only
   asked). A target that does not answer is not asked again for the next CIDs of the run.
3. Re-pin to each target that lost it, from the verified copy, and read it back again where the
   target serves content.
4. Record each target's state on its `pins` row (status, error, `checked_at`).

Network calls happen outside database transactions; one CID's trouble never stops the others;
memory stays bounded (pieces of at most 1 MiB, one spooled copy on disk at a time).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import same_cid
from storage.ipfs.gateway import GatewayClient, TooLong
from storage.ipfs.pinner import ContentNotFound, IpfsError, PinOutcome, TargetUnreachable
from storage.ipfs.profiles import CidProfile, get_profile
from storage.ipfs.records import find_pin, list_pins, record_failed, record_outcome
from storage.ipfs.targets import PinTarget, UnreachableTargets
from storage.ipfs.unixfs import UnixFsImporter
from storage.ipfs.verify_report import (
    CORRUPT,
    GATEWAY_OK,
    GATEWAY_SKIPPED,
    GATEWAY_UNAVAILABLE,
    GATEWAY_WRONG_BYTES,
    MISSING,
    NOT_REPAIRED,
    OK,
    PENDING,
    REPAIR_FAILED,
    REPAIR_PENDING,
    REPAIRED,
    UNREACHABLE,
    CidReport,
    GatewayCheck,
    TargetCheck,
    VerifyReport,
)
from storage.models.pin import PinKind, PinStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

PUBLISHED_KINDS = (PinKind.IMAGE, PinKind.METADATA)
GATEWAY_FAILURES_BEFORE_SKIP = 3


class WrongBytes(Exception):
    """A copy whose bytes do not give the CID (or are longer than the pinned file)."""


@dataclass(frozen=True)
class _Published:
    cid: str
    kind: PinKind
    artwork_id: int | None
    frame_id: int | None
    profile: str
    size: int

    @property
    def pin_name(self) -> str:
        suffix = ".json" if self.kind is PinKind.METADATA else ".png"
        return f"artwork-{self.artwork_id}{suffix}" if self.artwork_id else f"{self.cid}{suffix}"


def _published(engine: Engine) -> list[_Published]:
    """One entry per published CID, with the profile its first row recorded."""
    seen: dict[str, _Published] = {}
    with session_scope(engine) as session:
        for row in list_pins(session, kinds=PUBLISHED_KINDS):
            if row.cid in seen:
                known = seen[row.cid]
                if row.size > known.size:  # some targets do not report the size
                    seen[row.cid] = replace(known, size=row.size)
                continue
            seen[row.cid] = _Published(
                row.cid, PinKind(row.kind), row.artwork_id, row.frame_id, row.profile, row.size
            )
    return list(seen.values())


def check_copy(
    pieces: Iterable[bytes],
    *,
    cid: str,
    profile: CidProfile,
    max_bytes: int,
    spool: Path | None = None,
) -> None:
    """Raise WrongBytes unless `pieces` are the bytes of `cid` made with `profile`.

    Streams: every piece goes into the importer (and to `spool` when given), nothing is held.
    Read errors (ContentNotFound, IpfsError) propagate."""
    importer = UnixFsImporter.for_profile(profile)
    total = 0
    with open(spool, "wb") if spool else contextlib.nullcontext() as out:
        for piece in pieces:
            total += len(piece)
            if total > max_bytes:
                raise WrongBytes(f"more bytes than the pinned file's {max_bytes}")
            importer.write(piece)
            if out is not None:
                out.write(piece)
    got = importer.finish().cid
    if not same_cid(str(got), cid):
        raise WrongBytes(f"the bytes make {got} with profile {profile.name}, not {cid}")


class _Gateways:
    """The configured gateways, each skipped for the rest of a run after repeated failures."""

    def __init__(self, clients: Sequence[GatewayClient]) -> None:
        self.clients = list(clients)
        self.failures = {client.prefix: 0 for client in self.clients}


class _Verifier:
    def __init__(
        self,
        engine: Engine,
        targets: Sequence[PinTarget],
        blockstore: LocalBlockstore,
        gateways: _Gateways,
        workdir: Path,
        *,
        repair: bool,
    ) -> None:
        self.engine = engine
        self.targets = list(targets)
        self.blockstore = blockstore
        self.gateways = gateways
        self.spool = workdir / "copy"
        self.repair = repair
        # A target that did not answer is not asked again about the next CIDs of this run.
        self.unreachable = UnreachableTargets()

    # -- reading copies ------------------------------------------------------------------------
    def _read(
        self, pieces: Iterable[bytes], item: _Published, profile: CidProfile, *, keep: bool
    ) -> None:
        check_copy(
            pieces,
            cid=item.cid,
            profile=profile,
            max_bytes=item.size if item.size > 0 else 1 << 40,
            spool=self.spool if keep else None,
        )

    def verify(self, item: _Published) -> CidReport:
        report = CidReport(item.cid, item.kind.value, item.artwork_id, item.profile, item.size)
        try:
            profile = get_profile(item.profile)
        except ValueError as exc:
            report.targets = [
                TargetCheck(t.name, t.kind, t.required, UNREACHABLE, None, str(exc))
                for t in self.targets
            ]
            return report
        local_state = self._read_local(item, profile, report)
        for target in self.targets:
            if target.kind == "local":
                report.targets.append(self._check_local(target, item, local_state))
            else:
                report.targets.append(self._check_remote(target, item, profile, report))
        report.gateways = [
            self._check_gateway(client, item, profile, report) for client in self.gateways.clients
        ]
        for check, target in zip(report.targets, self.targets, strict=True):
            if check.lost:
                self._repair(target, check, item, profile, report)
        self._record(item, report)
        return report

    def _read_local(
        self, item: _Published, profile: CidProfile, report: CidReport
    ) -> tuple[str, str | None]:
        """The local blockstore as a source: (OK/MISSING/CORRUPT, detail)."""
        try:
            self._read(self.blockstore.iter_content(item.cid), item, profile, keep=True)
        except ContentNotFound as exc:
            return MISSING, str(exc)
        except (IpfsError, WrongBytes, ValueError) as exc:
            return CORRUPT, str(exc)
        report.source = "local blockstore"
        return OK, None

    def _check_local(
        self, target: PinTarget, item: _Published, state: tuple[str, str | None]
    ) -> TargetCheck:
        found, detail = state
        if found == OK and self.blockstore.pin_record(item.cid) is None:
            found, detail = MISSING, "blocks present but not pinned (no pin record)"
        return TargetCheck(target.name, target.kind, target.required, found, None, detail)

    def _check_remote(
        self, target: PinTarget, item: _Published, profile: CidProfile, report: CidReport
    ) -> TargetCheck:
        check = TargetCheck(target.name, target.kind, target.required, OK)
        down = self.unreachable.reason(target.name)
        if down is not None:
            check.found = UNREACHABLE
            check.detail = f"not asked: it did not answer earlier in this run ({down})"
            return check
        try:
            status = target.pinner.status(item.cid)
        except IpfsError as exc:
            if isinstance(exc, TargetUnreachable):
                self.unreachable.mark(target.name, exc.reason)
            check.found, check.detail = UNREACHABLE, str(exc)
            return check
        if status.status in (PinStatus.QUEUED, PinStatus.PINNING):
            check.found, check.detail = PENDING, f"{status.status.value} at the service"
            return check
        if not status.pinned:
            check.found, check.detail = MISSING, f"not pinned ({status.status.value})"
            return check
        reader = target.reader
        if reader is None:
            check.detail = "pinned (the service cannot be read back)"
            return check
        keep = report.source is None
        try:
            self._read(reader.iter_content(item.cid), item, profile, keep=keep)
        except ContentNotFound as exc:
            check.found, check.detail = MISSING, f"pinned but unreadable: {exc}"
        except WrongBytes as exc:
            check.found, check.detail = CORRUPT, str(exc)
        except IpfsError as exc:
            check.found, check.detail = UNREACHABLE, str(exc)
        else:
            if keep:
                report.source = f"target {target.name}"
        return check

    def _check_gateway(
        self, client: GatewayClient, item: _Published, profile: CidProfile, report: CidReport
    ) -> GatewayCheck:
        prefix = client.prefix
        if self.gateways.failures[prefix] >= GATEWAY_FAILURES_BEFORE_SKIP:
            return GatewayCheck(prefix, GATEWAY_SKIPPED, "failed repeatedly earlier in this run")
        keep = report.source is None
        max_bytes = item.size if item.size > 0 else 1 << 40
        try:
            self._read(client.iter_content(item.cid, max_bytes=max_bytes), item, profile, keep=keep)
        except ContentNotFound as exc:
            return GatewayCheck(prefix, GATEWAY_UNAVAILABLE, str(exc))
        except TooLong as exc:
            return GatewayCheck(prefix, GATEWAY_WRONG_BYTES, str(exc))
        except IpfsError as exc:
            self.gateways.failures[prefix] += 1
            return GatewayCheck(prefix, GATEWAY_UNAVAILABLE, str(exc))
        except WrongBytes as exc:
            log.warning("gateway %s served wrong bytes for %s: %s", prefix, item.cid, exc)
            return GatewayCheck(prefix, GATEWAY_WRONG_BYTES, str(exc))
        self.gateways.failures[prefix] = 0
        if keep:
            report.source = f"gateway {prefix}"
        return GatewayCheck(prefix, GATEWAY_OK)

    # -- repairing -----------------------------------------------------------------------------
    def _repair(
        self,
        target: PinTarget,
        check: TargetCheck,
        item: _Published,
        profile: CidProfile,
        report: CidReport,
    ) -> None:
        if not self.repair:
            check.action = NOT_REPAIRED
            return
        if report.source is None:
            check.action = REPAIR_FAILED
            check.detail = (
                f"{check.detail}; no verified copy anywhere (local blockstore, targets, gateways)"
            )
            return
        pinner = target.pinner
        try:
            if isinstance(pinner, LocalBlockstore) and check.found == CORRUPT:
                pinner.drop_damaged_blocks(item.cid)
            outcome = pinner.add_file(self.spool, profile=profile, name=item.pin_name)
        except IpfsError as exc:
            check.action, check.detail = REPAIR_FAILED, f"{check.detail}; re-pin failed: {exc}"
            return
        if not same_cid(outcome.cid, item.cid):
            check.action = REPAIR_FAILED
            check.detail = f"{check.detail}; re-pin gave {outcome.cid}"
            return
        if not outcome.pinned:
            check.action = REPAIR_PENDING
            return
        reader = target.reader
        if reader is not None:
            try:
                self._read(reader.iter_content(item.cid), item, profile, keep=False)
            except (IpfsError, WrongBytes) as exc:
                check.action = REPAIR_FAILED
                check.detail = f"{check.detail}; still wrong after re-pinning: {exc}"
                return
        check.action = REPAIRED

    # -- recording -----------------------------------------------------------------------------
    def _record(self, item: _Published, report: CidReport) -> None:
        with session_scope(self.engine) as session:
            for check in report.targets:
                row = find_pin(session, item.cid, check.target)
                if check.found == UNREACHABLE:
                    if row is not None:
                        row.error = (check.detail or "unreachable")[:4000]
                        row.updated_at = utcnow()
                        session.add(row)
                    continue
                status = _status_after(check)
                if status is PinStatus.FAILED or (status is PinStatus.UNPINNED and row is None):
                    record_failed(
                        session,
                        cid=item.cid,
                        target=check.target,
                        kind=item.kind,
                        size=item.size,
                        error=check.detail or check.found,
                        profile=item.profile,
                        artwork_id=item.artwork_id,
                        frame_id=item.frame_id,
                        checked=True,
                    )
                    continue
                outcome = PinOutcome(
                    item.cid,
                    check.target,
                    status,
                    size=item.size,
                    detail=check.detail,
                    profile=row.profile if row is not None else item.profile,
                )
                saved = record_outcome(
                    session,
                    outcome,
                    kind=item.kind,
                    artwork_id=item.artwork_id,
                    frame_id=item.frame_id,
                    checked=True,
                )
                if status is PinStatus.UNPINNED:
                    saved.error = (check.detail or "not pinned")[:4000]


def _status_after(check: TargetCheck) -> PinStatus:
    if check.found == OK or check.action == REPAIRED:
        return PinStatus.PINNED
    if check.found == PENDING or check.action == REPAIR_PENDING:
        return PinStatus.QUEUED
    if check.found == MISSING and check.action in (None, NOT_REPAIRED):
        return PinStatus.UNPINNED
    return PinStatus.FAILED


def verify_pins(
    engine: Engine,
    targets: Sequence[PinTarget],
    *,
    blockstore: LocalBlockstore,
    gateways: Sequence[str] = (),
    timeout_s: float = 30.0,
    repair: bool = True,
    user_agent: str | None = None,
    on_cid: Callable[[CidReport], None] | None = None,
) -> VerifyReport:
    """Check (and repair) every published CID; see the module docstring. Never raises for a
    single CID: everything found is in the report, and on the `pins` rows."""
    report = VerifyReport(started_at=utcnow())
    clients = [
        GatewayClient(prefix, timeout_s=timeout_s, user_agent=user_agent) for prefix in gateways
    ]
    with tempfile.TemporaryDirectory(prefix="nftbot-verify-") as tmp:
        verifier = _Verifier(
            engine, targets, blockstore, _Gateways(clients), Path(tmp), repair=repair
        )
        for item in _published(engine):
            cid_report = verifier.verify(item)
            report.cids.append(cid_report)
            if on_cid is not None:
                on_cid(cid_report)
    report.finished_at = utcnow()
    return report


__all__ = ["CidReport", "VerifyReport", "check_copy", "verify_pins"]
