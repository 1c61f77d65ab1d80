"""VQGAN built from taming-transformers' torch modules, without its Lightning model.

taming's `VQModel` would instantiate the LPIPS loss (a VGG download) and import
pytorch-lightning; we only need Encoder, Decoder, the codebook and the two 1x1 convs, with the
same attribute names so a checkpoint's state dict loads key for key.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from taming.modules.diffusionmodules.model import Decoder, Encoder
from taming.modules.discriminator.model import NLayerDiscriminator
from taming.modules.vqvae.quantize import VectorQuantizer2
from torch import nn

VQMODEL_TARGET = "taming.models.vqgan.VQModel"
TRANSFORMER_TARGET = "taming.models.cond_transformer.Net2NetTransformer"
_DDCONFIG_KEYS = (
    "double_z",
    "z_channels",
    "resolution",
    "in_channels",
    "out_ch",
    "ch",
    "ch_mult",
    "num_res_blocks",
    "attn_resolutions",
    "dropout",
)


class UnsupportedConfig(ValueError):
    pass


@dataclass(frozen=True)
class VQGANConfig:
    """The parts of a taming YAML that decide the architecture; unknown keys are ignored."""

    embed_dim: int
    n_embed: int
    ddconfig: dict[str, Any]
    disc_num_layers: int = 3
    disc_in_channels: int = 3
    disc_ndf: int = 64
    state_prefix: str = ""  # "first_stage_model." inside transformer checkpoints
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.ddconfig["ch_mult"]) - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VQGANConfig:
        return cls(**data)

    @classmethod
    def from_yaml_dict(cls, config: dict[str, Any], *, source: str = "config") -> VQGANConfig:
        model = config.get("model") or {}
        target = str(model.get("target", ""))
        params = model.get("params") or {}
        prefix = ""
        if target == TRANSFORMER_TARGET:
            first_stage = params.get("first_stage_config") or {}
            target = str(first_stage.get("target", ""))
            params = first_stage.get("params") or {}
            prefix = "first_stage_model."
        if target != VQMODEL_TARGET:
            raise UnsupportedConfig(
                f"{source}: model target {target!r} is not supported (only {VQMODEL_TARGET}; "
                "Gumbel VQGANs are not implemented)"
            )
        try:
            ddconfig = {key: params["ddconfig"][key] for key in _DDCONFIG_KEYS}
            embed_dim, n_embed = int(params["embed_dim"]), int(params["n_embed"])
        except (KeyError, TypeError) as exc:
            raise UnsupportedConfig(f"{source}: missing model.params entry {exc}") from None
        ddconfig["ch_mult"] = list(ddconfig["ch_mult"])
        ddconfig["attn_resolutions"] = list(ddconfig["attn_resolutions"])
        loss_params = (params.get("lossconfig") or {}).get("params") or {}
        return cls(
            embed_dim=embed_dim,
            n_embed=n_embed,
            ddconfig=ddconfig,
            disc_num_layers=int(loss_params.get("disc_num_layers", 3)),
            disc_in_channels=int(loss_params.get("disc_in_channels", 3)),
            disc_ndf=int(loss_params.get("disc_ndf", 64)),
            state_prefix=prefix,
        )


class VQGAN(nn.Module):
    """Encoder -> quant_conv -> codebook -> post_quant_conv -> Decoder (taming key names)."""

    def __init__(self, config: VQGANConfig) -> None:
        super().__init__()
        self.config = config
        # taming's Decoder prints the z shape on construction; keep stdout clean for the CLI.
        with contextlib.redirect_stdout(io.StringIO()):
            self.encoder = Encoder(**config.ddconfig)
            self.decoder = Decoder(**config.ddconfig)
        z_channels = config.ddconfig["z_channels"]
        self.quantize = VectorQuantizer2(config.n_embed, config.embed_dim, beta=0.25)
        self.quant_conv = nn.Conv2d(z_channels, config.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, z_channels, 1)

    @property
    def codebook(self) -> torch.Tensor:
        """[n_embed, embed_dim]"""
        return self.quantize.embedding.weight

    @property
    def downsample_factor(self) -> int:
        return self.config.downsample_factor

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Image in [-1, 1] -> quantised latent z_q [B, embed_dim, H/f, W/f] (as taming)."""
        z = self.quant_conv(self.encoder(image))
        z_q, _, _ = self.quantize(z)
        return z_q

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Quantised latent -> image in about [-1, 1]."""
        return self.decoder(self.post_quant_conv(z_q))


def build_discriminator(config: VQGANConfig) -> NLayerDiscriminator:
    """The PatchGAN critic trained with the VQGAN (BatchNorm, eval mode), for the critic issue."""
    return NLayerDiscriminator(
        input_nc=config.disc_in_channels, ndf=config.disc_ndf, n_layers=config.disc_num_layers
    ).eval()


def discriminator_layers_from_keys(keys: list[str], prefix: str = "discriminator.") -> int:
    """n_layers from the checkpoint itself: conv layers under main.* minus the first and last.

    BatchNorm layers have a `.weight` too, but only they carry `running_mean`; this is more
    robust than the YAML, which often omits `disc_num_layers`.
    """
    indices = {
        k.removeprefix(prefix + "main.").split(".")[0]
        for k in keys
        if k.startswith(prefix + "main.") and k.endswith(".weight")
    }
    norms = {
        k.removeprefix(prefix + "main.").split(".")[0]
        for k in keys
        if k.startswith(prefix + "main.") and k.endswith(".running_mean")
    }
    return len(indices - norms) - 2
