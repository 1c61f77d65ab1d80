"""Crash benchmark of the whole pipeline: real `bot run --once` processes SIGKILLed at random
points of every stage, against the local Rarible test server; what reached the market is counted
on the server's side.

Every run is a real process: forked from a launcher that did the imports once (a `bot run`
spends seconds importing before it does anything; see tests/bot/pipeline_world.py), then killed
with SIGKILL by its pid. Each round starts a fresh world (the bundled sample imported, a wallet,
tiny untrained models, testnet mode against the server, fixed-price listings) and kills
`--kills` runs in a row, each at a random stage (prepare, generate, choose, pin, mint, list, or
the bids/sales sync) a random moment after the stage took its artworks; a quarter of the mint
and list kills happen while the server holds a request it stored and has not answered (the
window between a request and the recording of its answer). With `--fault-rate`, the server also
answers that share of the writes and lookups with 429, 500, a timeout, a 500 after storing, or a
lagging 404. Then clean runs finish the round. Counted:

- double mints: token URIs (one per artwork) minted more than once on the server;
- double orders: items with more than one live sell order on the server;
- lost: artworks the bot records as listed whose item or live order the server does not hold;
- stuck: artworks that did not reach `listed` after the clean follow-up runs.

All four must be 0. Writes JSON to benchmarks/results/crash_pipeline.json (or `--out`).

Usage: .venv/bin/python benchmarks/bench_crash_pipeline.py [--min-kills 200] [--kills 6] [--top 8]
       [--seed 7] [--fault-rate 0.0]

"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bot.pipeline_world import (  # noqa: E402
    Launcher,
    RandomFaults,
    base_env,
    build_template,
    finish,
    new_world,
    pending_stages,
    random_plan,
    run_and_kill,
)
from tests.marketplace.rarible_server import running_rarible_server  # noqa: E402


def run_round(
    template: Path, where: Path, rng: random.Random, args: Any, launcher: Launcher
) -> dict[str, Any]:
    data_dir = new_world(template, where)
    with running_rarible_server(api_key="k-world", timeout_fault_s=0.5) as (base, state):
        faults = None
        if args.fault_rate:
            faults = RandomFaults(state, args.fault_rate, rng)
            state.take_fault = faults  # type: ignore[method-assign]
        env = base_env(data_dir, base, template.parent / "weights", top=args.top)
        kills: list[str] = []
        missed = 0  # runs that ended before reaching their kill point
        missed_why: dict[str, int] = {}
        for _ in range(args.kills):
            plan = random_plan(rng, pending_stages(data_dir))
            if plan.hang:
                state.add_fault("POST", plan.hang, "hang_after_store")
            outcome = run_and_kill(env, where, target=plan.target, delay_s=plan.delay_s,
                                   state=state, batch=plan.batch, launcher=launcher)  # fmt: skip
            if outcome.killed_at:
                kills.append(outcome.killed_at)
            else:
                missed += 1
                why = f"{plan.target}: exit {outcome.returncode}"
                missed_why[why] = missed_why.get(why, 0) + 1
            if plan.hang:
                with state.lock:  # a hang fault not reached must not hit a clean run
                    state.faults = [f for f in state.faults if f.kind != "hang_after_store"]
        check, follow_ups = finish(env, data_dir, state, runs=15, launcher=launcher)
    return {
        "kills": kills,
        "missed": missed,
        "missed_why": missed_why,
        "follow_up_runs": len(follow_ups),
        "double_mints": len(check.double_mints),
        "double_orders": len(check.double_orders),
        "lost": len(check.lost),
        "stuck": len(check.stuck),
        "listed": check.listed,
        "faults": dict(faults.injected) if faults else {},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-kills", type=int, default=200, help="rounds until this many")
    parser.add_argument("--kills", type=int, default=6, help="kill attempts per round")
    parser.add_argument("--top", type=int, default=8, help="artworks per round")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/crash_pipeline.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # runs the cleanup below
    base = random.Random(args.seed)
    started = time.monotonic()
    totals: Counter[str] = Counter()
    per_stage: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        root = Path(tmp)
        template = build_template(root)
        launcher = Launcher(base_env(template, "http://127.0.0.1:9", root / "weights"))
        try:
            number = 0
            while totals["kills"] < args.min_kills:
                number += 1
                rng = random.Random(base.getrandbits(64))
                where = root / f"round-{number}"
                where.mkdir()
                result = run_round(template, where, rng, args, launcher)
                for kill in result["kills"]:
                    per_stage[kill] += 1
                totals["kills"] += len(result["kills"])
                for key in ("missed", "follow_up_runs", "double_mints", "double_orders", "lost",
                            "stuck", "listed"):  # fmt: skip
                    totals[key] += result[key]
                faults.update(result["faults"])
                print(
                    f"round {number} (kills so far {totals['kills']}): "
                    f"{len(result['kills'])} kills "
                    f"({', '.join(result['kills'])}); listed {result['listed']}, double mints "
                    f"{result['double_mints']}, double orders {result['double_orders']}, lost "
                    f"{result['lost']}, stuck {result['stuck']}",
                    flush=True,
                )
        finally:  # the launcher and its runs never outlive the benchmark
            launcher.close()
    elapsed = time.monotonic() - started
    report = {
        "benchmark": "bench_crash (whole pipeline)",
        "rounds": number,
        "kill_attempts_per_round": args.kills,
        "artworks_per_round": args.top,
        "seed": args.seed,
        "fault_rate": args.fault_rate,
        "kills": totals["kills"],
        "kills_by_stage": dict(sorted(per_stage.items())),
        "runs_that_ended_before_their_kill_point": totals["missed"],
        "follow_up_runs": totals["follow_up_runs"],
        "listed": totals["listed"],
        "double_mints": totals["double_mints"],
        "double_orders": totals["double_orders"],
        "lost": totals["lost"],
        "stuck": totals["stuck"],
        "faults_injected": dict(sorted(faults.items())),
        "seconds": round(elapsed, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    bad = report["double_mints"] or report["double_orders"] or report["lost"] or report["stuck"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
