"""Preprocessing of source images into init images."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError


class NotAStillImage(ValueError):
    pass


def decode_still_image(data: bytes, *, max_pixels: int = 64_000_000) -> Image.Image:
    """Decode bytes into an RGB image; refuse anything that is not one decodable still frame.

    Transparency is flattened onto white (NFT art often has alpha; black would darken it).
    """
    Image.MAX_IMAGE_PIXELS = None  # we enforce our own cap below, with a clear message
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.width * image.height > max_pixels:
            raise NotAStillImage(f"{image.width}x{image.height} is above {max_pixels} pixels")
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            raise NotAStillImage(f"animated {image.format} with {frames} frames")
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, NotAStillImage):
            raise
        raise NotAStillImage(f"cannot decode the image ({exc})") from exc
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def square_crop_resize(image: Image.Image, side: int) -> Image.Image:
    """Centre-crop to a square, then Lanczos-resize to side x side (keeps the aspect ratio of
    the content, unlike the reference's plain resize, which squashes non-square NFTs)."""
    return ImageOps.fit(image, (side, side), method=Image.Resampling.LANCZOS)


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
