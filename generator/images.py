"""Image <-> tensor and PNG helpers for the generator (decoding untrusted bytes is
`generator.decode`; the init image is made by `generator.resize`)."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def image_to_tensor(image: Image.Image, side: int) -> torch.Tensor:
    """PIL -> float tensor [3, side, side] in [0, 1] (resized if needed)."""
    if image.size != (side, side):
        image = image.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def encode_png(pixels: np.ndarray, text: dict[str, str]) -> bytes:
    """uint8 [H, W, 3] -> PNG bytes with tEXt chunks (prompt, seed, iteration, ...)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG", pnginfo=info, compress_level=4)
    return buffer.getvalue()
