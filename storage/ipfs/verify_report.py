"""What `verify_pins` found and did, per CID, per target and per gateway (plain data + JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

# What a target was found to hold.
OK = "ok"  # pinned, and (where it serves content) its bytes are the CID's
MISSING = "missing"  # not pinned, or its blocks are gone
CORRUPT = "corrupt"  # it serves bytes that are not the CID's
PENDING = "pending"  # a pinning service is still fetching it (queued/pinning)
UNREACHABLE = "unreachable"  # the target could not be asked (its state is unknown)

# What was done about it.
REPAIRED = "repaired"  # pinned again from a verified copy, and checked
REPAIR_PENDING = "repair-pending"  # re-pin requested; the service is still fetching
REPAIR_FAILED = "repair-failed"
NOT_REPAIRED = "not-repaired"  # repair was switched off

# What a gateway served.
GATEWAY_OK = "ok"
GATEWAY_UNAVAILABLE = "unavailable"  # 404, timeout, error: nothing to judge
GATEWAY_WRONG_BYTES = "wrong-bytes"  # bytes that are not the CID's: reported, never used
GATEWAY_SKIPPED = "skipped"  # failed too often in this run; not asked again


@dataclass
class TargetCheck:
    target: str
    kind: str
    required: bool
    found: str
    action: str | None = None
    detail: str | None = None

    @property
    def lost(self) -> bool:
        return self.found in (MISSING, CORRUPT)

    @property
    def unresolved(self) -> bool:
        """Still not holding a verified pin after this run (and not on its way to it)."""
        if self.found in (OK, PENDING):
            return False
        return self.action not in (REPAIRED, REPAIR_PENDING)


@dataclass
class GatewayCheck:
    gateway: str
    found: str
    detail: str | None = None


@dataclass
class CidReport:
    cid: str
    kind: str
    artwork_id: int | None
    profile: str
    size: int
    source: str | None = None  # where the verified copy used for repairs came from
    targets: list[TargetCheck] = field(default_factory=list)
    gateways: list[GatewayCheck] = field(default_factory=list)

    @property
    def lost(self) -> list[TargetCheck]:
        return [check for check in self.targets if check.lost]

    @property
    def repaired(self) -> list[TargetCheck]:
        return [check for check in self.targets if check.action in (REPAIRED, REPAIR_PENDING)]

    @property
    def unresolved(self) -> list[TargetCheck]:
        return [check for check in self.targets if check.unresolved]

    @property
    def wrong_gateways(self) -> list[GatewayCheck]:
        return [check for check in self.gateways if check.found == GATEWAY_WRONG_BYTES]

    @property
    def ok(self) -> bool:
        return not self.unresolved and not self.wrong_gateways


@dataclass
class VerifyReport:
    started_at: datetime
    finished_at: datetime | None = None
    cids: list[CidReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing left unrepaired and no gateway served wrong bytes (exit code 0)."""
        return all(report.ok for report in self.cids)

    def counts(self) -> dict[str, int]:
        return {
            "cids": len(self.cids),
            "lost": sum(len(r.lost) for r in self.cids),
            "repaired": sum(len(r.repaired) for r in self.cids),
            "unresolved": sum(len(r.unresolved) for r in self.cids),
            "gateway_wrong_bytes": sum(len(r.wrong_gateways) for r in self.cids),
            "gateway_unavailable": sum(
                1 for r in self.cids for g in r.gateways if g.found == GATEWAY_UNAVAILABLE
            ),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": self.counts(),
            "cids": [{**asdict(report), "ok": report.ok} for report in self.cids],
        }
