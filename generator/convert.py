"""One-time conversion of downloaded checkpoints into pruned safetensors files.

A Lightning VQGAN `.ckpt` (~1 GB with optimiser state and the LPIPS net) becomes a file with
only the encoder, decoder, quant convs, codebook and the discriminator, with its architecture
config in the safetensors metadata (and a `config.json` beside it for people). A CLIP `.pt`
(a TorchScript archive, or a plain state dict) becomes a state-dict safetensors file. The
aesthetic head and ESRGAN upscalers (`.pth` state dicts, Real-ESRGAN's nested under
`params_ema`) become flat state-dict files, checked against their architecture first.

Conversion is the only place a checkpoint is read with `torch.load`, and it uses
`weights_only=True` unless the caller explicitly allows full unpickling of a file they trust.
Everything after conversion reads safetensors, which cannot execute code.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import save_file

from generator.vqgan import VQGAN, VQGANConfig, discriminator_layers_from_keys

FORMAT_KEY = "nftbot_format"
VQGAN_FORMAT = "vqgan-v1"
CLIP_FORMAT = "clip-v1"
AESTHETIC_FORMAT = "aesthetic-linear-v1"
UPSCALER_FORMAT = "upscaler-v1"
_VQGAN_PREFIXES = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.", "quantize.")
_DISC_PREFIX = "loss.discriminator."


class ConversionError(ValueError):
    pass


class PickleRefused(ConversionError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path}: cannot be read without full unpickling ({reason}); if you trust this "
            "file, convert it with `bot models convert --allow-pickle`"
        )


def read_torch_file(path: Path, *, allow_pickle: bool = False) -> Any:
    """`torch.load` with `weights_only=True` (memory-mapped when the format allows it).

    Only a file whose pickle holds objects beyond tensors and containers needs more; that is
    refused unless `allow_pickle`, because unpickling can run arbitrary code.
    """
    failure: Exception | None = None
    for mmap in (True, False):  # legacy (pre-zip) files cannot be memory-mapped
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except pickle.UnpicklingError as exc:  # weights-only refused an object
            failure = exc
            break
        except Exception as exc:
            failure = exc
    if not isinstance(failure, pickle.UnpicklingError):
        raise ConversionError(f"{path}: cannot be read as a PyTorch checkpoint ({failure})")
    if not allow_pickle:
        raise PickleRefused(path, str(failure).splitlines()[0][:200])
    return torch.load(path, map_location="cpu", weights_only=False)


def convert_vqgan(
    checkpoint: Path, config_yaml: Path, out_dir: Path, *, allow_pickle: bool = False
) -> Path:
    """`.ckpt` + YAML -> `out_dir/weights.safetensors` + `out_dir/config.json`."""
    try:
        raw_config = yaml.safe_load(config_yaml.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConversionError(f"{config_yaml}: cannot read the VQGAN config ({exc})") from exc
    config = VQGANConfig.from_yaml_dict(raw_config or {}, source=str(config_yaml))
    loaded = read_torch_file(checkpoint, allow_pickle=allow_pickle)
    state = loaded.get("state_dict", loaded) if isinstance(loaded, Mapping) else None
    if not isinstance(state, Mapping):
        raise ConversionError(f"{checkpoint}: no state_dict in the checkpoint")

    prefix = config.state_prefix
    kept: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or not key.startswith(prefix):
            continue
        name = key.removeprefix(prefix)
        if name.startswith(_VQGAN_PREFIXES):
            kept[name] = value
        elif name.startswith(_DISC_PREFIX):
            kept["discriminator." + name.removeprefix(_DISC_PREFIX)] = value
    disc_keys = [k for k in kept if k.startswith("discriminator.")]
    if disc_keys:
        layers = discriminator_layers_from_keys(disc_keys)
        config = VQGANConfig.from_dict({**config.to_dict(), "disc_num_layers": layers})
    _check_vqgan_state(checkpoint, config, kept)
    metadata = {FORMAT_KEY: VQGAN_FORMAT, "config": json.dumps(config.to_dict())}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    return _save_atomically(kept, out_dir / "weights.safetensors", metadata)


def convert_clip(checkpoint: Path, out_dir: Path, *, allow_pickle: bool = False) -> Path:
    """CLIP `.pt` (TorchScript archive or state dict) -> `out_dir/weights.safetensors`."""
    state = _clip_state_dict(checkpoint, allow_pickle=allow_pickle)
    from generator.clip_model import clip_from_state_dict

    try:
        model = clip_from_state_dict(dict(state))
    except Exception as exc:
        raise ConversionError(f"{checkpoint}: not a CLIP state dict ({exc})") from exc
    info = {
        "input_resolution": int(model.visual.input_resolution),
        "embed_dim": int(model.text_projection.shape[1]),
    }
    metadata = {FORMAT_KEY: CLIP_FORMAT, "config": json.dumps(info)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    tensors = {
        k: v
        for k, v in state.items()
        if k not in ("input_resolution", "context_length", "vocab_size")
    }
    return _save_atomically(tensors, out_dir / "weights.safetensors", metadata)


def _plain_state_dict(checkpoint: Path, *, allow_pickle: bool) -> dict[str, torch.Tensor]:
    """A `.pth` state dict, unwrapped from the usual containers (BasicSR's `params_ema` /
    `params`, Lightning's `state_dict`)."""
    loaded = read_torch_file(checkpoint, allow_pickle=allow_pickle)
    for wrapper in ("params_ema", "params", "state_dict"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(wrapper), Mapping):
            loaded = loaded[wrapper]
            break
    if not isinstance(loaded, Mapping):
        raise ConversionError(f"{checkpoint}: not a state dict")
    tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConversionError(f"{checkpoint}: holds no tensors")
    return tensors


def convert_aesthetic(checkpoint: Path, out_dir: Path, *, allow_pickle: bool = False) -> Path:
    """LAION aesthetic head `.pth` (a Linear(D, 1) state dict) -> `out_dir/weights.safetensors`."""
    from generator.aesthetic import AestheticHeadError, head_from_state_dict

    state = _plain_state_dict(checkpoint, allow_pickle=allow_pickle)
    try:
        head = head_from_state_dict(state, source=str(checkpoint))
    except AestheticHeadError as exc:
        raise ConversionError(str(exc)) from None
    info = {"embed_dim": int(head.in_features)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    metadata = {FORMAT_KEY: AESTHETIC_FORMAT, "config": json.dumps(info)}
    return _save_atomically(dict(head.state_dict()), out_dir / "weights.safetensors", metadata)


def convert_upscaler(checkpoint: Path, out_dir: Path, *, allow_pickle: bool = False) -> Path:
    """An ESRGAN-family `.pth` -> `out_dir/weights.safetensors`, after spandrel recognised it."""
    from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError

    state = _plain_state_dict(checkpoint, allow_pickle=allow_pickle)
    try:
        descriptor = ModelLoader().load_from_state_dict(state)
    except UnsupportedModelError:
        raise ConversionError(
            f"{checkpoint}: spandrel does not recognise this upscaler architecture"
        ) from None
    except Exception as exc:
        raise ConversionError(f"{checkpoint}: not a loadable upscaler ({exc})") from exc
    if not isinstance(descriptor, ImageModelDescriptor):
        raise ConversionError(f"{checkpoint}: {descriptor.architecture.id} is not an upscaler")
    info = {"architecture": descriptor.architecture.id, "scale": int(descriptor.scale)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    metadata = {FORMAT_KEY: UPSCALER_FORMAT, "config": json.dumps(info)}
    return _save_atomically(state, out_dir / "weights.safetensors", metadata)


def _clip_state_dict(checkpoint: Path, *, allow_pickle: bool) -> Mapping[str, torch.Tensor]:
    # OpenAI's files are TorchScript archives; torch.jit.load rebuilds TorchScript modules and
    # does not run arbitrary Python, and it is what `clip.load` itself does first.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated"
            archive = torch.jit.load(str(checkpoint), map_location="cpu")
        return archive.state_dict()
    except RuntimeError:
        pass
    loaded = read_torch_file(checkpoint, allow_pickle=allow_pickle)
    if isinstance(loaded, Mapping) and "state_dict" in loaded:
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise ConversionError(f"{checkpoint}: neither a TorchScript archive nor a state dict")
    return {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def _check_vqgan_state(path: Path, config: VQGANConfig, state: dict[str, torch.Tensor]) -> None:
    """Load into the real architecture so a wrong YAML fails now, not at generation time."""
    with torch.device("meta"):
        model = VQGAN(config)
    wanted = set(model.state_dict())
    ae_state = {k: v for k, v in state.items() if not k.startswith("discriminator.")}
    missing = sorted(wanted - set(ae_state))
    if missing:
        raise ConversionError(
            f"{path}: {len(missing)} autoencoder tensors missing, e.g. {missing[:3]}"
        )
    for key, tensor in model.state_dict().items():
        if tuple(ae_state[key].shape) != tuple(tensor.shape):
            raise ConversionError(
                f"{path}: {key} has shape {tuple(ae_state[key].shape)}, the config says "
                f"{tuple(tensor.shape)}"
            )
    for key in [k for k in ae_state if k not in wanted]:
        del state[key]  # e.g. an unused remap buffer


def _save_atomically(
    tensors: Mapping[str, torch.Tensor], target: Path, metadata: dict[str, str]
) -> Path:
    # safetensors refuses shared or strided storage: give every tensor its own contiguous copy.
    owned = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    fd, tmp = tempfile.mkstemp(prefix=".converting-", suffix=".safetensors", dir=target.parent)
    os.close(fd)
    try:
        save_file(owned, tmp, metadata=metadata)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
