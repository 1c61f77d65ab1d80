"""The models `prepare` needs: the generator's CLIP (through the weights registry) wrapped as a
category classifier, and the face detector, each loaded once and only when first needed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.categories import CategoryClassifier
    from generator.faces import FaceDetector

log = logging.getLogger(__name__)
SMOKE_TEST_CATEGORIES = (
    "SMOKE TEST: the CLIP weights are missing, so categories come from a tiny UNTRAINED "
    "random-weight CLIP. They are noise: expect nearly everything to be 'other'."
)


class ClipUnavailable(RuntimeError):
    """No CLIP to categorise with; the message says what is missing and how to get it."""


@dataclass
class CategoryModel:
    classifier: CategoryClassifier
    label: str  # the weights, e.g. clip_vit_b32
    smoke_test: bool
    _faces: FaceDetector | None = field(default=None, repr=False)

    def faces(self) -> FaceDetector:
        if self._faces is None:
            from generator.faces import FaceDetector

            self._faces = FaceDetector()
        return self._faces


def load_category_model(
    cache_dir: Path, clip_name: str, device: str, *, allow_smoke_test_models: bool = False
) -> CategoryModel:
    """The configured CLIP as a classifier; the tiny untrained one only if it is missing AND
    that is allowed; ClipUnavailable otherwise."""
    from generator.batching import resolve_device
    from generator.categories import CategoryClassifier
    from generator.tiny import write_smoke_test_weights
    from generator.weights import MissingWeights, WeightsStore

    target = resolve_device(device)
    store = WeightsStore(cache_dir)
    try:
        clip = store.load_clip(clip_name, target)
        return CategoryModel(CategoryClassifier(clip, target), clip_name, smoke_test=False)
    except MissingWeights as exc:
        if not allow_smoke_test_models:
            raise ClipUnavailable(
                f"CLIP is needed to categorise and {exc}. Or set "
                "BOT_ALLOW_SMOKE_TEST_MODELS=true for a tiny untrained CLIP (noise), or give "
                "categories by hand (bot categorize, bot labels import)"
            ) from None
    _vqgan, smoke_clip = write_smoke_test_weights(cache_dir)
    log.warning(SMOKE_TEST_CATEGORIES)
    clip = store.load_clip(smoke_clip, target)
    label = f"{smoke_clip} (untrained smoke test)"
    return CategoryModel(CategoryClassifier(clip, target), label, smoke_test=True)
