"""Time per artwork of a whole cycle without the GPU stages: pin + mint + list + sync, on
loopback, in one process.

Each case starts from N chosen artworks (a frame PNG in the blob store) in a fresh data dir,
testnet mode against the local Rarible test server on 127.0.0.1 (real HTTP; the server checks
every signature), IPFS on the local blockstore (real CIDs, files on disk), fixed-price
listings. Side by side:

- baseline: the stage functions called directly, as the manual commands do (`bot pin`,
  `bot publish`, `bot bids sync`): pin_artwork per artwork, run_publish, sync_market;
- the pipeline: the stage runner as `bot run` and the daemon drive it (registry, leases taken
  and renewed, failures settled, progress) over the same stages, then the sync step.

The difference is what the one loop costs. Time is wall clock (perf_counter); each case runs
`--repeat` times on a fresh data dir, best and median reported. Writes
benchmarks/results/pipeline.json.

Usage: .venv/bin/python benchmarks/bench_pipeline.py [--artworks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
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
from bot.pinning import targets_from_settings  # noqa: E402
from bot.pipeline.choose_stage import near_copy_thresholds  # noqa: E402
from bot.pipeline.context import PipelineContext  # noqa: E402
from bot.pipeline.cycle import sync_step  # noqa: E402
from bot.pipeline.guards import PinPolicy  # noqa: E402
from bot.pipeline.pin_stage import chosen_artwork_ids, pin_artwork  # noqa: E402
from bot.pipeline.publish import (  # noqa: E402
    marketplace_for,
    marketplace_network,
    open_publisher,
    run_publish,
)
from bot.pipeline.runner import run_pass  # noqa: E402
from bot.pipeline.sold_stage import sync_market  # noqa: E402
from bot.pipeline.stages import ListStage, MintStage, PinStage  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from marketplace.wallet import MIN_SCRYPT_N, create_keystore, keystore_info  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Artwork  # noqa: E402
from tests.bot.pin_fixtures import add_artwork, make_world  # noqa: E402
from tests.marketplace.rarible_server import running_rarible_server  # noqa: E402

PASSPHRASE = "bench pipeline"
GENERATOR = "nftbot generator bench"


def _context(data_dir: Path, base: str, n: int) -> AppContext:
    os.environ.update(
        {
            "BOT_DATA_DIR": str(data_dir),
            "BOT_MARKETPLACE_MODE": "testnet",
            "BOT_RARIBLE_API_URL": base,
            "BOT_RARIBLE_API_KEY": "k-bench",
            "BOT_WALLET_PASSPHRASE": PASSPHRASE,
            "BOT_LISTING_KIND": "fixed-price",
            "BOT_IPFS_PINNER": "local",
            "BOT_PUBLISH_CAP": str(max(n, 1)),
            "BOT_STAGE_BATCH": "50",
        }
    )
    world = make_world(data_dir)
    for i in range(n):
        add_artwork(world, item_id=f"nft-{i}", frames=2, chosen_iteration=1, name=f"Cat {i}")
    world.engine.dispose()
    create_keystore(data_dir / "wallet", PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    return AppContext(load_settings())


def baseline(context: AppContext) -> None:
    """The stage functions as the manual commands call them."""
    settings = context.settings
    targets = targets_from_settings(settings)
    policy = PinPolicy(
        marketplace_mode=settings.marketplace_mode.value,
        thresholds=near_copy_thresholds(settings),
        upscale_enabled=settings.upscale_enabled,
    )
    with session_scope(context.engine) as session:
        ids = chosen_artwork_ids(session)
    for artwork_id in ids:
        pin_artwork(context.engine, artwork_id, targets=targets, blobs=context.blobs,
                    profile=settings.cid_profile, generator_version=GENERATOR,
                    policy=policy)  # fmt: skip
    run_publish(open_publisher(context), max_new=settings.publish_cap)
    sync_market(
        context.engine,
        marketplace_for(context),
        mode=settings.marketplace_mode.value,
        seller=keystore_info(settings.wallet_dir).address,
        weth=marketplace_network(context).weth,
    )


def pipeline(context: AppContext) -> None:
    """The one loop over the same stages, then the sync step."""
    ctx = PipelineContext(app=context)
    run_pass(ctx, [PinStage(), MintStage(), ListStage()])
    sync_step(ctx)


def _listed(context: AppContext) -> int:
    with session_scope(context.engine) as session:
        return sum(a.state == "listed" for a in session.exec(select(Artwork)).all())


def measure(case: Callable[[AppContext], None], n: int, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        with (
            tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp,
            running_rarible_server(api_key="k-bench") as (base, state),
        ):
            context = _context(Path(tmp) / "data", base, n)
            started = time.perf_counter()
            case(context)
            elapsed = time.perf_counter() - started
            listed = _listed(context)
            if listed != n or len(state.items) != n or len(state.orders) != n:
                raise SystemExit(f"{case.__name__}: {listed} listed, {len(state.items)} items")
            context.engine.dispose()
        times.append(elapsed)
    return {
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "per_artwork_ms": round(1000 * min(times) / n, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artworks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/pipeline.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = {}
    for case in (baseline, pipeline):
        results[case.__name__] = measure(case, args.artworks, args.repeat)
        print(case.__name__, results[case.__name__], flush=True)
    base, loop = results["baseline"]["best_s"], results["pipeline"]["best_s"]
    report = {
        "benchmark": "bench_pipeline: pin + mint + list + sync on loopback",
        "artworks": args.artworks,
        "repeat": args.repeat,
        "cases": results,
        "pipeline_over_baseline": round(loop / base, 3) if base else None,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
