"""The weights the generator knows by name, with where they come from.

CLIP files carry their SHA-256 in the URL (OpenAI's convention, read by `clip._download`).
The VQGAN checkpoints were never published with a checksum, so their `sha256` is None: the
first download records the digest next to the file and later checks compare against that
(trust on first use), and a user who knows the digest can pass it to `bot models download`.

The frame critic's aesthetic head and the Real-ESRGAN upscalers are not published with a
checksum by their authors either; their SHA-256 here is the digest that several independent
projects pin for these exact release URLs (e.g. the Arch Linux AUR `realesrgan` package's
`sha256sums` for both Real-ESRGAN files), so a changed file is refused rather than trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class WeightKind(StrEnum):
    VQGAN = "vqgan"
    CLIP = "clip"
    AESTHETIC = "aesthetic"  # a linear head on CLIP embeddings (frame critic)
    UPSCALER = "upscaler"  # an ESRGAN-family super-resolution net, loaded with spandrel


@dataclass(frozen=True)
class RemoteFile:
    url: str
    filename: str
    sha256: str | None = None


@dataclass(frozen=True)
class WeightSpec:
    name: str
    kind: WeightKind
    description: str
    files: tuple[RemoteFile, ...]
    approx_bytes: int

    @property
    def checkpoint(self) -> RemoteFile:
        """The file holding the tensors (the .ckpt or the CLIP .pt)."""
        return self.files[0]

    @property
    def config(self) -> RemoteFile | None:
        """The VQGAN YAML config; CLIP infers its architecture from the state dict."""
        return self.files[1] if len(self.files) > 1 else None


def _clip(name: str, model: str, sha256: str, filename: str) -> WeightSpec:
    url = f"https://openaipublic.azureedge.net/clip/models/{sha256}/{filename}"
    return WeightSpec(
        name=name,
        kind=WeightKind.CLIP,
        description=f"OpenAI CLIP {model}",
        files=(RemoteFile(url, filename, sha256),),
        approx_bytes=350_000_000,
    )


def _heibox(name: str, share: str, description: str, size: int) -> WeightSpec:
    base = f"https://heibox.uni-heidelberg.de/d/{share}/files/?p="
    return WeightSpec(
        name=name,
        kind=WeightKind.VQGAN,
        description=description,
        files=(
            RemoteFile(f"{base}%2Fckpts%2Flast.ckpt&dl=1", f"{name}.ckpt"),
            RemoteFile(f"{base}%2Fconfigs%2Fmodel.yaml&dl=1", f"{name}.yaml"),
        ),
        approx_bytes=size,
    )


def _esrgan(name: str, release: str, filename: str, sha256: str, scale: int) -> WeightSpec:
    url = f"https://github.com/xinntao/Real-ESRGAN/releases/download/{release}/{filename}"
    return WeightSpec(
        name=name,
        kind=WeightKind.UPSCALER,
        description=f"Real-ESRGAN x{scale}plus (RRDBNet), general images, for upscaling",
        files=(RemoteFile(url, filename, sha256),),
        approx_bytes=67_000_000,
    )


_WIKIART = "http://eaidata.bmk.sh/data/Wikiart_16384/wikiart_f16_16384_8145600"
_LAION_AESTHETIC = "https://github.com/LAION-AI/aesthetic-predictor/raw/main"

REGISTRY: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec(
            name="vqgan_wikiart_16384",
            kind=WeightKind.VQGAN,
            description="VQGAN f16, 16384 codes, trained on WikiArt (the seed's model)",
            files=(
                RemoteFile(f"{_WIKIART}.ckpt", "vqgan_wikiart_16384.ckpt"),
                RemoteFile(f"{_WIKIART}.yaml", "vqgan_wikiart_16384.yaml"),
            ),
            approx_bytes=1_000_000_000,
        ),
        _heibox(
            "vqgan_imagenet_f16_16384",
            "a7530b09fed84f80a887",
            "VQGAN f16, 16384 codes, ImageNet",
            980_000_000,
        ),
        _heibox(
            "vqgan_imagenet_f16_1024",
            "8088892a516d4e3baf92",
            "VQGAN f16, 1024 codes, ImageNet",
            958_000_000,
        ),
        _clip(
            "clip_vit_b32",
            "ViT-B/32",
            "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            "ViT-B-32.pt",
        ),
        _clip(
            "clip_vit_b16",
            "ViT-B/16",
            "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f",
            "ViT-B-16.pt",
        ),
        WeightSpec(
            name="laion_aesthetic_vit_b32",
            kind=WeightKind.AESTHETIC,
            description="LAION aesthetic predictor: linear head on CLIP ViT-B/32 (frame critic)",
            files=(
                RemoteFile(
                    f"{_LAION_AESTHETIC}/sa_0_4_vit_b_32_linear.pth",
                    "sa_0_4_vit_b_32_linear.pth",
                    "c7b14cead230694acc7b9447974d3cad78003c72da032e402a303b6c2429e85f",
                ),
            ),
            approx_bytes=3_047,
        ),
        _esrgan(
            "realesrgan_x4plus",
            "v0.1.0",
            "RealESRGAN_x4plus.pth",
            "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            4,
        ),
        _esrgan(
            "realesrgan_x2plus",
            "v0.2.1",
            "RealESRGAN_x2plus.pth",
            "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
            2,
        ),
    )
}


class UnknownWeights(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown weights {self.name!r}; known: {', '.join(sorted(REGISTRY))}"


def get_spec(name: str) -> WeightSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownWeights(name) from None
