"""LAION's aesthetic predictor: a linear head on CLIP image embeddings.

The released `sa_0_4_vit_b_32_linear.pth` (github.com/LAION-AI/aesthetic-predictor, MIT) is a
state dict of one `nn.Linear(512, 1)` trained on human ratings (SAC, LAION-Logos, AVA) of
L2-normalised OpenAI CLIP ViT-B/32 image embeddings; it predicts a rating on a 1–10 scale. It is
only meaningful on embeddings of the CLIP it was trained for (ViT-B/32 for this file).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class AestheticHeadError(ValueError):
    pass


def head_from_state_dict(state: Mapping[str, torch.Tensor], *, source: str = "state") -> nn.Linear:
    weight, bias = state.get("weight"), state.get("bias")
    if weight is None or bias is None or weight.ndim != 2 or weight.shape[0] != 1:
        shapes = {k: tuple(v.shape) for k, v in state.items()}
        raise AestheticHeadError(f"{source}: not a linear D→1 head (tensors {shapes})")
    head = nn.Linear(weight.shape[1], 1)
    head.load_state_dict({"weight": weight.float(), "bias": bias.float().reshape(1)})
    return head.eval().requires_grad_(False)


@torch.inference_mode()
def aesthetic_scores(head: nn.Linear, embeddings: torch.Tensor) -> list[float]:
    """Unit-length CLIP image embeddings [B, D] -> predicted ratings (about 1–10)."""
    if embeddings.shape[-1] != head.in_features:
        raise AestheticHeadError(
            f"the aesthetic head takes {head.in_features}-d CLIP embeddings, got "
            f"{embeddings.shape[-1]}-d"
        )
    return [float(v) for v in head(embeddings.float()).squeeze(-1).cpu()]
