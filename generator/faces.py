"""Faces: the second signal for Faces versus People.

The issue asked for OpenCV's bundled Haar cascade (`cv2.data.haarcascades`). OpenCV 5, which
the project installs, no longer has it: `cv2.CascadeClassifier` left the main modules and
`cv2.data` ships no cascade files (its only built-in face detector, `FaceDetectorYN`, needs an
ONNX model downloaded from elsewhere). The same kind of detector, OpenCV's trained LBP
frontal-face cascade, ships inside scikit-image with an evaluator (`skimage.feature.Cascade`),
so it needs no download either, and that is what runs here.

It finds upright, roughly frontal photographic faces; painted, stylised or profile faces are
often missed, which is why CLIP's choice stands when it finds none. It costs about 0.3 s per
image on one CPU core, so the prepare stage only asks it when CLIP's best label is Faces or
People. Measured on scikit-image's photographs: the astronaut's face is found (a box of 4% of
the image), nothing on the cat (chelsea), the coffee cup, the rocket or eight others; 62 of the
first 100 faces of the LFW subset (200 px) and none of its 100 non-faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from generator.resize import fit_within

ANALYSIS_SIDE = 384
_SCALE_STEP = 1.2
_MIN_NEIGHBOURS = 6


@dataclass(frozen=True)
class Faces:
    count: int
    largest_area: float  # the largest face's box as a share of the image (0-1)


class FaceDetector:
    """Load the cascade once; `detect` may then be called for every image."""

    def __init__(self) -> None:
        from skimage.data import lbp_frontal_face_cascade_filename
        from skimage.feature import Cascade

        self._cascade = Cascade(lbp_frontal_face_cascade_filename())

    def detect(self, rgb: np.ndarray) -> Faces:
        image = fit_within(rgb, ANALYSIS_SIDE)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        side = min(height, width)
        smallest = max(24, side // 10)
        if side < smallest:
            return Faces(0, 0.0)
        found = self._cascade.detect_multi_scale(
            img=gray,
            scale_factor=_SCALE_STEP,
            step_ratio=1,
            min_size=(smallest, smallest),
            max_size=(side, side),
            min_neighbor_number=_MIN_NEIGHBOURS,
        )
        if not found:
            return Faces(0, 0.0)
        largest = max(int(box["width"]) * int(box["height"]) for box in found)
        return Faces(len(found), largest / (height * width))
