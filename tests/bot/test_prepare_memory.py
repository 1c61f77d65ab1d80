"""Preparation streams: the peak memory of `bot prepare` over 900 images is the peak over
100 (each image is decoded, scored and let go; CLIP batches are small and fixed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, Listing
from tests.generator.images import encode, photo

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera")
RUN = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss, file=sys.stderr))\n"
    "from bot.cli.app import main\n"
    "sys.argv = ['bot', *sys.argv[1:]]\n"
    "main()\n"
)


def _sources(count: int) -> list[bytes]:
    rng = np.random.default_rng(5)
    images = []
    for index in range(count):
        source = Image.fromarray(photo(PHOTOS[index % len(PHOTOS)]))
        side = int(rng.integers(520, 900))
        scale = side / max(source.size)
        image = source.resize((round(source.width * scale), round(source.height * scale)))
        images.append(encode(image, "PNG" if index % 4 == 0 else "JPEG", quality=85))
    return images


def _prepare(data_dir: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "BOT_DATA_DIR": str(data_dir), "BOT_ALLOW_SMOKE_TEST_MODELS": "true"}
    completed = subprocess.run(
        [sys.executable, "-c", RUN, "prepare", "--size", "64", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    peak = [line for line in completed.stderr.splitlines() if line.startswith("PEAK_KIB")]
    assert peak, completed.stderr[-2000:]
    return int(peak[0].split()[1]) // 1024, completed.stdout


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_peak_memory_does_not_grow_with_the_number_of_images(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    blobs = BlobStore(data_dir / "blobs")
    sources = [blobs.put_bytes(data).sha256 for data in _sources(40)]
    with session_scope(engine) as session:
        for index in range(1000):
            listing = Listing(
                source="test", marketplace="hive", item_id=f"m{index}",
                image_blob=sources[index % len(sources)],
            )  # fmt: skip
            session.add(listing)
            session.flush()
            session.add(Artwork(listing_id=listing.id or 0, rank=index + 1))
    engine.dispose()
    first_peak, first = _prepare(data_dir, "--limit", "100")
    rest_peak, rest = _prepare(data_dir)
    assert first.count("artwork ") >= 100 and rest.count("artwork ") >= 900
    print(f"peak RSS: {first_peak} MiB over 100 images, {rest_peak} MiB over 900 more")
    assert rest_peak - first_peak < 150, (first_peak, rest_peak)
    assert rest_peak < 2048
