"""Crash and race benchmark for publishing: two real `bot publish` processes at once, killed at
random, against the local Rarible test server injecting faults; what reached the market is
counted on the server's side.

Each round adds `--new` pinned artworks, starts two publishers (fixed-price listings: a lazy
mint and a sell order per artwork) and SIGKILLs each one with probability `--kill-rate` at a
random moment; the server answers `--fault-rate` of the writes and lookups with 429, 500, a
timeout, a 500 after storing, or (lookups) a lagging 404, and stores each write after a random
latency (a slow marketplace). Then `--follow-ups` clean runs (no faults, no kills, one process)
finish what is left. Counted:

- double mints: artworks with more than one item on the server;
- double orders: items with more than one live sell order on the server;
- stuck: artworks not `listed` in the bot's database after the clean follow-up runs;
- lost: artworks whose listing the bot records but the server does not hold (no item, another
  token id, no live order with the recorded hash), or whose item the server holds while the
  bot's record names none.

All four must be 0. `--code DIR` runs the publishers from another checkout (say `main` before
the send claims) with the same server, faults and seed, for comparison. Writes JSON to
benchmarks/results/crash.json (or `--out`).

Usage: .venv/bin/python benchmarks/bench_crash.py [--rounds 200] [--fault-rate 0.3] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from marketplace.wallet import MIN_SCRYPT_N, import_keystore  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.marketplace.cli_helpers import PASSPHRASE  # noqa: E402
from tests.marketplace.helpers import add_pinned_artwork  # noqa: E402
from tests.marketplace.publishers import (  # noqa: E402
    MarketCount,
    artwork_uri,
    publish_env,
    start_publish,
)
from tests.marketplace.rarible_server import (  # noqa: E402
    RandomFaults,
    RaribleState,
    running_rarible_server,
)

ROUND_LIMIT_S = 120.0  # a publisher still running then is killed and counted as hung
BROKEN_ROUNDS = 5  # this many rounds in a row where every publisher crashed: stop, say why


def _create_database(data_dir: Path, code_dir: Path) -> None:
    """The schema of the code under test (a baseline checkout has its own head revision)."""
    url = f"sqlite:///{data_dir / 'bot.db'}"
    script = f"from storage.db import make_engine; make_engine({url!r}).dispose()"
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    subprocess.run([sys.executable, "-c", script], env=env, cwd=data_dir, check=True)


def _run_round(
    env: dict[str, str],
    run_dir: Path,
    state: RaribleState,
    rng: random.Random,
    kill_rate: float,
    logs: list[Path],
) -> dict[str, Any]:
    """Two publishers at once; each is SIGKILLed with probability `kill_rate` at a random moment
    within 4 s after the round's first request reached the server (start-up takes seconds and
    a kill before any request tests nothing)."""
    seen = len(state.requests)
    processes = [start_publish(env, run_dir, log) for log in logs]
    started = time.monotonic()
    kill_after = [rng.uniform(0.0, 4.0) if rng.random() < kill_rate else None for _ in processes]
    first_request: float | None = None
    killed = hung = 0
    while any(p.poll() is None for p in processes):
        now = time.monotonic()
        if first_request is None and len(state.requests) > seen:
            first_request = now
        for process, delay in zip(processes, kill_after, strict=True):
            if process.poll() is not None:
                continue
            due = delay is not None and first_request is not None and now >= first_request + delay
            if due or now - started > ROUND_LIMIT_S:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed += due
                hung += not due
        time.sleep(0.01)
    exits = [p.returncode for p in processes]
    # A traceback is a crash of the publisher (or of its environment), not a recorded failure.
    crashes = [
        _last_line(log) for log, code in zip(logs, exits, strict=True) if _crashed(log, code)
    ]
    return {
        "killed": killed,
        "hung": hung,
        "failed_runs": sum(1 for code in exits if code not in (0, -signal.SIGKILL)),
        "crashes": crashes,
    }


def _crashed(log: Path, code: int) -> bool:
    return code not in (0, -signal.SIGKILL) and "Traceback (most recent call last)" in (
        log.read_text(errors="replace")
    )


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _audit(data_dir: Path, state: RaribleState, numbers: dict[int, int]) -> dict[str, Any]:
    """Compare the bot's records with the server's holdings, artwork by artwork."""
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    with engine.connect() as connection:
        states = dict(connection.execute(text("SELECT id, state FROM artworks")).all())
        minted = {
            artwork_id: token_id
            for artwork_id, token_id in connection.execute(
                text("SELECT artwork_id, token_id FROM mint_intents WHERE status = 'done'")
            ).all()
        }
        orders = {
            artwork_id: order_hash
            for artwork_id, order_hash in connection.execute(
                text("SELECT artwork_id, order_hash FROM market_orders WHERE status = 'done'")
            ).all()
        }
    engine.dispose()
    with state.lock:
        items_by_uri: dict[str, list[dict[str, Any]]] = {}
        for item in state.items.values():
            items_by_uri.setdefault(item["lazy"]["uri"], []).append(item)
        live_hashes = {h for h, o in state.orders.items() if o["status"] == "ACTIVE"}
    stuck, lost = [], []
    for artwork_id, n in numbers.items():
        on_market = items_by_uri.get(artwork_uri(n), [])
        if states.get(artwork_id) != "listed":
            stuck.append(artwork_id)
        token = minted.get(artwork_id)
        market_tokens = {item["tokenId"] for item in on_market}
        recorded_listed = states.get(artwork_id) == "listed"
        if recorded_listed and (
            token not in market_tokens or orders.get(artwork_id) not in live_hashes
        ):
            lost.append(artwork_id)  # the bot says listed; the market holds no such listing
        elif market_tokens and token not in market_tokens:
            lost.append(artwork_id)  # the market holds an item the bot's record does not name
    return {"stuck": stuck, "lost": lost, "states": _count(states.values())}


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--new", type=int, default=2, help="pinned artworks added per round")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--kill-rate", type=float, default=0.5, help="per publisher and round")
    parser.add_argument("--follow-ups", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout the publishers run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/crash.json")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    code_dir = args.code.resolve()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    data_dir = run_dir / "data"
    data_dir.mkdir()
    import_keystore(data_dir / "wallet", secrets.token_hex(32), PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    _create_database(data_dir, code_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    log_dir = run_dir / "logs"
    log_dir.mkdir()
    numbers: dict[int, int] = {}  # artwork id -> n (its metadata CID, its token uri)
    totals = {"killed": 0, "hung": 0, "failed_runs": 0}
    crashes: dict[str, int] = {}  # last line of a publisher's traceback -> how often
    broken_in_a_row = 0
    aborted: str | None = None
    first_double: int | None = None
    started = time.perf_counter()
    with running_rarible_server(timeout_fault_s=0.5) as (base, state):
        faults = RandomFaults(args.fault_rate, random.Random(rng.random()))
        env = publish_env(data_dir, base, "fixed-price", code_dir)
        for round_ in range(1, args.rounds + 1):
            for _ in range(args.new):
                n = len(numbers) + 1
                numbers[add_pinned_artwork(engine, n)] = n
            state.random_faults = faults
            state.write_latency_s = rng.choice((0.0, 0.1, 0.3, 0.6))
            logs = [log_dir / f"round{round_:04d}-{i}.log" for i in (1, 2)]
            outcome = _run_round(env, run_dir, state, rng, args.kill_rate, logs)
            for key in totals:
                totals[key] += outcome[key]
            for line in outcome["crashes"]:
                crashes[line] = crashes.get(line, 0) + 1
            broken_in_a_row = broken_in_a_row + 1 if len(outcome["crashes"]) == 2 else 0
            if broken_in_a_row >= BROKEN_ROUNDS:
                aborted = f"round {round_}: every publisher crashed {BROKEN_ROUNDS} rounds in a row"
                print(f"stopping: {aborted}: {outcome['crashes'][0]}", flush=True)
                break
            count = MarketCount.of(state)
            if first_double is None and (count.double_mints or count.double_orders):
                first_double = round_
            if round_ % 10 == 0 or round_ == args.rounds:
                print(
                    f"round {round_}/{args.rounds}: {len(numbers)} artworks, kills"
                    f" {totals['killed']}, double mints {count.double_mints}, double orders"
                    f" {count.double_orders}, {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        faults_s = time.perf_counter() - started
        state.random_faults = None
        state.write_latency_s = 0.0
        clean_env = publish_env(data_dir, base, "fixed-price", code_dir)
        follow_up_exits = []
        for i in range(args.follow_ups):
            follow_up_log = log_dir / f"follow-up-{i + 1}.log"
            process = start_publish(clean_env, run_dir, follow_up_log)
            follow_up_exits.append(process.wait(600))
            if _crashed(follow_up_log, process.returncode):
                line = _last_line(follow_up_log)
                crashes[line] = crashes.get(line, 0) + 1
        count = MarketCount.of(state)
        audit = _audit(data_dir, state, numbers)
        injected = dict(sorted(faults.injected.items()))
        requests = len(state.requests)
    engine.dispose()

    result = {
        "code": str(code_dir),
        "git": _git_head(code_dir),
        "rounds": round_,
        "aborted": aborted,
        "artworks": len(numbers),
        "fault_rate": args.fault_rate,
        "kill_rate": args.kill_rate,
        "seed": args.seed,
        "double_mints": count.double_mints,
        "double_orders": count.double_orders,
        "stuck": len(audit["stuck"]),
        "lost": len(audit["lost"]),
        "first_round_with_a_double": first_double,
        "stuck_artworks": audit["stuck"],
        "lost_artworks": audit["lost"],
        "states": audit["states"],
        "kills": totals["killed"],
        "hung_publishers": totals["hung"],
        "publisher_runs_exit_1": totals["failed_runs"],
        "publisher_crashes": crashes,
        "follow_up_runs": args.follow_ups,
        "follow_up_exits": follow_up_exits,
        "faults_injected": injected,
        "requests": requests,
        "items_on_server": count.items,
        "live_orders_on_server": count.live_orders,
        "seconds_with_faults": round(faults_s, 1),
        "seconds_total": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        "logs": str(log_dir),
    }
    print(
        f"\n{round_} rounds, {len(numbers)} artworks, {totals['killed']} kills,"
        f" {sum(injected.values())} faults injected in {requests} requests\n"
        f"double mints {result['double_mints']}, double orders {result['double_orders']},"
        f" stuck {result['stuck']}, lost {result['lost']};"
        f" publisher crashes {sum(crashes.values())}"
        + (f"; ABORTED at {aborted}" if aborted else "")
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def _git_head(code_dir: Path) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(code_dir), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


if __name__ == "__main__":
    main()
