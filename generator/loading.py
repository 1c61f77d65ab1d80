"""Which weights a run uses, and loading them once: from the weights dir, or from the bytes a
coordinator shipped to a worker that has no weights dir of its own.

The configured weights are used when they are there; the tiny untrained smoke-test models
only when those are missing AND the caller allows it (the demo, `BOT_ALLOW_SMOKE_TEST_MODELS`).
Whatever was chosen, its label is recorded on every frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from clip.model import CLIP

from generator.tiny import write_smoke_test_weights
from generator.vqgan import VQGAN
from generator.weights import MissingWeights, WeightsStore, load_clip_bytes, load_vqgan_bytes

log = logging.getLogger(__name__)
SMOKE_TEST_WARNING = (
    "SMOKE TEST: the real weights are missing, so these images come from a tiny UNTRAINED "
    "random-weight model. They are noise, not art; do not publish them."
)


@dataclass(frozen=True)
class LoadedModels:
    vqgan: VQGAN
    perceptor: CLIP
    label: str  # recorded on every frame, e.g. vqgan_wikiart_16384+clip_vit_b32
    smoke_test: bool


@dataclass(frozen=True)
class WeightFiles:
    """The converted safetensors files a run loads, and how its frames are labelled."""

    vqgan: Path
    clip: Path
    label: str
    smoke_test: bool


@dataclass(frozen=True)
class WeightBytes:
    """The same files' bytes: what a coordinator ships to workers (through Ray's object
    store), so they need neither the weights dir nor the data dir."""

    vqgan: bytes
    clip: bytes
    label: str
    smoke_test: bool


def resolve_weight_files(
    cache_dir: Path,
    vqgan_name: str,
    clip_name: str,
    *,
    allow_smoke_test_models: bool = False,
) -> WeightFiles:
    """The configured weights (converted on first use); tiny untrained ones only if those
    are missing AND allowed. Raises MissingWeights otherwise."""
    store = WeightsStore(cache_dir)
    try:
        return WeightFiles(
            store.ensure_converted(vqgan_name),
            store.ensure_converted(clip_name),
            f"{vqgan_name}+{clip_name}",
            smoke_test=False,
        )
    except MissingWeights:
        if not allow_smoke_test_models:
            raise
    smoke_vqgan, smoke_clip = write_smoke_test_weights(cache_dir)
    log.warning(SMOKE_TEST_WARNING)
    return WeightFiles(
        store.ensure_converted(smoke_vqgan),
        store.ensure_converted(smoke_clip),
        f"{smoke_vqgan}+{smoke_clip} (untrained smoke test)",
        smoke_test=True,
    )


def load_models(
    cache_dir: Path,
    vqgan_name: str,
    clip_name: str,
    device: torch.device,
    *,
    allow_smoke_test_models: bool = False,
) -> LoadedModels:
    """The configured weights loaded on `device` (see `resolve_weight_files`)."""
    from generator.weights import load_clip_file, load_vqgan_file

    files = resolve_weight_files(
        cache_dir, vqgan_name, clip_name, allow_smoke_test_models=allow_smoke_test_models
    )
    return LoadedModels(
        load_vqgan_file(files.vqgan, device),
        load_clip_file(files.clip, device),
        files.label,
        files.smoke_test,
    )


def read_weight_bytes(files: WeightFiles) -> WeightBytes:
    return WeightBytes(
        files.vqgan.read_bytes(), files.clip.read_bytes(), files.label, files.smoke_test
    )


def load_models_from_bytes(weights: WeightBytes, device: torch.device) -> LoadedModels:
    """What `load_models` gives, from shipped bytes (the same format checks)."""
    return LoadedModels(
        load_vqgan_bytes(weights.vqgan, device, what=f"shipped VQGAN of {weights.label}"),
        load_clip_bytes(weights.clip, device, what=f"shipped CLIP of {weights.label}"),
        weights.label,
        weights.smoke_test,
    )
