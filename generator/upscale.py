"""Super-resolution of the chosen frame with an ESRGAN-family model (loaded with spandrel).

Tiled for bounded memory: the image is cut into `tile`×`tile` squares, each run through the
network with `overlap` pixels of real context on every side (less at the image border), and only
the tile's own part of the output is kept. A pixel's output depends on the input within the
network's receptive field, so with enough context the tiled image equals the untiled one (the
tests check it); a modest overlap leaves differences well below one grey level, with no seams.
Peak memory is one padded tile through the network plus the output image on the host.

When the configured scale differs from the model's own (x4 weights asked for x2), the model's
output is resized to the requested size with Lanczos.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

log = logging.getLogger(__name__)
MIN_TILE = 32
Progress = Callable[[int, int], None]  # (tiles done, tiles in all)


@dataclass(frozen=True)
class TileSettings:
    tile: int = 256  # input pixels per tile side; 0 = the whole image at once
    overlap: int = 16  # input pixels of context around each tile

    def __post_init__(self) -> None:
        if self.tile and self.tile < MIN_TILE:
            raise ValueError(f"tile must be 0 (no tiling) or at least {MIN_TILE}")
        if self.overlap < 0:
            raise ValueError("overlap must not be negative")


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    array = tensor.squeeze(0).clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array, mode="RGB")


def _tiles(length: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, length)) for start in range(0, length, tile)]


@torch.inference_mode()
def run_tiled(
    model: Callable[[torch.Tensor], torch.Tensor],
    pixels: torch.Tensor,
    scale: int,
    settings: TileSettings,
    *,
    device: torch.device,
    progress: Progress | None = None,
) -> torch.Tensor:
    """[1, 3, H, W] in [0, 1] (host) -> [1, 3, H·scale, W·scale] (host), one tile at a time."""
    _, channels, height, width = pixels.shape
    tile = settings.tile or max(height, width)
    rows, cols = _tiles(height, tile), _tiles(width, tile)
    out = torch.empty((1, channels, height * scale, width * scale), dtype=torch.float32)
    done, total = 0, len(rows) * len(cols)
    for top, bottom in rows:
        for left, right in cols:
            pad_top, pad_left = max(0, top - settings.overlap), max(0, left - settings.overlap)
            pad_bottom = min(height, bottom + settings.overlap)
            pad_right = min(width, right + settings.overlap)
            piece = pixels[:, :, pad_top:pad_bottom, pad_left:pad_right].to(device)
            result = model(piece).float()
            y0, x0 = (top - pad_top) * scale, (left - pad_left) * scale
            kept = result[:, :, y0 : y0 + (bottom - top) * scale, x0 : x0 + (right - left) * scale]
            out[:, :, top * scale : bottom * scale, left * scale : right * scale] = kept.cpu()
            done += 1
            if progress is not None:
                progress(done, total)
    return out


def upscale_image(
    model: object,
    image: Image.Image,
    *,
    scale: int,
    settings: TileSettings,
    device: torch.device,
    progress: Progress | None = None,
) -> Image.Image:
    """Upscale `image` by `scale` with a spandrel `ImageModelDescriptor`.

    A CUDA out-of-memory error halves the tile and starts over (down to MIN_TILE)."""
    native = int(getattr(model, "scale", 0))
    if native < 1:
        raise ValueError("the upscaler does not say its scale")
    pixels = image_to_tensor(image)
    current = settings
    while True:
        try:
            result = run_tiled(
                model,  # type: ignore[arg-type]
                pixels,
                native,
                current,
                device=device,
                progress=progress,
            )
            break
        except torch.cuda.OutOfMemoryError:
            side = current.tile or max(image.size)
            if side // 2 < MIN_TILE:
                raise
            torch.cuda.empty_cache()
            log.warning("upscaling ran out of GPU memory at tile %d; trying %d", side, side // 2)
            current = TileSettings(side // 2, current.overlap)
    upscaled = tensor_to_image(result)
    wanted = (image.width * scale, image.height * scale)
    if upscaled.size != wanted:
        upscaled = upscaled.resize(wanted, Image.Resampling.LANCZOS)
    return upscaled
