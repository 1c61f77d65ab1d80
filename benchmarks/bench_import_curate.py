"""Import and curation at scale: `bot import kaggle` and `bot curate` on a million listings.

The dataset is resampled (seeded) to N rows and every row is made a distinct listing (its
`art_series` and `cid` get the row number), so N rows are N listings, as in the report this
benchmark answers (issue 10: 1M rows took 5.8 GB and 498 s to import; curation took 475 s on
200k listings and 1658 s on 1M, holding the write lock all along).

Each run is the real command in a child process on a fresh data dir; wall time, CPU time
(user + system, os.wait4) and the peak resident memory of that child are measured, so the
figures include start-up and everything the command does. The peak is the child's own
high-water mark (VmHWM, read by the child at exit): the ru_maxrss that wait4 reports starts
from the *parent's* peak on Linux (the child is forked from it), and this script's parent
holds the generated CSV in pandas, so it would show the parent's size for every run.
While `bot curate` runs on the big store, a second command (`bot import kaggle` of the real
dataset) is started beside it: it must finish, not fail with "database is locked".

Baseline: main before this work was merged (commit BASELINE_COMMIT: the row-by-row import
and curation, extracted with `git archive`), the same commands, at `--baseline-rows` (default
50,000: the old curation needs hours at 1M). Both versions also run on the real dataset and
must give the same curation, artwork for artwork (a hash of every artwork's state, rank,
reason, score, category and who rejected it). `--previous` (default PREVIOUS_COMMIT) also
runs the commit before the latest import work at the full size, side by side with it.

Usage: .venv/bin/python benchmarks/bench_import_curate.py [--rows 1000000]
       [--baseline-rows 50000] [--csv PATH] [--previous COMMIT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or NFTBOT_SHARED_DIR (a worktree), as the tests find it
SHARED_DIR = Path(os.environ.get("NFTBOT_SHARED_DIR") or ROOT.parent / "shared")
DEFAULT_CSV = SHARED_DIR / "data" / "nft_art_dataset.csv"
BASELINE_COMMIT = "c1d85e3"  # main before the streaming import and vectorised curation
PREVIOUS_COMMIT = "d02276e"  # main before the collector was tuned and new rows bound as tuples
REPORTED_1M = {  # issue 10, measured by the reporter on the old code
    "import_seconds": 498,
    "import_peak_gib": 5.8,
    "curate_seconds_200k": 475,
    "curate_seconds_1m": 1658,
}


def distinct_rows_csv(source: Path, rows: int, target: Path) -> Path:
    """`rows` rows resampled from the dataset (seeded), each a distinct listing."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    sample = frame.sample(n=rows, replace=True, random_state=2021).reset_index(drop=True)
    suffix = pd.Series(np.arange(rows)).astype(str)
    sample["art_series"] = sample["art_series"] + "-" + suffix
    sample["cid"] = sample["cid"] + suffix
    sample["path"] = "./dataset/image/" + sample["cid"] + ".jpg"
    sample.to_csv(target, index=False)
    return target


def run_bot(code: Path, data_dir: Path, *args: str) -> dict[str, Any]:
    """One `bot` command in a child process: wall, CPU (user+sys) and peak RSS of that child."""
    env = {**os.environ, "PYTHONPATH": str(code), "BOT_DATA_DIR": str(data_dir)}
    env = {k: v for k, v in env.items() if not k.startswith("BOT_") or k == "BOT_DATA_DIR"}
    peak_file = data_dir.parent / f".peak-{data_dir.name}"
    env["BENCH_PEAK_FILE"] = str(peak_file)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output = child.stdout.read().decode("utf-8", "replace") if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "command": " ".join(args[:2]),
        "exit_code": child.returncode,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_mib": round(int(peak_file.read_text()) / 1024, 1),
        "tail": output.strip().splitlines()[-1:] if output.strip() else [],
    }


# The command, and at exit (SystemExit included) its own peak RSS in KiB into BENCH_PEAK_FILE.
_CHILD = """
import atexit, os, re
def _peak():
    with open("/proc/self/status") as status:
        kib = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)
atexit.register(_peak)
from bot.cli.app import main
main()
"""


def curation_fingerprint(db_path: Path) -> tuple[int, str]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT l.item_id, a.state, a.rank, a.reason, a.value_score, a.category,"
            " a.rejected_by"
            " FROM artworks a JOIN listings l ON l.id = a.listing_id ORDER BY l.item_id"
        ).fetchall()
    shown = json.dumps([(i, s, r, why, round(v, 9), c, by) for i, s, r, why, v, c, by in rows])
    return len(rows), hashlib.sha256(shown.encode()).hexdigest()


def extract_code(commit: str, target: Path, name: str) -> Path:
    archive = target / f"{name}.tar"
    subprocess.run(
        ["git", "archive", "--format=tar", "-o", str(archive), commit], cwd=ROOT, check=True
    )
    code = target / name
    code.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    return code


def import_and_curate(code: Path, data_dir: Path, csv_path: Path) -> list[dict[str, Any]]:
    imported = run_bot(code, data_dir, "import", "kaggle", str(csv_path))
    curated = run_bot(code, data_dir, "curate")
    return [imported, curated]


def curate_beside_an_import(data_dir: Path, small_csv: Path) -> dict[str, Any]:
    """`bot curate` on the big store, and 5 s in, `bot import kaggle` of another file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-c", "from bot.cli.app import main; main()"]
    curate = subprocess.Popen(
        [*command, "curate", "--top", "50"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(5)
    started = time.perf_counter()
    beside = subprocess.run(
        [*command, "import", "kaggle", str(small_csv)], cwd=ROOT, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    curate_finished_first = curate.poll() is not None
    curate.wait()
    return {
        "import_exit_code": beside.returncode,
        "import_seconds": round(seconds, 1),
        "curate_was_still_running": not curate_finished_first,
        "curate_exit_code": curate.returncode,
        "locked_errors": (beside.stdout + beside.stderr).count("database is locked"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument(
        "--previous",
        default=PREVIOUS_COMMIT,
        help="also run this commit at the full size, before the current code ('' to skip)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "import_curate.json"
    )
    args = parser.parse_args()
    if not args.csv.exists():
        sys.exit(f"dataset not found: {args.csv} (pass --csv)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline_code = extract_code(BASELINE_COMMIT, work, "baseline")
        previous_code = extract_code(args.previous, work, "previous") if args.previous else None
        same: dict[str, Any] = {}
        for name, code in (("baseline", baseline_code), ("nftbot", ROOT)):
            data = work / f"real-{name}"
            runs = import_and_curate(code, data, args.csv)
            assert all(r["exit_code"] == 0 for r in runs), runs
            same[name] = curation_fingerprint(data / "bot.db")
        assert same["baseline"] == same["nftbot"], same

        big = distinct_rows_csv(args.csv, args.rows, work / "big.csv")
        small = distinct_rows_csv(args.csv, args.baseline_rows, work / "small.csv")
        results: list[dict[str, Any]] = []
        versions = [
            ("baseline", baseline_code, small, args.baseline_rows),
            ("nftbot", ROOT, small, args.baseline_rows),
            ("nftbot", ROOT, big, args.rows),
        ]
        if previous_code is not None:  # the full size, just before the version measured
            versions.insert(2, ("previous", previous_code, big, args.rows))
        for name, code, csv_path, rows in versions:
            data = work / f"{name}-{rows}"
            for run in import_and_curate(code, data, csv_path):
                assert run["exit_code"] == 0, run
                results.append({"version": name, "rows": rows, **run})
        beside = curate_beside_an_import(work / f"nftbot-{args.rows}", args.csv)

    report = {
        "benchmark": "import_curate",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f} at the end",
        "baseline_commit": BASELINE_COMMIT,
        "previous_commit": args.previous or None,
        "real_dataset_curation": {
            "artworks": same["nftbot"][0],
            "sha256": same["nftbot"][1],
            "baseline_equal": True,
        },
        "runs": results,
        "curate_beside_an_import": beside,
        "reported_in_issue_for_1m_rows_old_code": REPORTED_1M,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'version':<10}{'rows':>10}  {'command':<14}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}")
    for run in results:
        print(
            f"{run['version']:<10}{run['rows']:>10,}  {run['command']:<14}{run['seconds']:>9.1f}"
            f"{run['cpu_seconds']:>9.1f}{run['peak_mib']:>10.1f}"
        )
    print(f"import beside curate: {beside}")
    print(f"real dataset: same curation as the baseline ({same['nftbot'][1][:16]}…) -> {args.out}")


if __name__ == "__main__":
    main()
