"""CLIP from a plain state dict through `clip.model.build_model` (the OpenAI package)."""

from __future__ import annotations

import torch
from clip.model import CLIP, build_model

# CLIP's own normalisation constants (clip/clip.py `_transform`).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_JIT_ONLY_KEYS = ("input_resolution", "context_length", "vocab_size")


def clip_from_state_dict(state_dict: dict[str, torch.Tensor]) -> CLIP:
    """Build CLIP in fp32 and eval mode with frozen weights.

    `build_model` casts to fp16 (as `clip.load` does on CUDA); we keep fp32 master weights and
    get the speed from bf16 autocast instead, which keeps the loss close to fp32.
    """
    state = {k: v for k, v in state_dict.items() if k not in _JIT_ONLY_KEYS}
    model = build_model(dict(state)).float().eval()
    # build_model loaded the weights into fp16 parameters; load again into the fp32 ones so
    # fp32 checkpoints keep their precision (OpenAI's own files are fp16 and lose nothing).
    model.load_state_dict(state)
    model.requires_grad_(False)
    return model


def input_resolution(model: CLIP) -> int:
    return int(model.visual.input_resolution)
