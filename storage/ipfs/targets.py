"""Pin targets: the places a CID is pinned (the local blockstore, kubo nodes, pinning services).

Providers shut down and take their pins with them, so the bot pins each CID to a list of
targets. Each target has a unique name (recorded in `pins.target`), a kind, where to reach it,
and whether it is required: a pin is done when every required target confirmed it; an optional
target that fails keeps a failed row that `bot pins verify` retries.

The bot builds `TargetSpec`s from its settings and passes them here; this module knows nothing
about settings.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinner import ContentReader, Pinner
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner

TARGET_KINDS = ("local", "kubo", "pinning-service")
TARGET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class TargetSpec:
    """One target, as plain values."""

    name: str
    kind: str
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    required: bool = True
    # pinning-service only: a kubo node the content is also added to (CID-checked), whose
    # addresses are sent as `origins` so the service can fetch the blocks from it.
    provider_url: str | None = None
    provider_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not TARGET_NAME.match(self.name):
            raise ValueError(
                f"pin target name {self.name!r}: use 1-64 of a-z 0-9 . _ - (starting with a "
                "letter or digit)"
            )
        if self.kind not in TARGET_KINDS:
            raise ValueError(
                f"pin target {self.name!r}: unknown kind {self.kind!r}; expected one of "
                f"{', '.join(TARGET_KINDS)}"
            )
        if self.kind == "kubo" and not self.url:
            raise ValueError(f"pin target {self.name!r} (kubo) needs the node's RPC url")
        if self.kind == "pinning-service" and not (self.url and self.token):
            raise ValueError(
                f"pin target {self.name!r} (pinning-service) needs the service url and a token"
            )
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"pin target {self.name!r}: url must be http(s)://, not {self.url!r}")
        if self.provider_url and self.kind != "pinning-service":
            raise ValueError(f"pin target {self.name!r}: only a pinning service takes a provider")


@dataclass(frozen=True)
class PinTarget:
    name: str
    kind: str
    required: bool
    pinner: Pinner

    @property
    def reader(self) -> ContentReader | None:
        """How to read back what this target holds, if it serves content (not a service)."""
        if self.kind == "pinning-service":
            return None  # its `cat` reads the local copy, which says nothing about the service
        return self.pinner if isinstance(self.pinner, ContentReader) else None

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {'required' if self.required else 'optional'})"


def check_specs(specs: Sequence[TargetSpec]) -> None:
    """A usable list: at least one target, unique names, one local at most, one required."""
    if not specs:
        raise ValueError("no pin targets configured")
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"pin target names must be unique: {', '.join(duplicates)}")
    if sum(spec.kind == "local" for spec in specs) > 1:
        raise ValueError("at most one pin target of kind 'local' (there is one local blockstore)")
    if not any(spec.required for spec in specs):
        raise ValueError("at least one pin target must be required")


def make_target(
    spec: TargetSpec,
    *,
    ipfs_dir: Path,
    timeout_s: float = 60.0,
    service_poll_timeout_s: float = 120.0,
) -> PinTarget:
    """The pinner for one target; a pinning service keeps its blocks in the local blockstore.

    `service_poll_timeout_s`: how long a pinning service's `queued`/`pinning` is polled before
    the pin is returned as still pending (re-checked later)."""
    cat_timeout = f"{max(1, int(timeout_s))}s"
    pinner: Pinner
    if spec.kind == "local":
        pinner = LocalBlockstore(ipfs_dir, name=spec.name)
    elif spec.kind == "kubo":
        assert spec.url is not None
        client = KuboClient(spec.url, timeout_s=timeout_s, auth_token=spec.token)
        pinner = KuboPinner(client, name=spec.name, cat_timeout=cat_timeout)
    else:
        assert spec.url is not None and spec.token is not None
        service = PinningServiceClient(spec.url, spec.token, timeout_s=timeout_s)
        provider = None
        if spec.provider_url:
            node = KuboClient(
                spec.provider_url, timeout_s=timeout_s, auth_token=spec.provider_token
            )
            provider = KuboPinner(node, name=f"{spec.name}-provider", cat_timeout=cat_timeout)
        pinner = PinningServicePinner(
            service,
            LocalBlockstore(ipfs_dir),
            name=spec.name,
            provider=provider,
            poll_timeout_s=service_poll_timeout_s,
        )
    return PinTarget(spec.name, spec.kind, spec.required, pinner)


def make_targets(
    specs: Iterable[TargetSpec],
    *,
    ipfs_dir: Path,
    timeout_s: float = 60.0,
    service_poll_timeout_s: float = 120.0,
) -> list[PinTarget]:
    listed = list(specs)
    check_specs(listed)
    return [
        make_target(
            spec,
            ipfs_dir=ipfs_dir,
            timeout_s=timeout_s,
            service_poll_timeout_s=service_poll_timeout_s,
        )
        for spec in listed
    ]


@dataclass
class UnreachableTargets:
    """Targets that did not answer (every retry refused, dropped or timed out: the pinner
    raised TargetUnreachable), not asked again for `hold_s` seconds. With a target down, each
    CID of a batch would otherwise wait through the same retries (minutes each with timeouts)
    and an unattended pass would crawl. Callers record what they did not send as they would a
    failure (the pin stage as a failed pin row, `bot pins verify` as unreachable)."""

    hold_s: float = 300.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _down: dict[str, tuple[float, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def mark(self, target: str, reason: str) -> None:
        with self._lock:
            self._down[target] = (self.clock() + self.hold_s, reason)

    def reason(self, target: str) -> str | None:
        """Why `target` is not asked now, or None (never down, or its hold is over)."""
        with self._lock:
            until, reason = self._down.get(target, (0.0, ""))
            if self.clock() < until:
                return reason
            self._down.pop(target, None)
            return None
