"""Find, fetch, convert and load weights by name.

Layout of the cache dir (`<data_dir>/models/`, or the user's `weights_dir`):

    <name>/weights.safetensors   converted, what the loader reads (+ config.json)
    <name>/<file from registry>  downloaded originals (.ckpt + .yaml, or CLIP .pt)
    <file from registry>         originals placed by hand directly in the dir also count

Loading only ever reads safetensors; originals are converted on first use (weights-only
`torch.load`) or explicitly with `bot models convert`.

Finding weights (`WeightsStore.status`, `available`) needs no torch: `bot models list` and
`bot doctor` use it on an install without the generator extra, and torch, safetensors and
the model code are imported only where weights are converted or loaded.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.registry import REGISTRY, WeightKind, WeightSpec, get_spec

if TYPE_CHECKING:
    import torch
    from clip.model import CLIP

    from generator.vqgan import VQGAN

CONVERTED_NAME = "weights.safetensors"


class MissingWeights(FileNotFoundError):
    def __init__(self, name: str, expected: Path, urls: list[str], raw_paths: list[Path]) -> None:
        where = ", ".join(str(p) for p in raw_paths) or "(no originals known)"
        fetch = f"`bot models download {name}`" if urls else "place the files by hand"
        message = (
            f"weights {name!r} not found: expected {expected} or the originals {where}; "
            f"fetch them with {fetch}"
        )
        if urls:
            message += " from " + " and ".join(urls)
        message += ", or point BOT_WEIGHTS_DIR at a directory that holds them"
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class WeightStatus:
    name: str
    kind: str
    state: str  # converted | downloaded | missing
    path: Path | None
    description: str


class WeightsStore:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)

    # --- where things are -----------------------------------------------------------------
    def converted_path(self, name: str) -> Path:
        return self.cache_dir / name / CONVERTED_NAME

    def raw_files(self, name: str) -> list[Path]:
        """First existing location of each original file, or the download target."""
        return [
            self._find_raw(name, filename) or self.cache_dir / name / filename
            for filename in self._raw_filenames(name)
        ]

    def _raw_filenames(self, name: str) -> list[str]:
        spec = REGISTRY.get(name)
        if spec is not None:
            return [f.filename for f in spec.files]
        # Local weights not in the registry (tiny smoke-test models, user conversions).
        for suffixes in ((".ckpt", ".yaml"), (".pt",)):
            if all(self._find_raw(name, name + s) for s in suffixes):
                return [name + s for s in suffixes]
        return []

    def _find_raw(self, name: str, filename: str) -> Path | None:
        for candidate in (self.cache_dir / name / filename, self.cache_dir / filename):
            if candidate.is_file():
                return candidate
        return None

    def status(self, name: str) -> WeightStatus:
        spec = REGISTRY.get(name)
        kind = spec.kind.value if spec else "local"
        description = spec.description if spec else "local weights"
        converted = self.converted_path(name)
        if converted.is_file():
            return WeightStatus(name, kind, "converted", converted, description)
        raws = self.raw_files(name)
        if raws and all(p.is_file() for p in raws):
            return WeightStatus(name, kind, "downloaded", raws[0], description)
        return WeightStatus(name, kind, "missing", None, description)

    # --- getting them -----------------------------------------------------------------------
    def download(
        self, name: str, *, progress: bool = True, expected_sha256: str | None = None
    ) -> list[Path]:
        """Fetch the originals of a registered model (resuming), verify, record digests."""
        from generator.download import download

        spec = get_spec(name)
        paths = []
        for index, remote in enumerate(spec.files):
            target = self.cache_dir / name / remote.filename
            wanted = remote.sha256 or (expected_sha256 if index == 0 else None)
            wanted = wanted or self._recorded_digest(target)
            digest = download(remote.url, target, sha256=wanted, progress=progress)
            target.with_name(target.name + ".sha256").write_text(digest + "\n")
            paths.append(target)
        return paths

    def _recorded_digest(self, target: Path) -> str | None:
        record = target.with_name(target.name + ".sha256")
        return record.read_text().strip() if record.is_file() and target.is_file() else None

    def ensure_converted(self, name: str, *, allow_pickle: bool = False) -> Path:
        from generator import convert
        from generator.download import sha256_of

        converted = self.converted_path(name)
        if converted.is_file():
            return converted
        raws = self.raw_files(name)
        if not raws or not all(p.is_file() for p in raws):
            spec = REGISTRY.get(name)
            urls = [f.url for f in spec.files] if spec else []
            raise MissingWeights(name, converted, urls, raws)
        for raw in raws:
            recorded = raw.with_name(raw.name + ".sha256")
            if recorded.is_file() and sha256_of(raw) != recorded.read_text().strip():
                raise convert.ConversionError(
                    f"{raw}: content changed since it was downloaded (SHA-256 differs from "
                    f"{recorded.name}); delete it and run `bot models download {name}`"
                )
        kind = self._kind(name, raws)
        if kind is WeightKind.VQGAN:
            return convert.convert_vqgan(
                raws[0], raws[1], converted.parent, allow_pickle=allow_pickle
            )
        if kind is WeightKind.AESTHETIC:
            return convert.convert_aesthetic(raws[0], converted.parent, allow_pickle=allow_pickle)
        if kind is WeightKind.UPSCALER:
            return convert.convert_upscaler(raws[0], converted.parent, allow_pickle=allow_pickle)
        return convert.convert_clip(raws[0], converted.parent, allow_pickle=allow_pickle)

    def _kind(self, name: str, raws: list[Path]) -> WeightKind:
        spec: WeightSpec | None = REGISTRY.get(name)
        if spec is not None:
            return spec.kind
        return WeightKind.VQGAN if raws[0].suffix == ".ckpt" else WeightKind.CLIP

    def load_vqgan(self, name: str, device: torch.device | str = "cpu") -> VQGAN:
        return load_vqgan_file(self.ensure_converted(name), device)

    def load_clip(self, name: str, device: torch.device | str = "cpu") -> CLIP:
        return load_clip_file(self.ensure_converted(name), device)

    def load_discriminator(self, name: str, device: torch.device | str = "cpu") -> torch.nn.Module:
        """The discriminator kept in a VQGAN's converted file (the frame critic)."""
        return load_discriminator_file(self.ensure_converted(name), device)

    def load_aesthetic(self, name: str, device: torch.device | str = "cpu") -> torch.nn.Linear:
        return load_aesthetic_file(self.ensure_converted(name), device)

    def load_upscaler(self, name: str, device: torch.device | str = "cpu") -> Any:
        """A spandrel `ImageModelDescriptor` (call it on [1, 3, H, W] images in [0, 1])."""
        return load_upscaler_file(self.ensure_converted(name), device)

    def available(self, name: str) -> bool:
        return self.status(name).state != "missing"


def _metadata(path: Path, expected_format: str) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return _checked_format(metadata, str(path), expected_format)


def _metadata_of_bytes(data: bytes, what: str, expected_format: str) -> dict[str, str]:
    """The metadata of safetensors bytes: an 8-byte little-endian header length, then the
    JSON header, whose `__metadata__` holds it (the format's specification)."""
    from generator import convert

    try:
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + length])
        metadata = header.get("__metadata__") or {}
    except (struct.error, ValueError, AttributeError) as exc:
        raise convert.ConversionError(f"{what}: not a safetensors file ({exc})") from None
    return _checked_format(metadata, what, expected_format)


def _checked_format(metadata: dict[str, str], what: str, expected_format: str) -> dict[str, str]:
    from generator import convert

    if metadata.get(convert.FORMAT_KEY) != expected_format:
        raise convert.ConversionError(
            f"{what}: not a converted {expected_format} file "
            f"(format {metadata.get(convert.FORMAT_KEY)!r})"
        )
    return metadata


def load_vqgan_file(path: Path, device: torch.device | str = "cpu") -> VQGAN:
    from safetensors.torch import load_file

    from generator import convert

    metadata = _metadata(path, convert.VQGAN_FORMAT)
    return _vqgan_from(metadata, load_file(str(path)), device)


def load_vqgan_bytes(data: bytes, device: torch.device | str = "cpu", what: str = "VQGAN") -> VQGAN:
    """The same as `load_vqgan_file` from the file's bytes (weights shipped to a worker)."""
    from safetensors.torch import load

    from generator import convert

    metadata = _metadata_of_bytes(data, what, convert.VQGAN_FORMAT)
    return _vqgan_from(metadata, load(data), device)


def _vqgan_from(
    metadata: dict[str, str], state: dict[str, torch.Tensor], device: torch.device | str
) -> VQGAN:
    from generator.vqgan import VQGAN, VQGANConfig

    config = VQGANConfig.from_dict(json.loads(metadata["config"]))
    model = VQGAN(config)
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("discriminator.")})
    model.requires_grad_(False)
    return model.eval().to(device)


def load_discriminator_file(path: Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The VQGAN's PatchGAN discriminator (for the critic); feed it images in [-1, 1]."""
    from safetensors.torch import load_file

    from generator import convert
    from generator.vqgan import VQGANConfig, build_discriminator

    config = VQGANConfig.from_dict(json.loads(_metadata(path, convert.VQGAN_FORMAT)["config"]))
    state = load_file(str(path))
    disc_state = {
        k.removeprefix("discriminator."): v
        for k, v in state.items()
        if k.startswith("discriminator.")
    }
    if not disc_state:
        raise convert.ConversionError(f"{path}: the checkpoint had no discriminator weights")
    model = build_discriminator(config)
    model.load_state_dict(disc_state)
    model.requires_grad_(False)
    return model.eval().to(device)


def load_aesthetic_file(path: Path, device: torch.device | str = "cpu") -> torch.nn.Linear:
    from safetensors.torch import load_file

    from generator import convert
    from generator.aesthetic import head_from_state_dict

    _metadata(path, convert.AESTHETIC_FORMAT)
    return head_from_state_dict(load_file(str(path)), source=str(path)).to(device)


def load_upscaler_file(path: Path, device: torch.device | str = "cpu") -> Any:
    from safetensors.torch import load_file
    from spandrel import ImageModelDescriptor, ModelLoader

    from generator import convert

    _metadata(path, convert.UPSCALER_FORMAT)
    descriptor = ModelLoader(device=device).load_from_state_dict(load_file(str(path)))
    if not isinstance(descriptor, ImageModelDescriptor):
        raise convert.ConversionError(f"{path}: not an image-to-image upscaler")
    descriptor.model.requires_grad_(False)
    return descriptor.eval()


def load_clip_file(path: Path, device: torch.device | str = "cpu") -> CLIP:
    from safetensors.torch import load_file

    from generator import convert
    from generator.clip_model import clip_from_state_dict

    _metadata(path, convert.CLIP_FORMAT)
    return clip_from_state_dict(load_file(str(path))).to(device)


def load_clip_bytes(data: bytes, device: torch.device | str = "cpu", what: str = "CLIP") -> CLIP:
    """The same as `load_clip_file` from the file's bytes (weights shipped to a worker)."""
    from safetensors.torch import load

    from generator import convert
    from generator.clip_model import clip_from_state_dict

    _metadata_of_bytes(data, what, convert.CLIP_FORMAT)
    return clip_from_state_dict(load(data)).to(device)
