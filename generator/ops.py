"""The differentiable pieces of VQGAN+CLIP (shared/docs/vqgan_clip.md §1.4, §1.6)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812


class ReplaceGrad(torch.autograd.Function):
    """Forward returns `x_forward`; backward sends the whole gradient to `x_backward`."""

    @staticmethod
    def forward(ctx: Any, x_forward: torch.Tensor, x_backward: torch.Tensor) -> torch.Tensor:
        ctx.shape = x_backward.shape
        return x_forward

    @staticmethod
    def backward(ctx: Any, grad_in: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, grad_in.sum_to_size(ctx.shape)


class ClampWithGrad(torch.autograd.Function):
    """Clamp forward; backward keeps the gradient inside the range and, outside it, only the
    part whose descent step moves the value back into range."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, low: float, high: float) -> torch.Tensor:
        ctx.low, ctx.high = low, high
        ctx.save_for_backward(x)
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx: Any, grad_in: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        outside = x - x.clamp(ctx.low, ctx.high)
        return grad_in * (grad_in * outside >= 0), None, None


def replace_grad(x_forward: torch.Tensor, x_backward: torch.Tensor) -> torch.Tensor:
    return ReplaceGrad.apply(x_forward, x_backward)  # type: ignore[no-any-return]


def clamp_with_grad(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return ClampWithGrad.apply(x, low, high)  # type: ignore[no-any-return]


def nearest_codes(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook vector for each row of x [..., D] (squared L2)."""
    flat = x.reshape(-1, x.shape[-1])
    distances = flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1) - 2 * flat @ codebook.T
    return distances.argmin(1).reshape(x.shape[:-1])


def vector_quantize(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Straight-through quantisation of channels-last x: nearest code forward, identity grad.

    An index lookup instead of the reference's one-hot matmul: the forward value is the same
    and the one-hot path never received gradient, so the backward is identical too.
    """
    quantized = codebook[nearest_codes(x, codebook)]
    return replace_grad(quantized, x)


def spherical_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise theta^2/2 between the directions of a [N, D] and b [M, D] -> [N, M]."""
    a = F.normalize(a, dim=-1).unsqueeze(1)
    b = F.normalize(b, dim=-1).unsqueeze(0)
    return (a - b).norm(dim=-1).div(2).arcsin().pow(2).mul(2)


def prompt_loss(
    embeddings: torch.Tensor, target: torch.Tensor, weight: float, stop: float
) -> torch.Tensor:
    """The reference `Prompt.forward`: weighted mean spherical distance with a stop.

    A negative weight pushes away; pairs already closer than `stop` get no gradient while the
    reported value stays the distance.
    """
    distances = spherical_distance(embeddings, target) * (1.0 if weight >= 0 else -1.0)
    # clamp_min with a Python scalar: no host-to-device copy (a blocking one would sync).
    stopped = replace_grad(distances, distances.clamp_min(stop))
    return abs(weight) * stopped.mean()
