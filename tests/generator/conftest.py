"""Tiny random-weight models, written in the real checkpoint formats once per session and
loaded back through the real conversion and loader path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from generator.tiny import write_smoke_test_weights
from generator.weights import WeightsStore


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> WeightsStore:
    cache = tmp_path_factory.mktemp("weights")
    write_smoke_test_weights(cache)
    return WeightsStore(cache)


@pytest.fixture(scope="session")
def tiny_models(tiny_store: WeightsStore) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return tiny_store.load_vqgan("smoke_vqgan_tiny"), tiny_store.load_clip("smoke_clip_tiny")


@pytest.fixture
def weights_cache(tmp_path: Path) -> Path:
    return tmp_path / "models"
