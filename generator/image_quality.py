"""Sharpness and artifact measures of one image: no model, a few milliseconds each.

- sharpness: variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000). Blur
  removes high frequencies and lowers it; it is scale-dependent, so compare frames of one
  artwork (same size) with each other, not across sizes.
- colourfulness: Hasler & Süsstrunk (2003), `sqrt(sd_rg² + sd_yb²) + 0.3·sqrt(m_rg² + m_yb²)`
  on the opponent channels rg = R−G and yb = (R+G)/2 − B (0 for a grey image, ~100+ very
  colourful).
- blockiness: how much stronger the intensity steps are on a block grid than between it
  (1.0 = no grid; JPEG's 8×8 blocks and a VQGAN's 16×16 token seams raise it). The larger of the
  8- and 16-pixel grids is reported.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BLOCK_SIZES = (8, 16)


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


def sharpness(image: Image.Image) -> float:
    import cv2

    return float(cv2.Laplacian(_grey(image), cv2.CV_64F, ksize=3).var())


def colourfulness(image: Image.Image) -> float:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * mean)


def blockiness(image: Image.Image, block_sizes: tuple[int, ...] = BLOCK_SIZES) -> float:
    """Mean |step| across block boundaries over the mean |step| elsewhere (max over grids)."""
    grey = _grey(image)
    steps_x = np.abs(np.diff(grey, axis=1))  # step between column j and j+1
    steps_y = np.abs(np.diff(grey, axis=0))
    worst = 1.0
    for block in block_sizes:
        if min(grey.shape) < 2 * block:
            continue
        ratios = []
        for steps in (steps_x, steps_y.T):
            boundary = np.zeros(steps.shape[1], dtype=bool)
            boundary[block - 1 :: block] = True  # the step from the last pixel of a block
            inside = steps[:, ~boundary].mean()
            across = steps[:, boundary].mean()
            ratios.append((across + 1e-3) / (inside + 1e-3))
        worst = max(worst, float(np.mean(ratios)))
    return worst
