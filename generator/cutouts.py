"""Cutouts of the decoded image for CLIP (shared/docs/vqgan_clip.md §1.5).

Two methods:
- `pooled` (nerdyrodent's default "latest"): the whole image average+max pooled to CLIP's input
  size, repeated cutn times, kornia augmentations per cutout, then Gaussian noise.
- `random` (Katherine Crowson's original): cutn random square crops of random size
  (`cut_pow`), Lanczos anti-aliased and bicubic-resized, clamped with gradient.

Every artwork in a batch draws its randomness from its own generators (`ArtworkRng`), so a
batch gives the same cutouts as running the artworks one by one with the same seeds. kornia
samples its parameters from torch's global CPU generator, so the artwork's CPU state is
swapped in around each kornia call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import kornia.augmentation as K  # noqa: N812
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from generator.ops import clamp_with_grad

DEFAULT_AUGMENTS = ("Af", "Pe", "Ji", "Er")
CUT_METHODS = ("pooled", "random")


class ArtworkRng:
    """One artwork's random streams: a CPU generator (crop geometry, kornia parameters) and
    a generator on the compute device (noise), both derived from the artwork's seed."""

    def __init__(self, seed: int, device: torch.device) -> None:
        self.seed = seed
        self.cpu = torch.Generator().manual_seed(seed)
        self.device = torch.Generator(device=device).manual_seed(seed ^ 0x5DEECE66D)

    @contextmanager
    def as_global_cpu_rng(self) -> Iterator[None]:
        outer = torch.get_rng_state()
        torch.set_rng_state(self.cpu.get_state())
        try:
            yield
        finally:
            self.cpu.set_state(torch.get_rng_state())
            torch.set_rng_state(outer)


def build_augments(names: Sequence[str]) -> nn.Sequential:
    """nerdyrodent's augmentation codes with its parameters, applied in the given order."""
    table = {
        "Af": lambda: K.RandomAffine(
            degrees=15, translate=(0.1, 0.1), shear=5, p=0.7, padding_mode="zeros", keepdim=True
        ),
        "Pe": lambda: K.RandomPerspective(distortion_scale=0.7, p=0.7),
        "Ji": lambda: K.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1, p=0.7),
        "Er": lambda: K.RandomErasing(
            scale=(0.1, 0.4), ratio=(0.3, 1 / 0.3), same_on_batch=True, p=0.7
        ),
        "Sh": lambda: K.RandomSharpness(sharpness=0.3, p=0.5),
        "Ro": lambda: K.RandomRotation(degrees=15, p=0.7),
    }
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {sorted(table)}")
    return nn.Sequential(*(table[name]() for name in names))


@dataclass
class CutoutSettings:
    cut_size: int
    cutn: int = 32
    method: str = "pooled"
    cut_pow: float = 1.0
    noise_fac: float = 0.1
    augments: tuple[str, ...] = DEFAULT_AUGMENTS


class MakeCutouts(nn.Module):
    def __init__(self, settings: CutoutSettings) -> None:
        super().__init__()
        if settings.method not in CUT_METHODS:
            raise ValueError(f"cut method {settings.method!r} is not one of {CUT_METHODS}")
        self.settings = settings
        self.augment = build_augments(settings.augments)

    def forward(self, images: torch.Tensor, rngs: Sequence[ArtworkRng]) -> torch.Tensor:
        """images [B, 3, H, W] in [0, 1] -> cutouts [B * cutn, 3, cut, cut], artwork-major."""
        if images.shape[0] != len(rngs):
            raise ValueError(f"{images.shape[0]} images but {len(rngs)} random streams")
        if self.settings.method == "random":
            return torch.cat(
                [self._random_crops(image, rng) for image, rng in zip(images, rngs, strict=True)]
            )
        size = self.settings.cut_size
        pooled = (F.adaptive_avg_pool2d(images, size) + F.adaptive_max_pool2d(images, size)) / 2
        return torch.cat(
            [self._augment_one(single, rng) for single, rng in zip(pooled, rngs, strict=True)]
        )

    def _augment_one(self, pooled: torch.Tensor, rng: ArtworkRng) -> torch.Tensor:
        cutn = self.settings.cutn
        batch = pooled.unsqueeze(0).expand(cutn, -1, -1, -1)
        if len(self.augment):
            with rng.as_global_cpu_rng():
                batch = self.augment(batch)
        if self.settings.noise_fac:
            shape = (cutn, 1, 1, 1)
            facs = torch.rand(shape, generator=rng.device, device=batch.device, dtype=batch.dtype)
            noise = torch.randn(
                batch.shape, generator=rng.device, device=batch.device, dtype=batch.dtype
            )
            batch = batch + facs * self.settings.noise_fac * noise
        return batch

    def _random_crops(self, image: torch.Tensor, rng: ArtworkRng) -> torch.Tensor:
        settings = self.settings
        height, width = image.shape[-2:]
        max_size = min(height, width)
        min_size = min(height, width, settings.cut_size)
        cutouts = []
        for _ in range(settings.cutn):
            fraction = float(torch.rand((), generator=rng.cpu)) ** settings.cut_pow
            size = int(fraction * (max_size - min_size) + min_size)
            top = int(torch.randint(0, height - size + 1, (), generator=rng.cpu))
            left = int(torch.randint(0, width - size + 1, (), generator=rng.cpu))
            crop = image[None, :, top : top + size, left : left + size]
            cutouts.append(resample(crop, (settings.cut_size, settings.cut_size)))
        return clamp_with_grad(torch.cat(cutouts), 0.0, 1.0)


def _sinc(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x != 0, torch.sin(math.pi * x) / (math.pi * x), torch.ones_like(x))


def lanczos_kernel(ratio: float, a: int = 2) -> torch.Tensor:
    """Normalised Lanczos-a taps for downsampling by `ratio` (< 1)."""
    half = math.ceil(a / ratio + 1)
    offsets = torch.arange(half, dtype=torch.float64) * ratio
    positions = torch.cat([-offsets[1:].flip(0), offsets])[1:-1]
    inside = (positions > -a) & (positions < a)
    taps = torch.where(inside, _sinc(positions) * _sinc(positions / a), torch.zeros_like(positions))
    return (taps / taps.sum()).float()


def resample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Anti-aliased resize: separable Lanczos (reflect padding) when shrinking, then bicubic."""
    n, c, h, w = image.shape
    out_h, out_w = size
    x = image.reshape(n * c, 1, h, w)
    if out_h < h:
        kernel = lanczos_kernel(out_h / h).to(x)
        pad = (kernel.shape[0] - 1) // 2
        x = F.conv2d(F.pad(x, (0, 0, pad, pad), "reflect"), kernel[None, None, :, None])
    if out_w < w:
        kernel = lanczos_kernel(out_w / w).to(x)
        pad = (kernel.shape[0] - 1) // 2
        x = F.conv2d(F.pad(x, (pad, pad, 0, 0), "reflect"), kernel[None, None, None, :])
    return F.interpolate(x.reshape(n, c, h, w), size, mode="bicubic", align_corners=True)
