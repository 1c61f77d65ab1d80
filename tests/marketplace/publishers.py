"""Real `bot publish` processes against the local Rarible test server: the race tests and the
crash benchmark run several at once, kill them, and count what reached the server."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.marketplace.cli_helpers import PASSPHRASE
from tests.marketplace.helpers import CID_PREFIX
from tests.marketplace.rarible_server import RaribleState

REPO = Path(__file__).resolve().parents[2]


def publish_env(
    data_dir: Path, base_url: str, listing_kind: str, code_dir: Path = REPO
) -> dict[str, str]:
    """The environment of a `bot publish` on testnet against the server at `base_url`, running
    the code in `code_dir` (this checkout unless another one is compared)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        {
            "BOT_DATA_DIR": str(data_dir),
            "BOT_WALLET_PASSPHRASE": PASSPHRASE,
            "BOT_MARKETPLACE_MODE": "testnet",
            "BOT_RARIBLE_API_URL": base_url,
            "BOT_LISTING_KIND": listing_kind,
            "PYTHONPATH": str(code_dir),
        }
    )
    return env


def start_publish(
    env: dict[str, str], cwd: Path, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`bot publish` as its own process (its output to `log`, else discarded)."""
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.app import main; main()", "publish"],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def artwork_uri(n: int) -> str:
    """The token uri the bot signs for `add_pinned_artwork(engine, n)`."""
    return f"/ipfs/{CID_PREFIX}{n:04d}"


@dataclass
class MarketCount:
    """What the server holds for a set of artworks, counted on the server's side."""

    double_mints: int  # artworks with more than one item
    double_orders: int  # items with more than one live sell order
    items: int
    live_orders: int

    @classmethod
    def of(cls, state: RaribleState) -> MarketCount:
        items = state.items_per_uri()
        orders = state.live_orders_per_item()
        return cls(
            double_mints=sum(1 for count in items.values() if count > 1),
            double_orders=sum(1 for count in orders.values() if count > 1),
            items=sum(items.values()),
            live_orders=sum(orders.values()),
        )
