"""Reports and notifications on a large synthetic store, one run.

The store holds `--artworks` artworks with their full event history (11 events each), every one
published, `--bids` bids per artwork and a sale for half of them (a resale for a tenth).
- baseline: read the sales with sqlite3 and sum the gross per currency with Decimal (the
  floor for any revenue report: it has to read every sale);
- `bot report revenue|bids|pipeline` built in process and rendered as JSON, and revenue as
  HTML (five PNG charts);
- notifications: what `notify(event)` costs the caller (a queue put), against a synchronous
  POST to a local webhook (what the pipeline would pay without the worker thread).

Usage: .venv/bin/python benchmarks/bench_reports.py [--artworks 2000] [--bids 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.notify import SaleEvent  # noqa: E402
from bot.notify.webhook import Notifier, WebhookConfig, WebhookSender  # noqa: E402
from bot.reports import bids, pipeline, render, revenue  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.models import PIPELINE_ORDER, Artwork, ArtworkEvent, Listing  # noqa: E402
from storage.models.market import Bid, MintIntent, Sale  # noqa: E402

US = "0x" + "a1" * 20
COLLECTION = "0xe10605b2026884acc669c2a9cd4a5ec5f5fff494"
WETH = "0xfff9976782d46cc05630d1f6ebab18b2324d6b14"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build(path: Path, artworks: int, bids_per: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        for n in range(artworks):
            listing = Listing(
                source="kaggle",
                marketplace="hive",
                item_id=f"s:{n}",
                title=f"Series {n % 40}",
                price=Decimal(n % 500 + 1),
                currency="SWAP.HIVE",
            )
            session.add(listing)
            session.flush()
            sold = n % 2 == 0
            artwork = Artwork(
                listing_id=listing.id or 0,
                state="sold" if sold else "listed",
                category=("Animals", "Faces", "People", "Objects", "Scenery")[n % 5],
            )
            session.add(artwork)
            session.flush()
            states = [s.value for s in PIPELINE_ORDER]
            for i, state in enumerate(states if sold else states[:-1]):
                session.add(
                    ArtworkEvent(
                        artwork_id=artwork.id or 0,
                        to_state=state,
                        at=T0 + timedelta(minutes=n + 7 * i),
                    )
                )
            token = str((int(US, 16) << 96) | n)
            item_id = f"{COLLECTION}:{token}"
            session.add(
                MintIntent(
                    artwork_id=artwork.id or 0,
                    mode="testnet",
                    chain_id=11155111,
                    collection=COLLECTION,
                    token_id=token,
                    creator=US,
                    token_uri="/ipfs/x",
                    payload_json=json.dumps({"royalties": [{"account": US, "value": 1000}]}),
                    digest="0x",
                    status="done",
                )
            )
            for b in range(bids_per):
                session.add(
                    Bid(
                        order_id=f"0x{n:08x}{b:056x}",
                        artwork_id=artwork.id,
                        item_id=item_id,
                        maker=f"0x{b:040x}",
                        currency=f"ERC20:{WETH}",
                        currency_symbol="WETH",
                        price=Decimal(b + 1) / 100,
                        make_value=Decimal(b + 1) * 10**16,
                        take_value=Decimal(1),
                        status="ACTIVE" if b % 3 else "CANCELLED",
                        mode="testnet",
                    )
                )
            if sold:
                session.add(
                    Sale(
                        activity_id=f"a{n}",
                        artwork_id=artwork.id,
                        item_id=item_id,
                        kind="SELL",
                        buyer="0x" + "b1" * 20,
                        seller=US,
                        price=Decimal("0.05"),
                        currency="ETH",
                        price_usd=Decimal("150.25"),
                        sold_at=T0 + timedelta(hours=n),
                        mode="testnet",
                        protocol_fee_bps=200,
                    )
                )
                if n % 10 == 0:
                    session.add(
                        Sale(
                            activity_id=f"r{n}",
                            artwork_id=artwork.id,
                            item_id=item_id,
                            kind="SELL",
                            buyer="0x" + "b2" * 20,
                            seller="0x" + "b1" * 20,
                            price=Decimal("0.5"),
                            currency="ETH",
                            sold_at=T0 + timedelta(hours=n + 1),
                            mode="testnet",
                            protocol_fee_bps=200,
                        )
                    )


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def baseline(path: Path) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    with sqlite3.connect(path) as db:
        for currency, price in db.execute("SELECT currency, price FROM sales"):
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(price)
    return totals


def notify_costs(repeat: int) -> dict[str, dict[str, float]]:
    """Microseconds per call: notify() vs a synchronous POST to a local webhook."""
    sys.path.insert(0, str(ROOT))
    from tests.bot.webhook_server import running_hook

    event = SaleEvent(
        activity_id="x",
        artwork_id=1,
        item_id="c:1",
        price=Decimal("0.05"),
        currency="ETH",
        buyer="0x" + "b1" * 20,
        sold_at=T0,
    )
    with tempfile.TemporaryDirectory() as tmp, running_hook() as hook:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'n.db'}")
        config = WebhookConfig(url=hook.url, allow_private=True, queue_size=10_000)
        sender = WebhookSender(config)
        sync = timed(lambda: sender.send(event), repeat)
        notifier = Notifier(config, engine)
        events = [SaleEvent(**{**event.__dict__, "activity_id": f"e{i}"}) for i in range(repeat)]
        queued = []
        for item in events:
            start = time.perf_counter()
            notifier.notify(item)
            queued.append(time.perf_counter() - start)
        notifier.close(timeout_s=60)
        sent = len(hook.requests)
    return {
        "baseline: synchronous POST per event": _micro(sync),
        "notify(): queue put, sent by the worker": {**_micro(queued), "delivered": sent - repeat},
    }


def _micro(times: list[float]) -> dict[str, float]:
    return {
        "median_us": round(statistics.median(times) * 1e6, 1),
        "max_us": round(max(times) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=2000)
    parser.add_argument("--bids", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.db"
        start = time.perf_counter()
        build(path, args.artworks, args.bids)
        print(f"store built in {time.perf_counter() - start:.1f} s")
        engine = make_engine(f"sqlite:///{path}", schema_policy="check")
        cases: dict[str, Callable[[], object]] = {
            "baseline: read sales, sum gross (sqlite3 + Decimal)": lambda: baseline(path),
            "report revenue (json)": lambda: render.to_json(
                revenue.build(
                    engine, mode="testnet", weth=WETH, our_addresses={US}, protocol_fee_bps=None
                )
            ),
            "report revenue (html, 5 charts)": lambda: render.to_html(
                revenue.build(
                    engine, mode="testnet", weth=WETH, our_addresses={US}, protocol_fee_bps=None
                ),
                [],
            ),
            "report bids (json)": lambda: render.to_json(
                bids.build(engine, mode="testnet", weth=WETH)
            ),
            "report pipeline (json)": lambda: render.to_json(
                pipeline.build(engine, mode="testnet")
            ),
        }
        for name, fn in cases.items():
            times = timed(fn, args.repeat)
            results[name] = {
                "best_s": round(min(times), 4),
                "median_s": round(statistics.median(times), 4),
            }
            print(f"{name:55s} best {min(times):8.3f} s  median {statistics.median(times):8.3f} s")
    costs = notify_costs(200)
    for name, row in costs.items():
        print(f"{name:55s} median {row['median_us']:8.1f} us  max {row['max_us']:9.1f} us")
    out = ROOT / "benchmarks" / "results" / "reports.json"
    out.write_text(
        json.dumps(
            {
                "artworks": args.artworks,
                "bids_per_artwork": args.bids,
                "sales": args.artworks // 2 + args.artworks // 10,
                "repeat": args.repeat,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
                "notify": costs,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
