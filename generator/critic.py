"""The VQGAN's own discriminator as an art critic (the study's proposal).

taming's `NLayerDiscriminator` is a PatchGAN trained beside the VQGAN to tell real images from
its reconstructions: it outputs one logit per overlapping patch (70×70 receptive field at 3
layers), higher meaning "looks real to me". The critic score of a frame is the mean of those
logits with the frame scaled to [-1, 1], as the discriminator saw images in training. It is a
relative signal: compare frames of one artwork, scored by one checkpoint.

The weights are the `loss.discriminator.*` tensors of the VQGAN checkpoint, kept by the
conversion (`generator.convert`) with the layer count inferred from the keys.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.inference_mode()
def critic_scores(
    discriminator: nn.Module, batch: torch.Tensor, device: torch.device
) -> list[float]:
    """uint8 [B, 3, H, W] -> the mean patch logit of each image."""
    pixels = batch.to(device).float() / 127.5 - 1.0
    logits = discriminator(pixels)
    return [float(value) for value in logits.float().mean(dim=(1, 2, 3)).cpu()]
