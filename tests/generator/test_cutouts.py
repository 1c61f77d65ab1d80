from __future__ import annotations

import pytest
import torch

from generator.cutouts import ArtworkRng, CutoutSettings, MakeCutouts, lanczos_kernel, resample


def _images(batch: int, side: int = 40) -> torch.Tensor:
    return torch.rand(batch, 3, side, side, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("method", ["pooled", "random"])
def test_cutout_shapes(method: str) -> None:
    cutouts = MakeCutouts(CutoutSettings(cut_size=16, cutn=5, method=method))
    rngs = [ArtworkRng(seed, torch.device("cpu")) for seed in (1, 2, 3)]
    out = cutouts(_images(3), rngs)
    assert out.shape == (15, 3, 16, 16)


def test_random_crops_are_clamped_and_pooled_ones_carry_noise() -> None:
    rngs = [ArtworkRng(0, torch.device("cpu"))]
    crops = MakeCutouts(CutoutSettings(cut_size=16, cutn=4, method="random"))(_images(1), rngs)
    assert crops.min() >= 0 and crops.max() <= 1
    plain = MakeCutouts(CutoutSettings(cut_size=16, cutn=4, augments=(), noise_fac=0.0))
    noisy = MakeCutouts(CutoutSettings(cut_size=16, cutn=4, augments=(), noise_fac=0.1))
    a = plain(_images(1), [ArtworkRng(0, torch.device("cpu"))])
    b = noisy(_images(1), [ArtworkRng(0, torch.device("cpu"))])
    assert torch.equal(a[0], a[3])  # pooled cutouts are identical before augmentation
    assert not torch.equal(a, b)


def test_same_seed_same_cutouts_and_batch_matches_single_runs() -> None:
    cutouts = MakeCutouts(CutoutSettings(cut_size=16, cutn=6))
    images = _images(2)
    batch = cutouts(images, [ArtworkRng(s, torch.device("cpu")) for s in (10, 11)])
    first = cutouts(images[:1], [ArtworkRng(10, torch.device("cpu"))])
    second = cutouts(images[1:], [ArtworkRng(11, torch.device("cpu"))])
    assert torch.allclose(batch, torch.cat([first, second]), atol=1e-6)
    other_seed = cutouts(images[:1], [ArtworkRng(12, torch.device("cpu"))])
    assert not torch.allclose(first, other_seed)


def test_artwork_rng_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MakeCutouts(CutoutSettings(cut_size=16, cutn=3))(
        _images(1), [ArtworkRng(5, torch.device("cpu"))]
    )
    assert torch.equal(torch.rand(3), expected)


def test_cutouts_pass_gradient_to_the_image() -> None:
    image = _images(1).requires_grad_(True)
    out = MakeCutouts(CutoutSettings(cut_size=16, cutn=3))(
        image, [ArtworkRng(0, torch.device("cpu"))]
    )
    out.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_lanczos_resample_preserves_a_constant_image() -> None:
    assert lanczos_kernel(0.5).sum().item() == pytest.approx(1.0)
    flat = torch.full((1, 3, 40, 40), 0.25)
    assert torch.allclose(resample(flat, (16, 16)), torch.full((1, 3, 16, 16), 0.25), atol=1e-5)
