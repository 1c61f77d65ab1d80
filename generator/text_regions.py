"""How much of an image is text: OpenCV text-line detection with morphological gradients.

The classic recipe for finding printed text without a trained model: the morphological
gradient lights up stroke edges, Otsu binarises it, a wide closing joins the letters of a word
into one line-shaped blob, and a blob counts as a text line when it is line-shaped (wider than
twice its height, of a text height, solid once closed), has enough stroke edges, and is made
of at least three separate letter-sized marks in a row. Textured photographs (grass, bricks,
coins) make blobs too, but rarely solid rows of separate marks of one height.

It runs at three scales (longest side 768, 384 and 192 px) so that small print and large
headlines are both found, and the score is the share of the image the lines cover (0-1).
On scikit-image's photographs it stays at or below 0.012; on rendered pages, tweets, quotes
and headlines it is 0.17-0.48 (tests/generator/test_text_regions.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from generator.resize import fit_within

SCALES = (768, 384, 192)
_LINE_HEIGHT = (6, 40)  # pixels, at each scale


def text_score(rgb: np.ndarray) -> float:
    """Share of the image (0-1) covered by detected text lines."""
    base = cv2.cvtColor(fit_within(rgb, SCALES[0]), cv2.COLOR_RGB2GRAY)
    height, width = base.shape
    covered = np.zeros((height, width), dtype=np.uint8)
    for side in SCALES:
        gray = fit_within(base, side) if side < max(height, width) else base
        lines = _text_lines(gray)
        if lines.shape != covered.shape:
            lines = cv2.resize(lines, (width, height), interpolation=cv2.INTER_NEAREST)
        covered |= lines
    return float(np.count_nonzero(covered) / covered.size)


def _text_lines(gray: np.ndarray) -> np.ndarray:
    gradient = cv2.morphologyEx(
        gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    )
    _, edges = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    joined = cv2.morphologyEx(
        edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1))
    )
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    mask = np.zeros(gray.shape, dtype=np.uint8)
    low, high = _LINE_HEIGHT
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (low <= h <= high) or w < 2 * h:
            continue
        if cv2.contourArea(contour) < 0.45 * w * h:
            continue
        box = edges[y : y + h, x : x + w]
        if cv2.countNonZero(box) < 0.2 * w * h or _letters(box, h) < 3:
            continue
        mask[y : y + h, x : x + w] = 255
    return mask


def _letters(box: np.ndarray, line_height: int) -> int:
    """Separate marks in the line that are letter-sized: a good part of its height tall and
    not much wider than it is high."""
    _count, _labels, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    return int(((heights >= 0.4 * line_height) & (widths <= 1.5 * line_height)).sum())
