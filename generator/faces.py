"""Faces: the second signal for Faces versus People.

OpenCV's bundled Haar frontal-face cascade (`cv2.data.haarcascades`, shipped inside
opencv-python, so nothing is downloaded). The project pins OpenCV 4.x for it: OpenCV 5 moved
`CascadeClassifier` out of the main modules and ships no cascade files.

It finds upright, roughly frontal photographic faces; painted, stylised or profile faces are
often missed, which is why CLIP's choice stands when it finds none. The prepare stage only asks
it when CLIP's best label is Faces or People. Measured on scikit-image's photographs: the
astronaut's face is found, nothing on the cat (chelsea), the coffee cup, the rocket, coins,
grass or eleven others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

    CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false faces than default

    def __init__(self) -> None:
        path = Path(cv2.data.haarcascades) / self.CASCADE  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV's face cascade is missing or unreadable: {path}")

    def detect(self, rgb: np.ndarray) -> Faces:
        image = fit_within(rgb, ANALYSIS_SIDE)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        side = min(height, width)
        smallest = max(24, side // 10)
        if side < smallest:
            return Faces(0, 0.0)
        found = self._cascade.detectMultiScale(
            gray,
            scaleFactor=_SCALE_STEP,
            minNeighbors=_MIN_NEIGHBOURS,
            minSize=(smallest, smallest),
        )
        if len(found) == 0:
            return Faces(0, 0.0)
        largest = max(int(w) * int(h) for _x, _y, w, h in found)
        return Faces(len(found), largest / (height * width))
