"""Random-weight models with the real architectures, saved in the real checkpoint formats.

Tests, the benchmark and the smoke-test demo use them so that everything downstream (the
registry/loader path, conversion, the optimiser) runs exactly as with real weights. Images
made with them are noise-like: they come from an UNTRAINED model.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import torch
import yaml
from clip.model import CLIP

from generator.model_names import SMOKE_TEST_PREFIX
from generator.vqgan import VQGAN, VQMODEL_TARGET, VQGANConfig, build_discriminator

# The prefix marks every frame these models make as a smoke test (see generator.model_names).
SMOKE_VQGAN = f"{SMOKE_TEST_PREFIX}vqgan_tiny"
SMOKE_CLIP = f"{SMOKE_TEST_PREFIX}clip_tiny"

# The released f16 ImageNet/WikiArt architecture (TT configs/imagenet_vqgan.yaml).
F16_DDCONFIG: dict[str, Any] = {
    "double_z": False,
    "z_channels": 256,
    "resolution": 256,
    "in_channels": 3,
    "out_ch": 3,
    "ch": 128,
    "ch_mult": [1, 1, 2, 2, 4],
    "num_res_blocks": 2,
    "attn_resolutions": [16],
    "dropout": 0.0,
}
TINY_DDCONFIG: dict[str, Any] = {
    **F16_DDCONFIG,
    "z_channels": 16,
    "resolution": 32,
    "ch": 32,  # GroupNorm(32) needs multiples of 32
    "ch_mult": [1, 1, 2],  # f = 4
    "num_res_blocks": 1,
    "attn_resolutions": [8],
}
# ViT-B/32 (OpenAI CLIP) and the smallest ViT that build_model and clip.tokenize accept:
# widths are multiples of 64 (heads = width // 64), context 77 and the real vocabulary.
VIT_B32_ARCH: dict[str, Any] = {
    "embed_dim": 512,
    "image_resolution": 224,
    "vision_layers": 12,
    "vision_width": 768,
    "vision_patch_size": 32,
    "context_length": 77,
    "vocab_size": 49408,
    "transformer_width": 512,
    "transformer_heads": 8,
    "transformer_layers": 12,
}
TINY_CLIP_ARCH: dict[str, Any] = {
    "embed_dim": 32,
    "image_resolution": 32,
    "vision_layers": 1,
    "vision_width": 64,
    "vision_patch_size": 16,
    "context_length": 77,
    "vocab_size": 49408,
    "transformer_width": 64,
    "transformer_heads": 1,
    "transformer_layers": 1,
}


def vqgan_yaml(config: VQGANConfig) -> dict[str, Any]:
    """A taming-style YAML for `config`, as the released checkpoints ship it."""
    return {
        "model": {
            "base_learning_rate": 4.5e-06,
            "target": VQMODEL_TARGET,
            "params": {
                "embed_dim": config.embed_dim,
                "n_embed": config.n_embed,
                "ddconfig": config.ddconfig,
                "lossconfig": {
                    "target": "taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator",
                    "params": {
                        "disc_conditional": False,
                        "disc_in_channels": config.disc_in_channels,
                        "disc_num_layers": config.disc_num_layers,
                        "disc_ndf": config.disc_ndf,
                        "disc_start": 250001,
                        "disc_weight": 0.8,
                        "codebook_weight": 1.0,
                    },
                },
            },
        }
    }


def random_vqgan(config: VQGANConfig, seed: int = 0) -> VQGAN:
    torch.manual_seed(seed)
    model = VQGAN(config)
    # taming initialises the codebook in U(-1/n, 1/n); trained codebooks are spread much wider,
    # so widen it to give the z box clamp and the quantiser something realistic to work on.
    with torch.no_grad():
        model.quantize.embedding.weight.normal_(0.0, 1.0)
    return model.eval().requires_grad_(False)


def random_clip(arch: dict[str, Any], seed: int = 0) -> CLIP:
    torch.manual_seed(seed)
    return CLIP(**arch).float().eval().requires_grad_(False)


def tiny_vqgan_config() -> VQGANConfig:
    return VQGANConfig(
        embed_dim=16, n_embed=128, ddconfig=dict(TINY_DDCONFIG), disc_num_layers=2, disc_ndf=16
    )


def f16_16384_config() -> VQGANConfig:
    return VQGANConfig(embed_dim=256, n_embed=16384, ddconfig=dict(F16_DDCONFIG), disc_num_layers=2)


def save_lightning_checkpoint(model: VQGAN, config: VQGANConfig, ckpt: Path, seed: int = 0) -> None:
    """Write `ckpt` (+ `.yaml` beside it) laid out like a taming Lightning checkpoint."""
    torch.manual_seed(seed + 1)
    state: dict[str, torch.Tensor] = dict(model.state_dict())
    with contextlib.redirect_stdout(io.StringIO()):
        discriminator = build_discriminator(config)
    for key, value in discriminator.state_dict().items():
        state[f"loss.discriminator.{key}"] = value
    # A stand-in for the LPIPS weights the real files carry; conversion must drop it.
    state["loss.perceptual_loss.lin0.model.1.weight"] = torch.randn(1, 64, 1, 1)
    checkpoint = {
        "epoch": 3,
        "global_step": 8145600,
        "pytorch-lightning_version": "1.0.8",
        "state_dict": state,
        "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(4)}}, "param_groups": []}],
        "lr_schedulers": [],
    }
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, ckpt)
    ckpt.with_suffix(".yaml").write_text(yaml.safe_dump(vqgan_yaml(config), sort_keys=False))


def save_clip_checkpoint(model: CLIP, path: Path) -> None:
    """A CLIP state dict saved with torch.save (what `clip.load(path, jit=False)` accepts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)


def write_smoke_test_weights(cache_dir: Path, seed: int = 0) -> tuple[str, str]:
    """Tiny untrained VQGAN and CLIP as raw checkpoints in `cache_dir`; returns their names.

    Load them with `WeightsStore(cache_dir).load_vqgan(name)` like any other weights.
    """
    config = tiny_vqgan_config()
    vqgan_ckpt = cache_dir / SMOKE_VQGAN / f"{SMOKE_VQGAN}.ckpt"
    if not vqgan_ckpt.is_file():
        save_lightning_checkpoint(random_vqgan(config, seed), config, vqgan_ckpt, seed)
    clip_pt = cache_dir / SMOKE_CLIP / f"{SMOKE_CLIP}.pt"
    if not clip_pt.is_file():
        save_clip_checkpoint(random_clip(TINY_CLIP_ARCH, seed), clip_pt)
    return SMOKE_VQGAN, SMOKE_CLIP


def random_esrgan_state(
    scale: int = 4, *, num_filters: int = 64, num_blocks: int = 23, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A random-weight RRDBNet (spandrel's ESRGAN) state dict, laid out as Real-ESRGAN's.

    Defaults are the Real-ESRGAN x4plus/x2plus size (64 features, 23 blocks); x2 models
    pixel-unshuffle the input by 2 and upsample by 4, as RealESRGAN_x2plus does.
    """
    from spandrel.architectures.ESRGAN import ESRGAN

    if scale not in (2, 4):
        raise ValueError("Real-ESRGAN ships x2 and x4 models")
    torch.manual_seed(seed)
    shuffle = 2 if scale == 2 else None
    model = ESRGAN(
        in_nc=3 * (shuffle or 1) ** 2,
        out_nc=3,
        num_filters=num_filters,
        num_blocks=num_blocks,
        scale=4,
        shuffle_factor=shuffle,
    )
    state = dict(model.state_dict())
    last_bias = max((k for k in state if k.endswith(".bias")), key=lambda k: int(k.split(".")[1]))
    state[last_bias] = torch.full_like(state[last_bias], 0.5)  # mid-grey, not clamped to black
    return state


def save_esrgan_checkpoint(state: dict[str, torch.Tensor], path: Path) -> None:
    """Write `state` as Real-ESRGAN's release files are: `{"params_ema": state}`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params_ema": state}, path)
