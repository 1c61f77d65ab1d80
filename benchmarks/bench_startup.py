"""Start-up time of `bot` commands: this checkout against a baseline revision, side by side.

Each command runs as a new process (start-up is what is measured), alternating between this
checkout and the baseline (`--baseline-ref`, default: the last commit before the CLI's lazy
imports), each against its own fresh data dir; the floor is `python -c pass`. Commands:
`--help`, `status`, `config show`, `models list` and `doctor` (dry-run, local IPFS), and
`doctor` again with a keystore made at eth-account's default scrypt cost (2^18) and
BOT_WALLET_PASSPHRASE set, so that it unlocks it. Best and median of `--repeat` runs.

Usage: .venv/bin/python benchmarks/bench_startup.py [--repeat 5] [--baseline-ref REF]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "7acdee7"  # main before issue 10.13: the CLI imported the signing stack eagerly
COMMANDS = {
    "--help": ["--help"],
    "status": ["status"],
    "config show": ["config", "show"],
    "models list": ["models", "list"],
    "doctor": ["doctor"],
    "doctor, unlocking the wallet": ["doctor"],
}
LAUNCH = "import sys; sys.argv[0] = 'bot'; from bot.cli.app import main; main()"


def export_ref(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def prepare_data_dir(tree: Path, data: Path, *, wallet: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env |= {"PYTHONPATH": str(tree), "BOT_DATA_DIR": str(data)}
    run(tree, ["init"], env)
    if wallet:
        env["BOT_WALLET_PASSPHRASE"] = "benchmark passphrase"
        run(tree, ["wallet", "create"], env)  # eth-account's default scrypt n = 2^18
    return env


def run(tree: Path, args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = {"baseline": export_ref(args.baseline_ref, work / "baseline"), "nftbot": ROOT}
        envs = {
            (name, wallet): prepare_data_dir(tree, work / f"data-{name}-{wallet}", wallet=wallet)
            for name, tree in trees.items()
            for wallet in (False, True)
        }
        floor = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            floor.append(time.perf_counter() - start)
        times: dict[str, dict[str, list[float]]] = {c: {n: [] for n in trees} for c in COMMANDS}
        for _ in range(args.repeat):
            for label, command in COMMANDS.items():
                for name, tree in trees.items():  # alternate, so load changes hit both
                    env = envs[(name, label.endswith("wallet"))]
                    times[label][name].append(run(tree, command, env))
    rows = []
    print(f"{'command':32} {'baseline best/median s':>24} {'nftbot best/median s':>22}")
    print(f"{'python -c pass (floor)':32} {min(floor):>11.2f} / {statistics.median(floor):.2f}")
    for label, by_tree in times.items():
        cells = {name: (min(v), statistics.median(v)) for name, v in by_tree.items()}
        rows.append({"command": label, **{f"{n}_best_s": c[0] for n, c in cells.items()},
                     **{f"{n}_median_s": c[1] for n, c in cells.items()}})  # fmt: skip
        base, ours = cells["baseline"], cells["nftbot"]
        print(f"{label:32} {base[0]:>11.2f} / {base[1]:<10.2f} {ours[0]:>9.2f} / {ours[1]:.2f}")
    result = {
        "benchmark": "startup",
        "baseline_ref": args.baseline_ref,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "floor_best_s": min(floor),
        "rows": rows,
    }
    out = ROOT / "benchmarks" / "results" / "startup.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
