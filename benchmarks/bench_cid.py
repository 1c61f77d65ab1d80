"""CIDs of a 100 MB file: the bot's importer vs `sha256sum` and Debian's `ipfs_cid`, one run.

All methods read the same file from the page cache (it is read once before timing):
- `sha256sum` and `hashlib` (OpenSSL, in process): one SHA-256 pass over the bytes, the floor
  for any CID computation (coreutils' own SHA-256 may not use the CPU's SHA extensions);
- `ipfs_cid` (Debian `ipfs-cid`, Rust): CIDv0 with kubo's default DAG;
- the bot (`storage.ipfs.unixfs`, in process), one row per CID profile: `legacy-v0` (CIDv0),
  `legacy-v1` (CIDv1, raw leaves, 256 KiB chunks, 174 links) and `unixfs-v1-2025` (CIDv1, raw
  leaves, 1 MiB chunks, 1024 links), and `legacy-v1` / `unixfs-v1-2025` while writing every
  block into the local blockstore (what `local` pinning costs).
External tools run as subprocesses, so their times include process start (a few ms).
Each method runs `--repeat` times; the table shows the best and the median. Peak Python memory
of one bot import per profile is traced separately (tracemalloc), to show it does not grow with
the file.

Usage: .venv/bin/python benchmarks/bench_cid.py [--mb 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.ipfs.blockstore import LocalBlockstore  # noqa: E402
from storage.ipfs.profiles import LEGACY_V0, LEGACY_V1, UNIXFS_V1_2025, CidProfile  # noqa: E402
from storage.ipfs.unixfs import import_file  # noqa: E402


def make_file(path: Path, megabytes: int) -> None:
    import random

    rng = random.Random(2021)
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            handle.write(rng.randbytes(1 << 20))


def timed(fn: Callable[[], str], repeat: int) -> tuple[list[float], str]:
    times, answer = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - start)
    return times, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cid.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.bin"
        make_file(path, args.mb)
        size = path.stat().st_size
        path.read_bytes()  # warm the page cache for every method alike

        methods: dict[str, Callable[[], str]] = {}
        if shutil.which("sha256sum"):
            methods["sha256sum (coreutils)"] = lambda: subprocess.run(
                ["sha256sum", str(path)], capture_output=True, check=True, text=True
            ).stdout.split()[0]
        if shutil.which("ipfs_cid"):
            methods["ipfs_cid CIDv0 (Debian, Rust)"] = lambda: json.loads(
                subprocess.run(["ipfs_cid", str(path)], capture_output=True, check=True).stdout
            )["CIDv0"]

        def hashlib_pass() -> str:
            digest = hashlib.sha256()
            with open(path, "rb", buffering=0) as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            return digest.hexdigest()

        methods["hashlib sha256, one pass (in process)"] = hashlib_pass

        def cid_of(profile: CidProfile) -> Callable[[], str]:
            return lambda: str(import_file(path, profile).cid)

        def into_blockstore(profile: CidProfile) -> Callable[[], str]:
            def run() -> str:
                store_dir = Path(tmp) / "ipfs"
                shutil.rmtree(store_dir, ignore_errors=True)
                return LocalBlockstore(store_dir).add_file(path, profile=profile).cid

            return run

        for profile in (LEGACY_V0, LEGACY_V1, UNIXFS_V1_2025):
            methods[f"bot {profile.name}"] = cid_of(profile)
        for profile in (LEGACY_V1, UNIXFS_V1_2025):
            methods[f"bot {profile.name} + local blockstore write"] = into_blockstore(profile)

        rows = []
        answers: dict[str, str] = {}
        for name, fn in methods.items():
            times, answer = timed(fn, args.repeat)
            answers[name] = answer
            best, median = min(times), statistics.median(times)
            rows.append(
                {
                    "method": name,
                    "best_s": round(best, 4),
                    "median_s": round(median, 4),
                    "best_mb_per_s": round(size / best / 1e6, 1),
                    "answer": answer,
                }
            )

        peaks = {}
        for profile in (LEGACY_V1, UNIXFS_V1_2025):
            tracemalloc.start()
            import_file(path, profile)
            peaks[profile.name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    v0_agrees = answers.get("ipfs_cid CIDv0 (Debian, Rust)") in (None, answers["bot legacy-v0"])
    floor = next(r["best_s"] for r in rows if r["method"].startswith("hashlib"))
    for row in rows:
        row["x_hashlib_pass"] = round(row["best_s"] / floor, 2)
    result = {
        "benchmark": "cid",
        "file_mb": args.mb,
        "file_bytes": size,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": __import__("os").cpu_count(),
        "load_average_1m_at_end": round(__import__("os").getloadavg()[0], 2),
        "bot_v0_equals_ipfs_cid": v0_agrees,
        "bot_import_peak_python_bytes": peaks,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"CID of a {args.mb} MB file (best of {args.repeat}; median in brackets)")
    print("| method | time (s) | MB/s | × one hashlib pass |\n|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['method']} | {row['best_s']:.3f} ({row['median_s']:.3f}) "
            f"| {row['best_mb_per_s']:.0f} | {row['x_hashlib_pass']:.2f} |"
        )
    memory = ", ".join(f"{name} {peak / 1024:.0f} KiB" for name, peak in peaks.items())
    print(f"bot legacy-v0 == ipfs_cid CIDv0: {v0_agrees}; peak Python memory per import: {memory}")
    print(f"written {args.out.relative_to(ROOT)}")
    if not v0_agrees:
        raise SystemExit("CID mismatch between the bot and ipfs_cid")


if __name__ == "__main__":
    main()
