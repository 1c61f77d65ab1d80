from __future__ import annotations

import math

import pytest
import torch

from generator.ops import (
    clamp_with_grad,
    nearest_codes,
    prompt_loss,
    spherical_distance,
    vector_quantize,
)
from generator.prompts import Prompt, parse_prompt, parse_prompts


def test_quantiser_forward_is_the_nearest_code_and_gradient_passes_straight_through() -> None:
    codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-2.0, 3.0]])
    x = torch.tensor([[[0.2, -0.1], [0.9, 1.3], [-1.5, 2.0]]], requires_grad=True)
    quantized = vector_quantize(x, codebook)
    assert torch.equal(quantized.detach(), codebook[[0, 1, 2]].unsqueeze(0))
    weights = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    (quantized * weights).sum().backward()
    assert torch.equal(x.grad, weights)  # identity: the argmin does not block the gradient


def test_nearest_codes_matches_brute_force() -> None:
    generator = torch.Generator().manual_seed(0)
    codebook = torch.randn(50, 8, generator=generator)
    x = torch.randn(4, 5, 8, generator=generator)
    brute = torch.cdist(x.reshape(-1, 8), codebook).argmin(1).reshape(4, 5)
    assert torch.equal(nearest_codes(x, codebook), brute)


def test_clamp_gradient_only_lets_values_outside_the_range_move_back() -> None:
    x = torch.tensor([-0.5, 0.5, 1.5, -0.5, 1.5], requires_grad=True)
    y = clamp_with_grad(x, 0.0, 1.0)
    assert torch.equal(y.detach(), torch.tensor([0.0, 0.5, 1.0, 0.0, 1.0]))
    # d(loss)/dy per element; descent moves x by -grad.
    y.backward(torch.tensor([-1.0, 2.0, 3.0, 4.0, -5.0]))
    # -0.5 with grad -1 would move up (back into range): kept. 0.5 inside: kept.
    # 1.5 with grad 3 moves down (back): kept. -0.5 with grad 4 moves further down: zeroed.
    # 1.5 with grad -5 moves further up: zeroed.
    assert torch.equal(x.grad, torch.tensor([-1.0, 2.0, 3.0, 0.0, 0.0]))


def test_spherical_distance_on_known_vectors() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    d = spherical_distance(a, b)
    # theta^2 / 2 for angles 0, pi/2, pi/2, pi  (lengths do not matter)
    expected = torch.tensor(
        [[0.0, (math.pi / 2) ** 2 / 2], [(math.pi / 2) ** 2 / 2, math.pi**2 / 2]]
    )
    assert torch.allclose(d, expected, atol=1e-4)


def test_prompt_loss_weight_sign_and_stop() -> None:
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    target = torch.tensor([[1.0, 1.0]])
    quarter = (math.pi / 4) ** 2 / 2
    loss = prompt_loss(embeddings, target, 2.0, -math.inf)
    assert loss.item() == pytest.approx(2 * quarter, rel=1e-5)
    negative = prompt_loss(embeddings, target, -0.5, -math.inf)
    assert negative.item() == pytest.approx(-0.5 * quarter, rel=1e-5)
    # A stop above the distance reports the distance but gives no gradient.
    stopped = prompt_loss(embeddings, target, 1.0, 1.0)
    assert stopped.item() == pytest.approx(quarter, rel=1e-5)
    stopped.backward()
    assert torch.count_nonzero(embeddings.grad) == 0


def test_prompt_parsing_keeps_colons_in_category_names() -> None:
    assert parse_prompt("a cat:1.5:0.2") == Prompt("a cat", 1.5, 0.2)
    assert parse_prompt("Series: Dreams") == Prompt("Series: Dreams")
    assert parse_prompt("blurry:-1") == Prompt("blurry", -1.0)
    assert parse_prompts("oil painting|blurry:-0.5") == [
        Prompt("oil painting"),
        Prompt("blurry", -0.5),
    ]
    with pytest.raises(ValueError, match="no text"):
        parse_prompt(":2")
