"""Scraping 10k listings from the local Rarible-shaped API at 100 ms latency per request:
a naive sequential client vs the product's client, in one process, against the same server.

- naive: what a first script does. One collection after another, `requests.get` for every
  page (a new connection each time), and one transaction per listing.
- product, one collection at a time: the real runner (keep-alive client, token bucket,
  one transaction per page with its cursor) without parallelism: shows the store's share.
- product: the real runner over all collections in parallel (`run_sources`), with the
  per-host token bucket set to the benchmark's API rate limit. The rate limit, not the
  parallelism, is the ceiling: the benchmark also checks it was never exceeded.

Each variant writes into a fresh SQLite database and must end with every listing stored.
Usage: .venv/bin/python benchmarks/bench_scrape.py [--listings 10000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.http import HttpClient, HttpPolicy  # noqa: E402
from scraper.rarible import RaribleCollectionSource  # noqa: E402
from scraper.runner import run_source, run_sources  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.listings import upsert_listing  # noqa: E402
from tests.scraper.fake_marketplace import (  # noqa: E402
    API_KEY,
    FakeMarketplace,
    RunningServer,
    rarible_item,
)

RESULTS = ROOT / "benchmarks" / "results" / "scrape.json"


def naive(base_url: str, collections: list[str], page_size: int, db_url: str) -> int:
    engine = make_engine(db_url)
    parser = RaribleCollectionSource(
        HttpClient(HttpPolicy()), collections[0], api_key=API_KEY, base_url=base_url
    )
    stored = 0
    for collection in collections:
        continuation = None
        while True:
            params = {"collection": collection, "size": page_size}
            if continuation:
                params["continuation"] = continuation
            response = requests.get(
                f"{base_url}/items/byCollection",
                params=params,
                headers={"X-API-KEY": API_KEY, "Connection": "close"},
                timeout=30,
            )
            response.raise_for_status()
            payload = response.json()
            for item in payload["items"]:
                with session_scope(engine) as session:  # one transaction per listing
                    upsert_listing(session, parser.normalise(item).fields)
                stored += 1
            continuation = payload.get("continuation")
            if not continuation:
                break
    return stored


def product(
    base_url: str, collections: list[str], page_size: int, db_url: str, policy: HttpPolicy,
    parallel: int,
) -> int:  # fmt: skip
    engine = make_engine(db_url)
    with HttpClient(policy) as client:
        sources = [
            RaribleCollectionSource(
                client, c, api_key=API_KEY, base_url=base_url, page_size=page_size
            )
            for c in collections
        ]
        if parallel == 1:
            summaries = [run_source(engine, s) for s in sources]
        else:
            summaries = run_sources(engine, sources, parallel=parallel)
    assert all(s.status == "completed" for s in summaries), summaries
    return sum(s.new for s in summaries)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--collections", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=40.0, help="API rate limit, requests/s")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    per_collection = args.listings // args.collections
    market = FakeMarketplace(latency_s=args.latency)
    collections = [f"ETHEREUM:0x{n:040x}" for n in range(1, args.collections + 1)]
    for collection in collections:
        market.rarible_items[collection] = [
            rarible_item(collection, token, price=f"0.{token % 97 + 1}")
            for token in range(per_collection)
        ]
    policy = HttpPolicy(
        rate_per_second=args.rate, burst=1, concurrency=args.concurrency, timeout_s=30,
        user_agent="nftbot-bench/1.0",
    )  # fmt: skip
    variants: list[tuple[str, Callable[[str, str], int]]] = [
        ("naive sequential", lambda url, db: naive(url, collections, args.page_size, db)),
        ("product, 1 collection at a time",
         lambda url, db: product(url, collections, args.page_size, db, policy, 1)),
        (f"product, {args.concurrency} collections in parallel",
         lambda url, db: product(url, collections, args.page_size, db, policy, args.concurrency)),
    ]  # fmt: skip
    rows: list[dict[str, Any]] = []
    with RunningServer(market) as server, tempfile.TemporaryDirectory() as tmp:
        for index, (name, run) in enumerate(variants):
            market.requests.clear()
            db_url = f"sqlite:///{Path(tmp) / f'bench{index}.db'}"
            started = time.perf_counter()
            stored = run(server.url + "/v0.1", db_url)
            seconds = time.perf_counter() - started
            arrivals = [r.at for r in market.requests]
            assert stored == per_collection * args.collections, (name, stored)
            rows.append(
                {
                    "variant": name,
                    "seconds": round(seconds, 2),
                    "listings": stored,
                    "listings_per_s": round(stored / seconds, 1),
                    "requests": len(arrivals),
                    "max_requests_in_any_1s": max_in_window(arrivals, 1.0),
                }
            )
            peak = rows[-1]["max_requests_in_any_1s"]
            print(f"{name:40s} {seconds:7.2f} s  {stored / seconds:8.1f} listings/s  "
                  f"{len(arrivals)} requests, max {peak} in 1 s")  # fmt: skip
    baseline = rows[0]["seconds"]
    for row in rows:
        row["speedup_vs_naive"] = round(baseline / row["seconds"], 2)
    result = {
        "benchmark": "scrape",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "params": vars(args) | {"burst": 1},
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
