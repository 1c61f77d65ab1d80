"""The init image: the source resized to the generation size with OpenCV, three ways.

- `stretch` (the study's way: `cv2.resize` to side x side, whatever the aspect ratio);
- `crop`: the centred square, then resized (keeps proportions, loses the edges);
- `pad`: the whole image fitted inside the square on a white ground (keeps everything).

Shrinking uses area interpolation (no aliasing), enlarging bicubic.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np

PAD_COLOUR = (255, 255, 255)  # the same white that transparency is flattened onto


class ResizeMode(StrEnum):
    STRETCH = "stretch"
    CROP = "crop"
    PAD = "pad"


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width * height < rgb.shape[0] * rgb.shape[1]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=method)


def resize_square(rgb: np.ndarray, side: int, mode: ResizeMode | str) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [side, side, 3]."""
    mode = ResizeMode(mode)
    height, width = rgb.shape[:2]
    if mode is ResizeMode.STRETCH:
        return _resize(rgb, side, side)
    if mode is ResizeMode.CROP:
        edge = min(height, width)
        top, left = (height - edge) // 2, (width - edge) // 2
        return _resize(rgb[top : top + edge, left : left + edge], side, side)
    scale = side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    fitted = _resize(rgb, new_w, new_h)
    top, left = (side - new_h) // 2, (side - new_w) // 2
    return cv2.copyMakeBorder(
        fitted, top, side - new_h - top, left, side - new_w - left,
        cv2.BORDER_CONSTANT, value=PAD_COLOUR,
    )  # fmt: skip


def fit_within(rgb: np.ndarray, longest: int) -> np.ndarray:
    """Shrink (never enlarge) so the longer side is at most `longest`, keeping proportions."""
    height, width = rgb.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return rgb
    return _resize(rgb, max(1, round(width * scale)), max(1, round(height * scale)))
