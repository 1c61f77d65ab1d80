"""Choosing the frame: frames scored per second, and seconds per tiled 512² → 2048² upscale.

Scoring runs the product's `FrameScorer` (frames batched through CLIP and the discriminator,
the prompt and the source embedded once per artwork) beside a baseline that scores the same
frames one at a time the way a first script would (clip.load's PIL preprocessing per frame,
the prompt and source re-encoded for every frame), in this one process, on random-weight
FULL-SIZE models: CLIP ViT-B/32, the VQGAN f16-16384 checkpoint's NLayerDiscriminator, and a
512→1 aesthetic head (random weights time the same as trained ones). Both compute every score,
near-copy hashing included, and the script checks they agree.

Upscaling runs a random-weight Real-ESRGAN x4plus-size RRDBNet (64 features, 23 blocks;
spandrel's ESRGAN) through `generator.upscale` with the product's default tiling (256-px tiles,
16 px of context) on a 512² frame, and, as the baseline, untiled against tiled on a smaller
image (128² in 64-px tiles, so that one is really cut up: time, peak memory and the largest
pixel difference). Peak memory on the CPU is the process's resident high-water mark, reset
before each run (Linux /proc/self/clear_refs).

Usage:  .venv/bin/python benchmarks/bench_choose.py                  (CPU, ~30-60 min on 2 cores)
        .venv/bin/python benchmarks/bench_choose.py --device cuda    (a GPU, if there is one)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator import image_quality  # noqa: E402
from generator.aesthetic import aesthetic_scores  # noqa: E402
from generator.critic import critic_scores  # noqa: E402
from generator.frame_scores import FrameScorer, ScoreJob  # noqa: E402
from generator.near_copy import SourceIndex, hash_evidence  # noqa: E402
from generator.tiny import VIT_B32_ARCH, f16_16384_config, random_clip, random_esrgan_state  # noqa: E402
from generator.upscale import TileSettings, image_to_tensor, run_tiled  # noqa: E402
from generator.vqgan import build_discriminator  # noqa: E402

PROMPT = "Abstract Gallery"


def _frames(count: int, side: int) -> tuple[list[Image.Image], Image.Image]:
    """A source photo and `count` frames drifting away from it, as a run's frames do."""
    from skimage import data as photos

    source = Image.fromarray(photos.astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        blurred = np.asarray(source.filter(ImageFilter.GaussianBlur(i / 4)), dtype=np.float32)
        noise = rng.normal(0, 4 + 3 * i, blurred.shape)
        frames.append(Image.fromarray(np.clip(blurred + noise, 0, 255).astype(np.uint8)))
    return frames, source


def _baseline(
    models: dict[str, Any], frames: list[Image.Image], source: Image.Image, device: torch.device
) -> list[dict[str, float]]:
    """One frame at a time, everything recomputed per frame (clip.load-style preprocessing)."""
    import clip
    from torchvision import transforms

    resolution = models["clip"].visual.input_resolution
    preprocess = transforms.Compose(
        [
            transforms.Resize(resolution, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(resolution),
            transforms.ToTensor(),
            transforms.Normalize(
                (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
            ),
        ]
    )
    rows = []
    with torch.inference_mode():
        for frame in frames:
            model = models["clip"]
            text = model.encode_text(clip.tokenize([PROMPT]).to(device)).float()
            image = model.encode_image(preprocess(frame).unsqueeze(0).to(device)).float()
            src = model.encode_image(preprocess(source).unsqueeze(0).to(device)).float()
            image, text, src = (t / t.norm(dim=-1, keepdim=True) for t in (image, text, src))
            pixels = torch.from_numpy(np.asarray(frame)).permute(2, 0, 1).unsqueeze(0)
            rows.append(
                {
                    "prompt_similarity": float(image @ text.T),
                    "source_similarity": float(image @ src.T),
                    "critic": critic_scores(models["discriminator"], pixels, device)[0],
                    "aesthetic": aesthetic_scores(models["aesthetic"], image)[0],
                    "sharpness": image_quality.sharpness(frame),
                    "colourfulness": image_quality.colourfulness(frame),
                    "blockiness": image_quality.blockiness(frame),
                    "hash_distance": hash_evidence(frame, SourceIndex.of([source])).distance,
                }
            )
    return rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_scoring(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    clip_model = random_clip(VIT_B32_ARCH).to(device)
    config = f16_16384_config()
    discriminator = build_discriminator(config).to(device)
    head = torch.nn.Linear(512, 1).to(device).eval().requires_grad_(False)
    models = {"clip": clip_model, "discriminator": discriminator, "aesthetic": head}
    frames, source = _frames(args.frames, args.size)
    scorer = FrameScorer(
        clip_model,
        device,
        discriminator_for=lambda _: discriminator,
        aesthetic_head=head,
        batch_size=args.batch,
    )
    job = ScoreJob(1, frames, [PROMPT] * len(frames), sources=[source], vqgan="vqgan_f16_16384")
    scorer.score(ScoreJob(0, frames[:2], [PROMPT] * 2, sources=[source], vqgan="warm"))  # warm-up
    _baseline(models, frames[:1], source, device)
    times: dict[str, list[float]] = {"baseline": [], "product": []}
    results: dict[str, Any] = {}
    for _ in range(args.repeats):
        for name in ("baseline", "product"):
            _sync(device)
            start = time.perf_counter()
            if name == "baseline":
                results[name] = _baseline(models, frames, source, device)
            else:
                results[name] = [s.as_dict() for s in scorer.score(job)]
            _sync(device)
            times[name].append(time.perf_counter() - start)
    # The same scores either way (PIL's and torch's bicubic resizes differ slightly).
    agreement = {
        key: max(
            abs(float(a[key]) - float(b[key]))
            for a, b in zip(results["baseline"], results["product"], strict=True)
        )
        for key in (
            "prompt_similarity",
            "source_similarity",
            "critic",
            "aesthetic",
            "sharpness",
            "hash_distance",
        )
    }
    hashing = _time_hashing(frames, source)
    rows = []
    for name, label in (
        ("baseline", "baseline: one frame at a time, prompt and source re-encoded"),
        ("product", f"nftbot FrameScorer, batch {args.batch}"),
    ):
        best = min(times[name])
        rows.append(
            {
                "run": label,
                "seconds": round(best, 3),
                "seconds_all_repeats": [round(t, 3) for t in times[name]],
                "frames_per_second": round(len(frames) / best, 3),
            }
        )
    rows[1]["speedup"] = round(rows[1]["frames_per_second"] / rows[0]["frames_per_second"], 2)
    return {
        "frames": len(frames),
        "frame_size": args.size,
        "models": "random-weight CLIP ViT-B/32 + NLayerDiscriminator (f16-16384 checkpoint's, "
        f"{config.disc_num_layers} layers, ndf {config.disc_ndf}) + 512→1 aesthetic head",
        "rows": rows,
        "near_copy_hashing_seconds_per_frame": round(hashing, 4),
        "max_abs_difference_baseline_vs_product": {k: round(v, 6) for k, v in agreement.items()},
    }


def _time_hashing(frames: list[Image.Image], source: Image.Image) -> float:
    index = SourceIndex.of([source])
    start = time.perf_counter()
    for frame in frames:
        hash_evidence(frame, index)
    return (time.perf_counter() - start) / len(frames)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _upscale_run(
    model: Any, image: Image.Image, tiles: TileSettings, device: torch.device
) -> tuple[float, float | None, torch.Tensor]:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _reset_peak()
    pixels = image_to_tensor(image)
    _sync(device)
    start = time.perf_counter()
    out = run_tiled(model, pixels, model.scale, tiles, device=device)
    _sync(device)
    return time.perf_counter() - start, _peak_mib(device), out


def bench_upscale(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    from skimage import data as photos
    from spandrel import ModelLoader

    model = ModelLoader(device=device).load_from_state_dict(random_esrgan_state(4)).eval()
    photo = Image.fromarray(photos.coffee())
    tiles = TileSettings(args.tile, args.overlap)
    small = photo.resize((args.compare_size,) * 2, Image.Resampling.LANCZOS)
    _upscale_run(model, small.resize((32, 32)), TileSettings(0, 0), device)  # warm-up
    whole_s, whole_peak, whole = _upscale_run(model, small, TileSettings(0, 0), device)
    compare_tiles = TileSettings(args.compare_tile, args.overlap)
    tiled_s, tiled_peak, tiled = _upscale_run(model, small, compare_tiles, device)
    big = photo.resize((args.upscale_size,) * 2, Image.Resampling.LANCZOS)
    big_s, big_peak, big_out = _upscale_run(model, big, tiles, device)
    return {
        "model": "random-weight RRDBNet x4 (Real-ESRGAN x4plus size: 64 features, 23 blocks)",
        "tile": args.tile,
        "overlap": args.overlap,
        "headline": {
            "input": args.upscale_size,
            "output": list(big_out.shape[-2:]),
            "seconds_tiled": round(big_s, 2),
            "peak_mib_tiled": big_peak,
        },
        "tiled_vs_untiled": {
            "input": args.compare_size,
            "tile": args.compare_tile,
            "seconds_untiled": round(whole_s, 2),
            "seconds_tiled": round(tiled_s, 2),
            "peak_mib_untiled": whole_peak,
            "peak_mib_tiled": tiled_peak,
            "max_abs_pixel_difference": round(float((whole - tiled).abs().max()), 6),
        },
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({torch.get_num_threads()} threads)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=20, help="one artwork's frames")
    parser.add_argument("--size", type=int, default=512, help="frame side")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="interleaved, best is kept")
    parser.add_argument("--upscale-size", type=int, default=512)
    parser.add_argument("--compare-size", type=int, default=128, help="tiled vs untiled input")
    parser.add_argument("--compare-tile", type=int, default=64, help="tile of that comparison")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--skip-upscale", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    result: dict[str, Any] = {
        "benchmark": "choose",
        "device": _device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "scoring": bench_scoring(args, device),
    }
    print(json.dumps(result["scoring"], indent=2))
    if not args.skip_upscale:
        result["upscale"] = bench_upscale(args, device)
        print(json.dumps(result["upscale"], indent=2))
    out = args.out or ROOT / "benchmarks" / "results" / f"choose_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
