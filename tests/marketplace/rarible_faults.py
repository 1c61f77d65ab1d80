"""Faults the local Rarible server injects (tests/marketplace/rarible_server.py): scripted ones
(`RaribleState.add_fault`) and random ones at a rate (`RandomFaults`, the crash benchmarks)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: str  # 429|500|404|timeout|500_after_store|hang_after_store|hang_before_store
    remaining: int


# Requests that random faults hit: the writes, and the lookups the publisher reconciles with.
WRITE_PATHS = ("/v0.1/nft/mints", "/v0.1/order/orders")
WRITE_FAULTS = ("429", "500", "timeout", "500_after_store")
READ_FAULTS = ("429", "500", "timeout", "404")  # 404: a lookup lagging behind what was stored


@dataclass
class RandomFaults:
    """Each write, item lookup or order lookup fails with probability `rate`, with a kind drawn
    from the ones that make sense for it (a lagging 404 only on lookups)."""

    rate: float
    rng: random.Random
    injected: dict[str, int] = field(default_factory=dict)  # kind -> how many so far

    def draw(self, method: str, path: str) -> str | None:
        if method == "POST" and path in WRITE_PATHS:
            kinds = WRITE_FAULTS
        elif method == "GET" and (
            path.startswith("/v0.1/nft/items/")
            or (path.startswith("/v0.1/order/orders/0x") and path.count("/") == 4)
        ):
            kinds = READ_FAULTS
        else:
            return None
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(kinds)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind
