"""Quality scores of a prepared image and the thresholds that reject it.

Scores (each stored on the artwork, each threshold a setting), measured on the source stretched
to 512 x 512 whatever the generation size:
- source size: the shorter side of the source, in pixels;
- sharpness: the variance of the Laplacian of the luma (low = blurry);
- single colour: the share of pixels in the most common colour, colours quantised to 3 bits
  per channel (high = blank or one flat colour);
- contrast: the standard deviation of the luma, 0-255 (low = near-blank);
- JPEG blocking: how much larger the luma steps across the 8x8 block boundaries are than the
  steps inside the blocks (about 1 for a clean image), measured on a grid-aligned crop at
  decode scale. Only for JPEG sources: an upscaled pixel-art PNG has perfect 8-pixel edges
  that are art, not compression.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from generator.decode import DecodedImage
from generator.resize import ResizeMode, resize_square

ANALYSIS_SIDE = 512


@dataclass(frozen=True)
class QualityScores:
    source_width: int
    source_height: int
    sharpness: float
    single_colour: float
    contrast: float
    blockiness: float | None  # None: not a JPEG, or blocks below 2 px at decode scale


@dataclass(frozen=True)
class QualityThresholds:
    """Defaults as the settings' (BOT_PREPARE_*), calibrated on scikit-image's photographs:
    a Gaussian blur of sigma 3 brings sharpness from 54-5300 down to 1.3-4.6; JPEG quality 5
    gives blockiness 2.7-13, quality 90 about 1.0-1.1 (2.0 on the smooth moon photo)."""

    min_side: int = 256
    min_sharpness: float = 5.0
    max_single_colour: float = 0.98
    min_contrast: float = 5.0
    max_blockiness: float = 2.5


def measure(decoded: DecodedImage) -> QualityScores:
    """Scores at a fixed analysis size (512 x 512, stretched), whatever the generation size,
    so the thresholds mean the same at every BOT_GENERATOR_SIZE."""
    view = resize_square(decoded.rgb, ANALYSIS_SIDE, ResizeMode.STRETCH)
    gray = cv2.cvtColor(view, cv2.COLOR_RGB2GRAY)
    blocks = None
    if decoded.block_probe is not None and decoded.block_period >= 2:
        blocks = blockiness(decoded.block_probe, decoded.block_period)
    return QualityScores(
        source_width=decoded.width,
        source_height=decoded.height,
        sharpness=float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        single_colour=single_colour_share(view),
        contrast=float(gray.std()),
        blockiness=blocks,
    )


def single_colour_share(rgb: np.ndarray) -> float:
    quantised = (rgb >> 5).astype(np.int32)
    codes = (quantised[..., 0] << 6) | (quantised[..., 1] << 3) | quantised[..., 2]
    counts = np.bincount(codes.ravel(), minlength=512)
    return float(counts.max() / codes.size)


def blockiness(luma: np.ndarray, period: int) -> float:
    """Mean |step| across block boundaries / mean |step| inside blocks, both directions."""
    values = luma.astype(np.float32)
    across = within = 0.0
    for axis in (0, 1):
        steps = np.abs(np.diff(values, axis=axis))
        boundary = (np.arange(steps.shape[axis]) % period) == period - 1
        if axis == 0:
            across += float(steps[boundary, :].mean())
            within += float(steps[~boundary, :].mean())
        else:
            across += float(steps[:, boundary].mean())
            within += float(steps[:, ~boundary].mean())
    if across + within < 0.5:  # flat: nothing to measure
        return 1.0
    return across / max(within, 0.25)


def first_failure(scores: QualityScores, limits: QualityThresholds) -> str | None:
    """The first quality rule the image breaks, as 'kind: detail', or None."""
    side = min(scores.source_width, scores.source_height)
    if side < limits.min_side:
        return (
            f"too small: the source is {scores.source_width}x{scores.source_height}, shorter "
            f"side under {limits.min_side} px"
        )
    if scores.single_colour > limits.max_single_colour:
        return (
            f"near-blank: {scores.single_colour:.0%} of the pixels are one colour "
            f"(over {limits.max_single_colour:.0%})"
        )
    if scores.contrast < limits.min_contrast:
        return f"low contrast: luma spread {scores.contrast:.1f} under {limits.min_contrast:g}"
    if scores.sharpness < limits.min_sharpness:
        return (
            f"blurry: sharpness {scores.sharpness:.1f} (variance of the Laplacian) under "
            f"{limits.min_sharpness:g}"
        )
    if scores.blockiness is not None and scores.blockiness > limits.max_blockiness:
        return (
            f"JPEG blocking: boundary steps {scores.blockiness:.2f}x the steps inside blocks "
            f"(over {limits.max_blockiness:g})"
        )
    return None
