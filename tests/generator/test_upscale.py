"""Upscaling: a random-weight RRDBNet (spandrel's ESRGAN) in Real-ESRGAN's `.pth` layout, found
and loaded through the real registry and weights store; tiling equals the whole image."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from PIL import Image
from skimage import data as photos

from generator import registry
from generator.download import ChecksumMismatch
from generator.tiny import random_esrgan_state, save_esrgan_checkpoint
from generator.upscale import TileSettings, image_to_tensor, run_tiled, upscale_image
from generator.weights import WeightsStore

CPU = torch.device("cpu")
TINY = {"num_filters": 8, "num_blocks": 1}


def place(cache: Path, name: str, scale: int) -> Path:
    """Put a random-weight model where a download of `name` would land."""
    target = cache / name / registry.get_spec(name).checkpoint.filename
    save_esrgan_checkpoint(random_esrgan_state(scale, **TINY), target)
    return target


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WeightsStore:
    cache = tmp_path_factory.mktemp("upscalers")
    place(cache, "realesrgan_x4plus", 4)
    place(cache, "realesrgan_x2plus", 2)
    return WeightsStore(cache)


def test_the_registry_pins_real_esrgan_urls_and_digests() -> None:
    x4, x2 = registry.get_spec("realesrgan_x4plus"), registry.get_spec("realesrgan_x2plus")
    assert x4.kind is registry.WeightKind.UPSCALER
    assert x4.checkpoint.url == (
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth"
    )
    assert x2.checkpoint.url.endswith("/v0.2.1/RealESRGAN_x2plus.pth")
    assert x4.checkpoint.sha256 and len(x4.checkpoint.sha256) == 64
    assert x2.checkpoint.sha256 and x2.checkpoint.sha256 != x4.checkpoint.sha256


@pytest.mark.parametrize(("name", "scale"), [("realesrgan_x4plus", 4), ("realesrgan_x2plus", 2)])
def test_hand_placed_weights_convert_and_load_with_spandrel(
    store: WeightsStore, name: str, scale: int
) -> None:
    model = store.load_upscaler(name)
    assert store.status(name).state == "converted"
    assert model.architecture.id == "ESRGAN" and model.scale == scale
    image = Image.fromarray(photos.astronaut()).resize((24, 20))
    out = upscale_image(model, image, scale=scale, settings=TileSettings(0, 0), device=CPU)
    assert out.size == (24 * scale, 20 * scale)


@pytest.mark.parametrize("name", ["realesrgan_x4plus", "realesrgan_x2plus"])
def test_tiled_output_equals_the_untiled_output(store: WeightsStore, name: str) -> None:
    model = store.load_upscaler(name)
    pixels = image_to_tensor(Image.fromarray(photos.chelsea()).resize((90, 70)))
    whole = run_tiled(model, pixels, model.scale, TileSettings(0, 0), device=CPU)
    seen: list[tuple[int, int]] = []
    tiled = run_tiled(
        model,
        pixels,
        model.scale,
        TileSettings(32, 16),
        device=CPU,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (9, 9)  # 3 × 3 tiles, the last ones ragged
    assert whole.shape == tiled.shape == (1, 3, 70 * model.scale, 90 * model.scale)
    assert float((whole - tiled).abs().max()) < 1e-4  # well below one grey level (1/255)
    # no overlap at all leaves visible seams: the context is what makes tiles agree
    bare = run_tiled(model, pixels, model.scale, TileSettings(32, 0), device=CPU)
    assert float((whole - bare).abs().max()) > 1e-3


def test_a_wanted_scale_other_than_the_models_is_resized(store: WeightsStore) -> None:
    model = store.load_upscaler("realesrgan_x4plus")
    image = Image.new("RGB", (16, 12), (200, 30, 30))
    assert upscale_image(model, image, scale=2, settings=TileSettings(0, 0), device=CPU).size == (
        32,
        24,
    )


def test_tile_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        TileSettings(8, 0)
    with pytest.raises(ValueError, match="negative"):
        TileSettings(64, -1)


class _Serve(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served_checkpoint(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "random.pth"
    save_esrgan_checkpoint(random_esrgan_state(4, **TINY), path)
    _Serve.body = path.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RealESRGAN_x4plus.pth"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_download_with_other_bytes_than_the_pinned_digest_is_refused(
    tmp_path: Path, served_checkpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = registry.get_spec("realesrgan_x4plus")
    moved = replace(spec, files=(replace(spec.checkpoint, url=served_checkpoint),))
    monkeypatch.setitem(registry.REGISTRY, spec.name, moved)
    store = WeightsStore(tmp_path / "cache")
    with pytest.raises(ChecksumMismatch, match=spec.checkpoint.sha256 or "-"):
        store.download(spec.name, progress=False)
    assert not (tmp_path / "cache" / spec.name / spec.checkpoint.filename).exists()
