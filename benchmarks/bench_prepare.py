"""Preparation throughput: decode + quality/text filters + CLIP category, batch 1 vs batched.

Both runs happen in this one process on the same images and the same random-weight FULL-SIZE
CLIP ViT-B/32 (random weights time the same as trained ones; the face detector runs when CLIP's
Faces+People could win, as in the stage, so with random weights its share is what chance gives).

(a) batch 1: each image decoded, filtered, then one CLIP forward pass for it;
(b) batched: the same, with CLIP run on `--batch` images at a time (the stage's
    BOT_PREPARE_CLIP_BATCH).
The images are scikit-image's photographs, resized to 600-2400 px and saved as JPEG and PNG
(what NFT listings mostly are), decoded from bytes each time. The label embeddings (48 prompts
per label through CLIP's text tower) are computed once and timed separately. Peak memory is
the process's peak RSS.

Usage: .venv/bin/python benchmarks/bench_prepare.py [--images 96] [--batch 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.categories import CategoryClassifier, decide, needs_faces  # noqa: E402
from generator.decode import DecodePolicy, decode_image  # noqa: E402
from generator.faces import FaceDetector  # noqa: E402
from generator.quality import QualityThresholds, first_failure, measure  # noqa: E402
from generator.resize import ResizeMode, fit_within, resize_square  # noqa: E402
from generator.text_regions import text_score  # noqa: E402
from generator.tiny import VIT_B32_ARCH, random_clip  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "motorcycle_left")


def make_images(count: int, seed: int = 0) -> list[bytes]:
    from skimage import data

    rng = np.random.default_rng(seed)
    sources = []
    for name in PHOTOS:
        if not hasattr(data, name):
            continue
        try:
            pixels = np.asarray(getattr(data, name)())
        except Exception:  # a photo that needs an optional download
            continue
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        sources.append(Image.fromarray(pixels[..., :3].astype(np.uint8)))
    images = []
    for index in range(count):
        source = sources[index % len(sources)]
        side = int(rng.integers(600, 2400))
        scale = side / max(source.size)
        resized = source.resize((round(source.width * scale), round(source.height * scale)))
        buffer = io.BytesIO()
        if index % 3 == 2:
            resized.save(buffer, format="PNG", compress_level=6)
        else:
            resized.save(buffer, format="JPEG", quality=int(rng.integers(60, 95)))
        images.append(buffer.getvalue())
    return images


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    images: list[bytes],
    classifier: CategoryClassifier,
    faces: FaceDetector,
    batch: int,
    size: int,
) -> dict[str, Any]:
    policy = DecodePolicy(max_pixels=40_000_000, min_side=max(size, 512))
    limits = QualityThresholds()
    timings = {"decode": 0.0, "filters": 0.0, "clip": 0.0, "faces": 0.0}
    outcomes: dict[str, int] = {}
    pending: list[tuple[np.ndarray, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        start = time.perf_counter()
        probabilities = classifier.probabilities([clip_input for clip_input, _ in pending])
        timings["clip"] += time.perf_counter() - start
        for (_, face_view), probs in zip(pending, probabilities, strict=True):
            found = None
            if needs_faces(probs):
                start = time.perf_counter()
                found = faces.detect(face_view)
                timings["faces"] += time.perf_counter() - start
            verdict = decide(probs, min_confidence=0.0, faces=found)
            outcomes[verdict.category] = outcomes.get(verdict.category, 0) + 1
        pending.clear()

    wall = time.perf_counter()
    for data in images:
        start = time.perf_counter()
        decoded = decode_image(data, policy)
        timings["decode"] += time.perf_counter() - start
        start = time.perf_counter()
        resize_square(decoded.rgb, size, ResizeMode.STRETCH)
        rule = first_failure(measure(decoded), limits)
        text = text_score(decoded.rgb)
        clip_input = classifier.preprocess(decoded.rgb)
        face_view = fit_within(decoded.rgb, 384)
        timings["filters"] += time.perf_counter() - start
        if rule is not None or text > 0.1:
            outcomes["rejected by filters"] = outcomes.get("rejected by filters", 0) + 1
            continue
        pending.append((clip_input, face_view))
        if len(pending) >= batch:
            flush()
    flush()
    seconds = time.perf_counter() - wall
    return {
        "clip_batch": batch,
        "images": len(images),
        "seconds": round(seconds, 2),
        "images_per_second": round(len(images) / seconds, 2),
        "seconds_by_part": {k: round(v, 2) for k, v in timings.items()},
        "clip_ms_per_image": round(1000 * timings["clip"] / max(1, len(images)), 1),
        "outcomes": outcomes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    images = make_images(args.images)
    start = time.perf_counter()
    classifier = CategoryClassifier(random_clip(VIT_B32_ARCH).to(device), device)
    label_seconds = time.perf_counter() - start
    faces = FaceDetector()
    run(images[:4], classifier, faces, args.batch, args.size)  # warm-up: allocator, kernels
    rows = [
        run(images, classifier, faces, 1, args.size),
        run(images, classifier, faces, args.batch, args.size),
    ]
    rows[1]["speedup"] = round(rows[1]["images_per_second"] / rows[0]["images_per_second"], 2)
    result = {
        "benchmark": "prepare",
        "device": str(device) if device.type != "cpu" else f"cpu ({args.threads} threads)",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "model": "random-weight CLIP ViT-B/32 (full size)",
        "config": {"images": args.images, "size": args.size, "batch": args.batch},
        "input_megabytes": round(sum(len(i) for i in images) / 1e6, 1),
        "label_embeddings_seconds": round(label_seconds, 1),
        "rows": rows,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "prepare.json" if device.type == "cpu" else f"prepare_{device.type}.json"
    (args.out / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
