"""Publishing 100 artworks (the seed's demo size) and syncing their bids, in one process.

Side by side:
- baseline "sign only": build and EIP-712-sign the Mint721 and the sell order of each artwork,
  nothing stored, nothing sent. The cryptographic floor of publishing.
- the product, dry-run: `run_publish` with fixed-price listings: token id reservation, intents
  with the signed payloads committed before each act, outbox files written with fsync, state
  transitions with events. What crash safety costs on top of the floor.
- the product, testnet against the local Rarible test server on 127.0.0.1 (real HTTP, the
  server re-verifies every signature): adds the requests.
- bids sync of 100 items x 20 bids from the local server: the first sync (all new) and a
  resync with nothing changed (the incremental path; every bid is still fetched and compared),
  each next to a baseline that looks every bid up with its own query (the first version).
Time is wall clock (perf_counter); each case runs `--repeat` times on a fresh data dir, and the
best and median are reported. Writes benchmarks/results/marketplace.json.

Usage: .venv/bin/python benchmarks/bench_marketplace.py [--artworks 100] [--bids 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bot.context import AppContext  # noqa: E402
from bot.pipeline.publish import open_publisher, run_publish  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from marketplace.assets import (  # noqa: E402
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    Part,
    erc721_lazy_asset,
    eth_asset,
)
from marketplace.eip712 import Order, mint721_typed_data, order_typed_data  # noqa: E402
from marketplace.networks import SEPOLIA  # noqa: E402
from marketplace.sync import parse_bid, published_items, sync_bids  # noqa: E402
from marketplace.token_ids import local_token_id  # noqa: E402
from marketplace.wallet import MIN_SCRYPT_N, Wallet, import_keystore  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models.market import Bid  # noqa: E402
from tests.marketplace.helpers import add_pinned_artwork, new_engine  # noqa: E402
from tests.marketplace.rarible_server import running_rarible_server  # noqa: E402

PASSPHRASE = "benchmark passphrase"


def sign_only(n: int) -> None:
    wallet = Wallet(secrets.token_bytes(32))
    for i in range(n):
        mint = LazyMint721(
            SEPOLIA.collection,
            local_token_id(wallet.address, i + 1),
            f"/ipfs/bafy{i}",
            (Part(wallet.address, 10000),),
            (Part(wallet.address, 1000),),
        )
        signature = wallet.sign_typed_data(mint721_typed_data(mint, SEPOLIA.chain_id))
        signed = LazyMint721(**{**mint.__dict__, "signatures": (signature,)})
        order = Order(
            wallet.address,
            Asset(erc721_lazy_asset(signed), 1),
            Asset(eth_asset(), 5 * 10**16),
            secrets.randbits(255) + 1,
            0,
            0,
            OrderData(OrderDataVersion.V2),
        )
        wallet.sign_typed_data(order_typed_data(order, SEPOLIA.chain_id, SEPOLIA.exchange))
        order.hash_key()


def per_bid_lookup_sync(engine, market, mode: str, weth: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Baseline: the same parse and upsert, one SELECT per bid."""
    new = unchanged = 0
    for item in published_items(engine, mode):
        rows = [
            parse_bid(o, item, weth)
            for o in market.bids_by_item(item.collection, item.token_id, ("ACTIVE",))
        ]
        with session_scope(engine) as session:
            for fields in rows:
                existing = session.exec(
                    select(Bid).where(Bid.order_id == fields["order_id"])
                ).first()
                if existing is None:
                    session.add(Bid(**fields, mode=mode))
                    new += 1
                elif all(getattr(existing, k) == v for k, v in fields.items()):
                    unchanged += 1
    return new, unchanged


def _fresh_publisher(root: Path, n: int, env: dict[str, str]):  # type: ignore[no-untyped-def]
    data_dir = Path(tempfile.mkdtemp(dir=root))
    import_keystore(data_dir / "wallet", secrets.token_hex(32), PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    engine = new_engine(data_dir)
    for i in range(n):
        add_pinned_artwork(engine, i + 1)
    os.environ.update({"BOT_DATA_DIR": str(data_dir), "BOT_WALLET_PASSPHRASE": PASSPHRASE, **env})
    return open_publisher(AppContext(load_settings()))


def publish_case(root: Path, n: int, env: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        publisher = _fresh_publisher(root, n, env)
        started = time.perf_counter()
        report = run_publish(publisher, max_new=n)
        run.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        assert list(report.outcomes.values()) == ["listed"] * n, report.failed

    return run


def measure(case: Callable[[], None], repeat: int, *, inner_timer: bool = False) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        case()
        total = time.perf_counter() - started
        times.append(case.elapsed if inner_timer else total)  # type: ignore[attr-defined]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=100)
    parser.add_argument("--bids", type=int, default=20, help="bids per item for the sync case")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    n = args.artworks
    for name in list(os.environ):
        if name.startswith("BOT_"):
            del os.environ[name]
    results: dict[str, dict[str, float]] = {}

    def record(name: str, times: list[float], items: int) -> None:
        best, median = min(times), statistics.median(times)
        results[name] = {
            "best_s": round(best, 4),
            "median_s": round(median, 4),
            "ms_per_item": round(1000 * median / items, 2),
            "items_per_s": round(items / median, 1),
        }
        print(
            f"{name:<58} best {best:7.3f} s  median {median:7.3f} s  "
            f"{1000 * median / items:7.2f} ms/item  {items / median:8.1f} items/s"
        )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        record("baseline: sign only (mint + order)", measure(lambda: sign_only(n), args.repeat), n)
        dry = publish_case(root, n, {"BOT_LISTING_KIND": "fixed-price"})
        record(
            "publish dry-run (outbox, fixed price)", measure(dry, args.repeat, inner_timer=True), n
        )
        with running_rarible_server() as (base, state):
            env = {
                "BOT_MARKETPLACE_MODE": "testnet",
                "BOT_RARIBLE_API_URL": base,
                "BOT_LISTING_KIND": "fixed-price",
            }
            live = publish_case(root, n, env)
            record(
                "publish testnet (local server, fixed)",
                measure(live, args.repeat, inner_timer=True),
                n,
            )
            env["BOT_LISTING_KIND"] = "open-for-bids"
            bids_pub = _fresh_publisher(root, n, env)
            run_publish(bids_pub, max_new=n)
            for item in list(state.items.values())[-n:]:
                for b in range(args.bids):
                    state.place_bid(
                        item["contract"], int(item["tokenId"]), f"0x{b + 1:040x}", 10**16 * (b + 1)
                    )
            engine, market = bids_pub.engine, bids_pub.market
            total = n * args.bids

            def clear() -> None:
                with engine.begin() as connection:
                    connection.exec_driver_sql("DELETE FROM bids")

            times: dict[str, list[float]] = {k: [] for k in ("bf", "ba", "pf", "pa")}
            for _ in range(args.repeat):
                clear()
                started = time.perf_counter()
                assert per_bid_lookup_sync(engine, market, "testnet", SEPOLIA.weth) == (total, 0)
                times["bf"].append(time.perf_counter() - started)
                started = time.perf_counter()
                assert per_bid_lookup_sync(engine, market, "testnet", SEPOLIA.weth) == (0, total)
                times["ba"].append(time.perf_counter() - started)
                clear()
                started = time.perf_counter()
                first = sync_bids(engine, market, "testnet", weth=SEPOLIA.weth)
                times["pf"].append(time.perf_counter() - started)
                started = time.perf_counter()
                again = sync_bids(engine, market, "testnet", weth=SEPOLIA.weth)
                times["pa"].append(time.perf_counter() - started)
                assert first.new == total and again.unchanged == total
            label = f"{n}x{args.bids} bids"
            record(f"baseline: bids sync first, per-bid query ({label})", times["bf"], total)
            record(f"bids sync first ({label})", times["pf"], total)
            record(f"baseline: bids resync unchanged, per-bid query ({label})", times["ba"], total)
            record(f"bids resync unchanged ({label})", times["pa"], total)

    out = ROOT / "benchmarks" / "results" / "marketplace.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "artworks": n,
                "bids_per_item": args.bids,
                "repeat": args.repeat,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
