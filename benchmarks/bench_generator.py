"""VQGAN+CLIP throughput: a reference-style batch-1 fp32 loop vs the product's batched path.

Both run in this one process on the same random-weight FULL-SIZE models (the VQGAN f16-16384
architecture and the CLIP ViT-B/32 architecture; random weights time the same as trained
ones), the same artworks (init image + prompt), the same size, steps and cutn.

(a) reference: what nerdyrodent/VQGAN-CLIP's generate.py does with `-vid` (every iteration
    kept), one artwork at a time in fp32: one-hot matmul quantisation, the pooled cutout
    computed cutn times, kornia augmentations, `.item()` loss printing at checkin with a
    second decode, and each frame converted and written as PNG synchronously in the loop.
(b) product: `generator.optimiser.VqganClip` on the whole batch with bf16 autocast (the
    default on CUDA; CPU autocast here), one decode per step, frames copied asynchronously and
    written by the background `FrameWriter` into a real blob store and SQLite database. A
    batched fp32 row separates the gain of batching from the gain of bf16, and the step-0
    losses of the two show how far bf16 moves the loss.

Usage (GPU, the issue's setting):
    .venv/bin/python benchmarks/bench_generator.py --device cuda --size 512 --steps 20 --cutn 32
CPU (small, a few minutes):
    .venv/bin/python benchmarks/bench_generator.py --device cpu
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import clip
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.clip_model import CLIP_MEAN, CLIP_STD  # noqa: E402
from generator.cutouts import build_augments  # noqa: E402
from generator.frames import FrameWriter  # noqa: E402
from generator.images import image_to_tensor  # noqa: E402
from generator.ops import clamp_with_grad, replace_grad  # noqa: E402
from generator.optimiser import (  # noqa: E402
    GenerationJob,
    GenerationSettings,
    StepFrames,
    VqganClip,
)
from generator.prompts import Prompt  # noqa: E402
from generator.tiny import VIT_B32_ARCH, f16_16384_config, random_clip, random_vqgan  # noqa: E402
from storage.blobstore import BlobStore  # noqa: E402
from storage.db import make_engine  # noqa: E402

PROMPTS = ["Crypto Punks", "Dreams of Hive", "Abstract Gallery", "Pixel Cats", "Vaporwave"]


# --- (a) the reference, as generate.py writes it ------------------------------------------
def _vector_quantize_onehot(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    d = x.pow(2).sum(dim=-1, keepdim=True) + codebook.pow(2).sum(dim=1) - 2 * x @ codebook.T
    indices = d.argmin(-1)
    x_q = F.one_hot(indices, codebook.shape[0]).to(d.dtype) @ codebook
    return replace_grad(x_q, x)


class _ReferenceCutouts(torch.nn.Module):
    def __init__(self, cut_size: int, cutn: int) -> None:
        super().__init__()
        self.cut_size, self.cutn = cut_size, cutn
        self.augs = build_augments(("Af", "Pe", "Ji", "Er"))
        self.noise_fac = 0.1
        self.av_pool = torch.nn.AdaptiveAvgPool2d((cut_size, cut_size))
        self.max_pool = torch.nn.AdaptiveMaxPool2d((cut_size, cut_size))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        cutouts = [(self.av_pool(image) + self.max_pool(image)) / 2 for _ in range(self.cutn)]
        batch = self.augs(torch.cat(cutouts, dim=0))
        facs = batch.new_empty([self.cutn, 1, 1, 1]).uniform_(0, self.noise_fac)
        return batch + facs * torch.randn_like(batch)


def reference_run(vqgan, perceptor, job: GenerationJob, args, frames_dir: Path) -> None:
    device = torch.device(args.device)
    torch.manual_seed(job.seed)
    f = vqgan.downsample_factor
    side = args.size // f * f
    make_cutouts = _ReferenceCutouts(perceptor.visual.input_resolution, args.cutn)
    mean = torch.tensor(CLIP_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=device).view(1, 3, 1, 1)
    codebook = vqgan.quantize.embedding.weight
    z_min = codebook.min(dim=0).values[None, :, None, None]
    z_max = codebook.max(dim=0).values[None, :, None, None]
    pil = job.init_image.resize((side, side), Image.LANCZOS)  # type: ignore[union-attr]
    x = image_to_tensor(pil, side).unsqueeze(0).to(device)
    z = vqgan.encode(x * 2 - 1).detach()
    z.requires_grad_(True)
    texts = [perceptor.encode_text(clip.tokenize(p.text).to(device)).float() for p in job.prompts]
    opt = torch.optim.Adam([z], lr=0.1)

    def synth(z: torch.Tensor) -> torch.Tensor:
        z_q = _vector_quantize_onehot(z.movedim(1, 3), codebook).movedim(3, 1)
        return clamp_with_grad(vqgan.decode(z_q).add(1).div(2), 0, 1)

    for i in range(args.steps):
        opt.zero_grad(set_to_none=True)
        out = synth(z)
        embeds = perceptor.encode_image((make_cutouts(out) - mean) / std).float()
        losses = []
        for text in texts:
            a = F.normalize(embeds.unsqueeze(1), dim=2)
            b = F.normalize(text.unsqueeze(0), dim=2)
            losses.append(a.sub(b).norm(dim=2).div(2).arcsin().pow(2).mul(2).mean())
        if i % 50 == 0:  # checkin: a second decode, .item() sync, write output.png
            with torch.inference_mode():
                _ = ", ".join(f"{loss.item():g}" for loss in losses)
                Image.fromarray(_to_u8(synth(z))).save(frames_dir / "output.png")
        img = _to_u8(out)  # -vid: every iteration written synchronously
        Image.fromarray(img).save(frames_dir / f"{job.key}_{i}.png")
        sum(losses).backward()
        opt.step()
        with torch.inference_mode():
            z.copy_(z.maximum(z_min).minimum(z_max))


def _to_u8(image: torch.Tensor) -> np.ndarray:
    return image.detach().mul(255).clamp(0, 255)[0].permute(1, 2, 0).cpu().numpy().astype(np.uint8)


# --- (b) the product -----------------------------------------------------------------------
def product_run(vqgan, perceptor, jobs, args, precision: str, workdir: Path) -> dict[str, Any]:
    """Step-0 losses (same z and cutouts for every precision), the dtype the run kept after
    the product's own bf16 check, and that check's measured loss difference."""
    settings = GenerationSettings(
        size=args.size, steps=args.steps, cutn=args.cutn, precision=precision
    )
    generator = VqganClip(vqgan, perceptor, args.device, settings)
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    _seed_artworks(engine, jobs)
    first: list[StepFrames] = []

    def on_step(step: StepFrames) -> None:
        if step.iteration == 0:
            first.append(step)
        writer.submit(step)

    with FrameWriter(engine, BlobStore(workdir / "blobs"), model_name="bench") as writer:
        generator.run(jobs, on_step=on_step)
    engine.dispose()
    first[0].wait()
    return {
        "loss_step0": [round(float(x), 6) for x in first[0].losses],
        "autocast": str(generator.autocast_dtype or "fp32").replace("torch.", ""),
        "bf16_check_rel_diff": generator.bf16_check,
    }


def _seed_artworks(engine, jobs) -> None:
    from storage.db import session_scope
    from storage.models import Artwork, Listing

    with session_scope(engine) as session:
        for job in jobs:
            if session.get(Artwork, job.key) is None:
                listing = Listing(source="bench", marketplace="bench", item_id=str(job.key))
                session.add(listing)
                session.flush()
                session.add(Artwork(id=job.key, listing_id=listing.id, category="bench"))


# --- harness ---------------------------------------------------------------------------------
def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _jobs(count: int) -> list[GenerationJob]:
    rng = np.random.default_rng(2021)
    jobs = []
    for index in range(count):
        pixels = rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        jobs.append(
            GenerationJob(index + 1, [Prompt(PROMPTS[index % len(PROMPTS)])], 1000 + index, image)
        )
    return jobs


def _timed(device: str, fn) -> float:  # type: ignore[no-untyped-def]
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cuda = torch.cuda.is_available()
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--size", type=int, default=512 if cuda else 128)
    parser.add_argument("--steps", type=int, default=20 if cuda else 5)
    parser.add_argument("--cutn", type=int, default=32 if cuda else 8)
    parser.add_argument("--batch", type=int, default=8 if cuda else 4, help="artworks")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved, best is kept")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    vqgan = random_vqgan(f16_16384_config()).to(device)
    perceptor = random_clip(VIT_B32_ARCH).to(device)
    jobs = _jobs(args.batch)
    rows: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Warm up both paths (allocator, cuDNN/oneDNN kernels) with one step each.
        warm = argparse.Namespace(**{**vars(args), "steps": 1})
        reference_run(vqgan, perceptor, jobs[0], warm, work)
        for precision in ("fp32", "bf16"):
            product_run(vqgan, perceptor, jobs[:1], warm, precision, work / f"warm_{precision}")

        def reference_all() -> None:
            for job in jobs:
                reference_run(vqgan, perceptor, job, args, work)

        step0: dict[str, dict[str, Any]] = {}

        def product_all(precision: str) -> None:
            target = Path(tempfile.mkdtemp(dir=work))
            step0[precision] = product_run(vqgan, perceptor, jobs, args, precision, target)

        runs = {
            "reference": reference_all,
            "fp32": lambda: product_all("fp32"),
            "bf16": lambda: product_all("bf16"),
        }
        # Interleaved repeats, best of each: neighbours on a shared machine slow down whichever
        # run they overlap, so the minimum is the fairest figure for every path.
        times: dict[str, list[float]] = {name: [] for name in runs}
        peaks: dict[str, float] = {}
        for _ in range(args.repeats):
            for name, run in runs.items():
                times[name].append(_timed(device, run))
                if device.startswith("cuda"):
                    peaks[name] = max(
                        peaks.get(name, 0.0), torch.cuda.max_memory_allocated() / 2**30
                    )
        rows.append(_row("reference: batch 1, fp32, sync saves", times["reference"], args, 1))
        for precision in ("fp32", "bf16"):
            row = _row(f"nftbot: batch {len(jobs)}, {precision}", times[precision], args, len(jobs))
            row.update(step0[precision])
            rows.append(row)
        for row, name in zip(rows, runs, strict=True):
            if name in peaks:
                row["peak_gib"] = round(peaks[name], 2)
        worst = max(
            abs(b - a) / abs(a)
            for a, b in zip(step0["fp32"]["loss_step0"], step0["bf16"]["loss_step0"], strict=True)
        )

    base = rows[0]["images_per_hour"]
    for row in rows:
        row["speedup"] = round(row["images_per_hour"] / base, 2)
    result = {
        "benchmark": "generator",
        "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else _cpu_name(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "models": "random-weight VQGAN f16-16384 + CLIP ViT-B/32 (full size)",
        "config": {
            "size": args.size,
            "steps": args.steps,
            "cutn": args.cutn,
            "artworks": len(jobs),
            "repeats": args.repeats,
        },
        "rows": rows,
        "bf16_vs_fp32_step0_loss_max_rel_diff": round(worst, 6),
    }
    _print(result)
    out = args.out or ROOT / "benchmarks" / "results" / f"generator_{device.split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


def _row(name: str, all_seconds: list[float], args, batch: int) -> dict[str, Any]:
    artworks = args.batch
    seconds = min(all_seconds)
    row = {
        "run": name,
        "batch": batch,
        "seconds_total": round(seconds, 3),
        "seconds_all_repeats": [round(x, 3) for x in all_seconds],
        "seconds_per_step": round(seconds / args.steps / (artworks // batch), 4),
        "seconds_per_artwork_step": round(seconds / (args.steps * artworks), 4),
        "images_per_hour": round(artworks * 3600 / seconds, 1),  # finished artworks (N frames)
        "frames_per_hour": round(artworks * args.steps * 3600 / seconds, 1),
    }
    return row


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({torch.get_num_threads()} threads)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def _print(result: dict[str, Any]) -> None:
    config = result["config"]
    print(f"{result['device']} | {result['models']}")
    print(
        f"size {config['size']}, steps {config['steps']}, cutn {config['cutn']}, "
        f"{config['artworks']} artworks"
    )
    print(
        f"bf16 vs fp32 step-0 loss: max relative difference "
        f"{result['bf16_vs_fp32_step0_loss_max_rel_diff']:.2e}"
    )
    print(f"{'run':40} {'s/step':>8} {'s/artwork-step':>15} {'images/h':>9} {'speedup':>8}")
    for row in result["rows"]:
        print(
            f"{row['run']:40} {row['seconds_per_step']:8.3f} "
            f"{row['seconds_per_artwork_step']:15.3f} {row['images_per_hour']:9.1f} "
            f"{row['speedup']:8.2f}"
        )


if __name__ == "__main__":
    main()
