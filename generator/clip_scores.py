"""CLIP embeddings for scoring: frames against their prompt and against the source image.

Images are preprocessed as `clip.load`'s transform does (shorter side resized to the model's
input resolution with bicubic interpolation, centre crop, CLIP's mean/std), but on batches of
tensors instead of one PIL image at a time. Embeddings are L2-normalised, so similarities are
cosines in [-1, 1] (ViT-B/32 gives ~0.2–0.35 for a matching prompt, ~0.9+ for near-identical
images).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from clip.model import CLIP
from PIL import Image

from generator.clip_model import CLIP_MEAN, CLIP_STD, input_resolution


def to_batch(images: Sequence[Image.Image]) -> torch.Tensor:
    """PIL images of one size -> uint8 tensor [B, 3, H, W] (resized to the first if needed)."""
    size = images[0].size
    arrays = [
        np.asarray(
            (image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)).convert(
                "RGB"
            )
        )
        for image in images
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def preprocess(batch: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 [B, 3, H, W] -> CLIP input [B, 3, r, r] (float, normalised)."""
    pixels = batch.float() / 255.0
    height, width = pixels.shape[-2:]
    scale = resolution / min(height, width)
    size = (max(resolution, round(height * scale)), max(resolution, round(width * scale)))
    pixels = F.interpolate(pixels, size=size, mode="bicubic", antialias=True, align_corners=False)
    top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    pixels = pixels[..., top : top + resolution, left : left + resolution].clamp(0, 1)
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


@torch.inference_mode()
def embed_images(model: CLIP, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 [B, 3, H, W] -> unit-length image embeddings [B, D] (float32, on `device`)."""
    pixels = preprocess(batch.to(device), input_resolution(model))
    return F.normalize(model.encode_image(pixels).float(), dim=-1)


@torch.inference_mode()
def embed_texts(model: CLIP, texts: Sequence[str], device: torch.device) -> torch.Tensor:
    import clip

    tokens = clip.tokenize(list(texts), truncate=True).to(device)
    return F.normalize(model.encode_text(tokens).float(), dim=-1)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine of unit vectors [B, D] x [B, D] (or [1, D] broadcast) -> [B]."""
    return (a * b).sum(dim=-1)
