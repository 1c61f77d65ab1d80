"""Real photographs (scikit-image's bundled ones) in every shape the wild sends: the inputs of
the decoding, quality and category tests. Nothing here is downloaded."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "the",
         "cat", "sleeps", "on", "a", "warm", "mat", "near", "the", "door")  # fmt: skip


def photo(name: str) -> np.ndarray:
    """uint8 RGB [H, W, 3] of a scikit-image sample (astronaut, chelsea, coffee, ...)."""
    pixels = np.asarray(getattr(data, name)())
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3].astype(np.uint8))


def encode(image: Image.Image | np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if Path(FONT).is_file():
        return ImageFont.truetype(FONT, size)
    return ImageFont.load_default(size=size)


def text_page(
    size: tuple[int, int] = (800, 1000),
    font_size: int = 24,
    background: tuple[int, int, int] = (255, 255, 255),
    ink: tuple[int, int, int] = (0, 0, 0),
    lines: int = 20,
    seed: int = 0,
) -> np.ndarray:
    """A page of printed words (a document, a tweet, a quote): what the text filter is for."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    face = font(font_size)
    for line in range(lines):
        words = " ".join(str(w) for w in rng.choice(WORDS, 6))
        draw.text((20, 20 + line * font_size * 1.6), words, font=face, fill=ink)
    return np.asarray(image)


def video_bytes(tmp_path: Path, extension: str = "mp4", fourcc: str = "mp4v") -> bytes:
    """A real five-frame video written by OpenCV's bundled FFmpeg."""
    path = tmp_path / f"clip.{extension}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 5, (64, 64))
    for frame in range(5):
        writer.write(np.full((64, 64, 3), frame * 40, np.uint8))
    writer.release()
    return path.read_bytes()


def animated(fmt: str, frames: int = 3) -> bytes:
    first = Image.fromarray(photo("astronaut")).resize((64, 64))
    rest = [Image.new("RGB", (64, 64), (255, 0, 40 * i)) for i in range(frames - 1)]
    return encode(first, fmt, save_all=True, append_images=rest, duration=100, loop=0)
