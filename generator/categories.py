"""The study's five categories by CLIP zero-shot, with prompt ensembles and an `other` outcome.

Each label's text embedding is the normalised mean of its descriptions x templates (CLIP's
prompt ensembling). Besides the five categories there is an `other` label (abstract art,
patterns, text, logos, ...), so an image of none of the five has somewhere to go; the image is
also `other` when no label is confident enough. `other` is excluded from generation, as in the
study.

Faces versus People gets a second signal (generator/faces.py): when CLIP's Faces and People
together could win, the face detector looks; if it finds a face, the two probabilities are
pooled (a person is there) and the size of the largest face decides which: at least
`face_min_area` of the image is Faces (a portrait), smaller is People.

The model is the generator's own CLIP, passed in (loaded once through the weights registry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from generator.category_names import DESCRIPTIONS, HUMAN, LABELS, OTHER, TEMPLATES
from generator.clip_model import CLIP_MEAN, CLIP_STD
from generator.faces import Faces


@dataclass(frozen=True)
class CategoryDecision:
    category: str  # one of CATEGORIES, or OTHER
    confidence: float  # the probability of `category` (pooled Faces+People when faces decided)
    runner_up: str  # the best other label
    runner_up_confidence: float
    reason: str | None  # why the image is `other`; None when it has a category
    detail: str  # one line for the output, e.g. "Scenery 0.81 (runner-up Objects 0.09)"


def needs_faces(probabilities: Mapping[str, float]) -> bool:
    """Whether the face detector could change the outcome: Faces+People together beat the
    best of the rest."""
    pooled = sum(probabilities.get(label, 0.0) for label in HUMAN)
    rest = max(p for label, p in probabilities.items() if label not in HUMAN)
    return pooled >= rest


def decide(
    probabilities: Mapping[str, float],
    *,
    min_confidence: float,
    faces: Faces | None = None,
    face_min_area: float = 0.03,
) -> CategoryDecision:
    """The category (or `other`) from CLIP's label probabilities and the face signal."""
    probs = dict(probabilities)
    face_note = ""
    if faces is not None and faces.count > 0:
        pooled = sum(probs.pop(label, 0.0) for label in HUMAN)
        chosen = "Faces" if faces.largest_area >= face_min_area else "People"
        probs[chosen] = pooled
        face_note = (
            f", Faces+People pooled: face covering {faces.largest_area:.0%} of the image "
            f"{'≥' if chosen == 'Faces' else '<'} {face_min_area:.0%}"
        )
    ranked = sorted(probs.items(), key=lambda item: (-item[1], LABELS.index(item[0])))
    (top, top_p), (second, second_p) = ranked[0], ranked[1]
    if top == OTHER:
        best, best_p = next((label, p) for label, p in ranked if label != OTHER)
        reason = (
            f"category other: CLIP matches none of the five best (other {top_p:.2f}; best "
            f"category {best} {best_p:.2f})"
        )
        return CategoryDecision(OTHER, top_p, best, best_p, reason, reason + face_note)
    if top_p < min_confidence:
        other_p = probs.get(OTHER, 0.0)
        reason = (
            f"no confident category: {top} {top_p:.2f} under {min_confidence:.2f} "
            f"(next {second} {second_p:.2f})"
        )
        return CategoryDecision(OTHER, other_p, top, top_p, reason, reason + face_note)
    detail = f"{top} {top_p:.2f} (runner-up {second} {second_p:.2f}{face_note})"
    return CategoryDecision(top, top_p, second, second_p, None, detail)


class CategoryClassifier:
    """CLIP zero-shot over LABELS. The label embeddings are computed once, at construction."""

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        import clip

        self.model = model
        self.device = torch.device(device)
        self.resolution: int = model.visual.input_resolution  # type: ignore[union-attr,assignment]
        self._mean = np.asarray(CLIP_MEAN, dtype=np.float32)
        self._std = np.asarray(CLIP_STD, dtype=np.float32)
        features = []
        with torch.no_grad():
            for label in LABELS:
                prompts = [t.format(d) for d in DESCRIPTIONS[label] for t in TEMPLATES]
                tokens = clip.tokenize(prompts).to(self.device)
                encoded = model.encode_text(tokens).float()  # type: ignore[operator]
                encoded = encoded / encoded.norm(dim=-1, keepdim=True)
                mean = encoded.mean(dim=0)
                features.append(mean / mean.norm())
            self.label_features = torch.stack(features)  # [labels, embed]
            self.logit_scale = float(model.logit_scale.exp())  # type: ignore[operator]

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        """CLIP's own view: shorter side to the input resolution (bicubic), centre crop,
        normalised; float32 [3, R, R]."""
        height, width = rgb.shape[:2]
        scale = self.resolution / min(height, width)
        new_w = max(self.resolution, round(width * scale))
        new_h = max(self.resolution, round(height * scale))
        method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=method)
        top, left = (new_h - self.resolution) // 2, (new_w - self.resolution) // 2
        crop = resized[top : top + self.resolution, left : left + self.resolution]
        pixels = (crop.astype(np.float32) / 255.0 - self._mean) / self._std
        return np.ascontiguousarray(pixels.transpose(2, 0, 1))

    def probabilities(self, images: Sequence[np.ndarray]) -> list[dict[str, float]]:
        """Label probabilities for preprocessed images (one forward pass for the batch)."""
        if not images:
            return []
        batch = torch.from_numpy(np.stack(images)).to(self.device)
        with torch.no_grad():
            features = self.model.encode_image(batch).float()  # type: ignore[operator]
            features = features / features.norm(dim=-1, keepdim=True)
            logits = self.logit_scale * features @ self.label_features.T
            probs = logits.softmax(dim=-1).cpu().numpy()
        return [dict(zip(LABELS, (float(p) for p in row), strict=True)) for row in probs]
