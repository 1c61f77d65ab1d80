"""Generation throughput by executor: in-process vs 1 and 2 Ray CPU actors, in one run.

Every row generates the same artworks with the same small random-weight models (a VQGAN and
a CLIP of the real architectures at reduced widths, written in the real checkpoint formats
and loaded through the registry path; for Ray the coordinator ships them through the object
store), through the product's path: `generate_artworks` reading the prepared init images,
the executor, and the coordinator writing every frame (PNG blob + row) and state change into
a SQLite store. Rows:

- in-process, torch on all cores (the default executor);
- in-process, one thread: the same computation as one CPU actor does;
- Ray, 1 and 2 CPU actors of one thread each, on a local cluster started once (its start and
  the actors' model loading are timed separately, not in the rows).

Artworks per hour = artworks / wall seconds of the run. The coordinator's overhead per
artwork is the CPU time this process spends per artwork during a Ray run (receiving the
frames, PNG encoding, SQLite, the state changes, Ray's driver threads: every thread of the
process, from getrusage); the actors' computation runs in their own processes. For the
in-process rows the same figure is the whole computation. Repeats are interleaved and the
best of each row is kept (neighbours on a shared machine slow down whichever run they
overlap). The frames of every run are compared with the one-thread in-process run's.

    .venv/bin/python benchmarks/bench_scale.py            # ~10 minutes on a loaded 2-core VM
    .venv/bin/python benchmarks/bench_scale.py --artworks 16 --steps 10 --size 128
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.pipeline.generate_stage import generate_artworks  # noqa: E402
from bot.pipeline.prepare_stage import PrepareOptions, prepare_artworks  # noqa: E402
from generator.decode import DecodePolicy  # noqa: E402
from generator.executor import GenerationExecutor, InProcessExecutor  # noqa: E402
from generator.loading import (  # noqa: E402
    load_models,
    read_weight_bytes,
    resolve_weight_files,
)
from generator.optimiser import GenerationSettings  # noqa: E402
from generator.tiny import (  # noqa: E402
    TINY_CLIP_ARCH,
    TINY_DDCONFIG,
    random_clip,
    random_vqgan,
    save_clip_checkpoint,
    save_lightning_checkpoint,
)
from generator.vqgan import VQGANConfig  # noqa: E402
from storage.blobstore import BlobStore  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.models import Artwork, Listing  # noqa: E402
from storage.models.frame import Frame  # noqa: E402

VQGAN_NAME, CLIP_NAME = "bench_vqgan_small", "bench_clip_small"
CATEGORIES = ["Animals", "Faces", "People", "Objects", "Scenery"]
# Between the tests' tiny models and the real ones: an f8 VQGAN (64 channels, 1024 codes)
# and a 4-layer ViT/16 CLIP at width 256, so a step costs tens of milliseconds per artwork.
SMALL_DDCONFIG: dict[str, Any] = {
    **TINY_DDCONFIG,
    "z_channels": 64,
    "resolution": 64,
    "ch": 64,
    "ch_mult": [1, 2, 2, 4],
    "num_res_blocks": 1,
    "attn_resolutions": [8],
}
SMALL_CLIP_ARCH: dict[str, Any] = {
    **TINY_CLIP_ARCH,
    "embed_dim": 256,
    "image_resolution": 64,
    "vision_layers": 4,
    "vision_width": 256,
    "vision_patch_size": 16,
    "transformer_width": 256,
    "transformer_heads": 4,
    "transformer_layers": 4,
}


def write_small_weights(cache: Path) -> None:
    config = VQGANConfig(
        embed_dim=64, n_embed=1024, ddconfig=dict(SMALL_DDCONFIG), disc_num_layers=2, disc_ndf=32
    )
    save_lightning_checkpoint(
        random_vqgan(config, seed=7), config, cache / VQGAN_NAME / f"{VQGAN_NAME}.ckpt"
    )
    save_clip_checkpoint(random_clip(SMALL_CLIP_ARCH, 7), cache / CLIP_NAME / f"{CLIP_NAME}.pt")


def make_store(root: Path, count: int, size: int) -> tuple[Any, BlobStore]:
    engine = make_engine(f"sqlite:///{root / 'bot.db'}")
    blobs = BlobStore(root / "blobs")
    rng = np.random.default_rng(2021)
    with session_scope(engine) as session:
        for index in range(count):
            buffer = io.BytesIO()
            pixels = rng.integers(0, 256, (size + 40, size + 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(buffer, format="PNG")
            listing = Listing(
                source="bench",
                marketplace="bench",
                item_id=f"item{index}",
                image_blob=blobs.put_bytes(buffer.getvalue()).sha256,
            )
            session.add(listing)
            session.flush()
            # A person's category: preparation skips its filters and CLIP (not measured here).
            session.add(Artwork(listing_id=listing.id, override_category=CATEGORIES[index % 5]))
    prepare_artworks(engine, blobs, PrepareOptions(size=size, decode=DecodePolicy(min_side=size)))
    return engine, blobs


def frame_bytes(engine: Any, blobs: BlobStore) -> dict[tuple[int, int], bytes]:
    with session_scope(engine) as session:
        rows = session.exec(select(Frame)).all()
        return {(f.artwork_id, f.iteration): blobs.read_bytes(f.blob_sha256) for f in rows}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def one_run(
    executor: GenerationExecutor,
    settings: GenerationSettings,
    args: argparse.Namespace,
    work: Path,
    threads: int,
) -> tuple[float, float, dict[tuple[int, int], bytes]]:
    """Wall seconds, coordinator CPU seconds and the frames of one run on a fresh store."""
    engine, blobs = make_store(Path(tempfile.mkdtemp(dir=work)), args.artworks, args.size)
    before_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        cpu, start = cpu_seconds(), time.perf_counter()
        report = generate_artworks(engine, blobs, executor, settings, progress=False)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    finally:
        torch.set_num_threads(before_threads)
    if not all(outcome.ok for outcome in report.outcomes):
        raise SystemExit(f"a run failed: {report.outcomes}")
    frames = frame_bytes(engine, blobs)
    engine.dispose()
    return wall, cpu, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artworks", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cutn", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="interleaved, best is kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/scale_cpu.json")
    args = parser.parse_args()

    import ray

    from generator.ray_executor import RayExecutor, RayOptions, start_local_cluster

    settings = GenerationSettings(
        size=args.size, steps=args.steps, cutn=args.cutn, precision="fp32"
    )
    load_before = os.getloadavg()
    all_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "models"
        write_small_weights(cache)
        files = resolve_weight_files(cache, VQGAN_NAME, CLIP_NAME)
        shipped = read_weight_bytes(files)
        models = load_models(cache, VQGAN_NAME, CLIP_NAME, torch.device("cpu"))
        in_process = InProcessExecutor(models, torch.device("cpu"))

        start = time.perf_counter()
        # 3 logical CPUs: both Ray executors keep their actors (1 + 2) for the whole run; only
        # the one being measured works, on the 2 real cores.
        start_local_cluster(ray, num_cpus=3, object_store_mb=512, log_to_driver=False)
        cluster_s = time.perf_counter() - start
        startup: dict[str, float] = {"cluster_start_s": round(cluster_s, 2)}
        executors: dict[str, tuple[GenerationExecutor, int]] = {
            f"in-process, {all_threads} threads": (in_process, all_threads),
            "in-process, 1 thread": (in_process, 1),
        }
        try:
            for actors in (1, 2):
                start = time.perf_counter()
                executor = RayExecutor(shipped, RayOptions(address="local", cpu_actors=actors))
                startup[f"ray_{actors}_actor_ready_s"] = round(time.perf_counter() - start, 2)
                executors[f"Ray, {actors} CPU actor{'s' if actors > 1 else ''}"] = (executor, 1)
            # Warm every path once (oneDNN kernels, the actors' first batch).
            warm = GenerationSettings(size=args.size, steps=1, cutn=args.cutn, precision="fp32")
            for executor, threads in executors.values():
                warm_args = argparse.Namespace(**{**vars(args), "artworks": 2})
                one_run(executor, warm, warm_args, work, threads)

            walls: dict[str, list[float]] = {name: [] for name in executors}
            cpus: dict[str, list[float]] = {name: [] for name in executors}
            frames: dict[str, dict[tuple[int, int], bytes]] = {}
            for repeat in range(args.repeats):
                for name, (executor, threads) in executors.items():
                    wall, cpu, made = one_run(executor, settings, args, work, threads)
                    walls[name].append(round(wall, 3))
                    cpus[name].append(round(cpu, 3))
                    frames.setdefault(name, made)
                    print(f"repeat {repeat + 1}: {name}: {wall:.1f} s", flush=True)
        finally:
            for executor, _threads in executors.values():
                executor.close()
            ray.shutdown()
    load_after = os.getloadavg()

    reference = frames["in-process, 1 thread"]
    identical = {name: made == reference for name, made in frames.items()}
    rows = []
    baseline = min(walls[f"in-process, {all_threads} threads"])
    for name in executors:
        best = min(walls[name])
        rows.append(
            {
                "run": name,
                "seconds_best": best,
                "seconds_all": walls[name],
                "artworks_per_hour": round(args.artworks / best * 3600, 1),
                "speedup_vs_in_process_default": round(baseline / best, 2),
                # Ray rows: the coordinator's overhead; in-process rows: all the work.
                "this_process_cpu_s_per_artwork": round(min(cpus[name]) / args.artworks, 3),
                "frames_identical_to_in_process_1_thread": identical[name],
            }
        )
    result = {
        "benchmark": "scale",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "torch": torch.__version__,
        "ray": ray.__version__,
        "python": platform.python_version(),
        "models": "random-weight small VQGAN f8 (ch 64, 1024 codes) + CLIP ViT/16 width 256, "
        "4 layers",
        "config": {
            "artworks": args.artworks,
            "size": args.size,
            "steps": args.steps,
            "cutn": args.cutn,
            "repeats": args.repeats,
            "batch": "default (4 on CPU; Ray: at most one batch per actor at a time)",
        },
        "startup": startup,
        "coordinator_cpu_s_per_artwork": round(
            min(min(cpus[name]) for name in executors if name.startswith("Ray")) / args.artworks,
            3,
        ),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'run':<28} {'seconds':>8} {'artworks/h':>11} {'speedup':>8} {'CPU s/art here':>14}")
    for row in rows:
        print(
            f"{row['run']:<28} {row['seconds_best']:>8.1f} {row['artworks_per_hour']:>11.0f} "
            f"{row['speedup_vs_in_process_default']:>8.2f} "
            f"{row['this_process_cpu_s_per_artwork']:>14.3f}"
        )
    print(
        f"startup {startup}; coordinator CPU per artwork (Ray): "
        f"{result['coordinator_cpu_s_per_artwork']} s; load {load_before} -> {load_after}; "
        f"frames identical: {identical}"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
