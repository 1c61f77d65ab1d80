"""Every score of every frame of an artwork, computed in batches with models loaded once.

Scores (all "higher is better" except blockiness):
- prompt_similarity: CLIP cosine between the frame and its prompt (the positive-weight parts
  of the frame's prompt, weighted as the optimiser weighted them);
- source_similarity: CLIP image cosine between the frame and the source (the best over the
  source's orientations: as is, mirrored, flipped; and over the prepared init image and the
  original listing image when both are given);
- critic: the VQGAN discriminator's mean patch logit (`generator.critic`), from the checkpoint
  that made the frame;
- aesthetic: LAION's linear head on the CLIP embedding, when its weights are present;
- sharpness, colourfulness, blockiness: `generator.image_quality`;
- hash_distance / hash_match: the near-copy evidence of `generator.near_copy`.

A model that is not available gives None for its score; the rest are still computed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from clip.model import CLIP
from PIL import Image
from torch import nn

from generator import image_quality
from generator.aesthetic import aesthetic_scores
from generator.clip_scores import cosine, embed_images, embed_texts, to_batch
from generator.critic import critic_scores
from generator.near_copy import SourceIndex, hash_evidence, orientations
from generator.prompts import parse_prompts

log = logging.getLogger(__name__)
DiscriminatorFor = Callable[[str], nn.Module | None]


@dataclass(frozen=True)
class FrameScores:
    prompt_similarity: float | None
    source_similarity: float | None
    critic: float | None
    aesthetic: float | None
    sharpness: float
    colourfulness: float
    blockiness: float
    hash_distance: int
    hash_match: str

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


@dataclass(frozen=True)
class ScoreJob:
    """One artwork: its frames (with the prompt each was made for), sources and VQGAN."""

    key: int
    frames: Sequence[Image.Image]
    prompts: Sequence[str]
    sources: Sequence[Image.Image]  # prepared init image first, then the original, if any
    vqgan: str | None  # whose discriminator judges these frames


def prompt_texts(prompt: str) -> list[tuple[str, float]]:
    """The positive parts of a frame's prompt spec with their weights (negatives are ignored:
    they say what to avoid, not what the frame should show)."""
    try:
        parsed = parse_prompts(prompt)
    except ValueError:
        parsed = []
    positive = [(p.text, p.weight) for p in parsed if p.weight > 0]
    return positive or [(prompt, 1.0)]


class FrameScorer:
    """Scores frames with one CLIP, per-VQGAN discriminators and an optional aesthetic head.

    `discriminator_for(vqgan_name)` returns that checkpoint's discriminator (or None when its
    weights are missing); the caller caches it, so each is loaded once per process.
    """

    def __init__(
        self,
        clip_model: CLIP | None,
        device: torch.device,
        *,
        discriminator_for: DiscriminatorFor,
        aesthetic_head: nn.Linear | None = None,
        batch_size: int = 16,
    ) -> None:
        self.clip = clip_model
        self.device = device
        self.discriminator_for = discriminator_for
        self.aesthetic_head = aesthetic_head
        self.batch_size = max(1, batch_size)
        self._text_cache: dict[str, torch.Tensor] = {}

    def _text(self, text: str) -> torch.Tensor:
        assert self.clip is not None
        if text not in self._text_cache:
            self._text_cache[text] = embed_texts(self.clip, [text], self.device)[0]
        return self._text_cache[text]

    def _prompt_match(self, embeddings: torch.Tensor, prompts: Sequence[str]) -> list[float]:
        values = []
        for embedding, prompt in zip(embeddings, prompts, strict=True):
            parts = prompt_texts(prompt)
            total = sum(weight for _, weight in parts)
            values.append(
                sum(float(cosine(embedding, self._text(text))) * w for text, w in parts) / total
            )
        return values

    def score(self, job: ScoreJob) -> list[FrameScores]:
        if len(job.frames) != len(job.prompts):
            raise ValueError(f"job {job.key}: {len(job.frames)} frames, {len(job.prompts)} prompts")
        if not job.frames:
            return []
        index = SourceIndex.of(job.sources)
        source_embeddings = None
        if self.clip is not None and job.sources:
            variants = [image for s in job.sources for image in orientations(s).values()]
            side = job.frames[0].size
            source_embeddings = embed_images(
                self.clip,
                to_batch([v.resize(side, Image.Resampling.BICUBIC) for v in variants]),
                self.device,
            )
        discriminator = self.discriminator_for(job.vqgan) if job.vqgan else None
        results: list[FrameScores] = []
        for start in range(0, len(job.frames), self.batch_size):
            images = [f.convert("RGB") for f in job.frames[start : start + self.batch_size]]
            prompts = job.prompts[start : start + self.batch_size]
            batch = to_batch(images)
            prompt_sim: list[float | None] = [None] * len(images)
            source_sim: list[float | None] = [None] * len(images)
            aesthetic: list[float | None] = [None] * len(images)
            critic: list[float | None] = [None] * len(images)
            if self.clip is not None:
                embeddings = embed_images(self.clip, batch, self.device)
                prompt_sim = list(self._prompt_match(embeddings, prompts))
                if source_embeddings is not None:
                    best = (embeddings @ source_embeddings.T).max(dim=1).values
                    source_sim = [float(v) for v in best.cpu()]
                if self.aesthetic_head is not None:
                    aesthetic = list(
                        aesthetic_scores(self.aesthetic_head.to(self.device), embeddings)
                    )
            if discriminator is not None:
                critic = list(critic_scores(discriminator, batch, self.device))
            for i, image in enumerate(images):
                evidence = hash_evidence(image, index)
                results.append(
                    FrameScores(
                        prompt_similarity=prompt_sim[i],
                        source_similarity=source_sim[i],
                        critic=critic[i],
                        aesthetic=aesthetic[i],
                        sharpness=image_quality.sharpness(image),
                        colourfulness=image_quality.colourfulness(image),
                        blockiness=image_quality.blockiness(image),
                        hash_distance=evidence.distance,
                        hash_match=evidence.match,
                    )
                )
        return results
