from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import clip
import pytest
import torch
import yaml
from safetensors import safe_open

from generator.convert import ConversionError, PickleRefused, convert_clip, convert_vqgan
from generator.registry import REGISTRY, WeightKind, get_spec
from generator.tiny import (
    TINY_CLIP_ARCH,
    random_clip,
    random_vqgan,
    save_clip_checkpoint,
    save_lightning_checkpoint,
    tiny_vqgan_config,
    vqgan_yaml,
)
from generator.vqgan import VQGANConfig
from generator.weights import (
    MissingWeights,
    WeightsStore,
    load_clip_file,
    load_discriminator_file,
    load_vqgan_file,
)


def test_registry_knows_the_seed_models_and_clip_digests() -> None:
    assert {
        "vqgan_wikiart_16384",
        "vqgan_imagenet_f16_16384",
        "vqgan_imagenet_f16_1024",
        "clip_vit_b32",
        "clip_vit_b16",
    } <= set(REGISTRY)
    b32 = get_spec("clip_vit_b32")
    assert b32.kind is WeightKind.CLIP
    assert b32.checkpoint.sha256 in b32.checkpoint.url  # OpenAI puts the digest in the URL
    assert get_spec("vqgan_wikiart_16384").config is not None
    with pytest.raises(KeyError, match="known"):
        get_spec("nope")


def test_vqgan_checkpoint_conversion_round_trip(tmp_path: Path) -> None:
    config = tiny_vqgan_config()
    model = random_vqgan(config, seed=3)
    ckpt = tmp_path / "m.ckpt"
    save_lightning_checkpoint(model, config, ckpt)
    converted = convert_vqgan(ckpt, ckpt.with_suffix(".yaml"), tmp_path / "out")
    with safe_open(str(converted), framework="pt") as handle:
        keys = set(handle.keys())
    assert not any(k.startswith("loss.perceptual") for k in keys)  # LPIPS pruned
    assert any(k.startswith("discriminator.main.") for k in keys)  # critic kept
    loaded = load_vqgan_file(converted)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded.decode(loaded.encode(x)), model.decode(model.encode(x)))
    disc = load_discriminator_file(converted)
    assert disc(x).shape[0] == 1
    assert (tmp_path / "out" / "config.json").is_file()


def test_conversion_rejects_a_yaml_that_does_not_match(tmp_path: Path) -> None:
    config = tiny_vqgan_config()
    ckpt = tmp_path / "m.ckpt"
    save_lightning_checkpoint(random_vqgan(config), config, ckpt)
    wrong = VQGANConfig.from_dict({**config.to_dict(), "n_embed": 99})
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(yaml.safe_dump(vqgan_yaml(wrong)))
    with pytest.raises(ConversionError, match=r"quantize\.embedding\.weight"):
        convert_vqgan(ckpt, bad_yaml, tmp_path / "out")


def test_a_checkpoint_that_needs_unpickling_is_refused_unless_allowed(tmp_path: Path) -> None:
    config = tiny_vqgan_config()
    ckpt = tmp_path / "m.ckpt"
    save_lightning_checkpoint(random_vqgan(config), config, ckpt)
    loaded = torch.load(ckpt, weights_only=True)
    loaded["hyper_parameters"] = _Custom()  # an arbitrary object, as Lightning may pickle
    torch.save(loaded, ckpt)
    with pytest.raises(PickleRefused, match="--allow-pickle"):
        convert_vqgan(ckpt, ckpt.with_suffix(".yaml"), tmp_path / "out")
    convert_vqgan(ckpt, ckpt.with_suffix(".yaml"), tmp_path / "out", allow_pickle=True)


class _Custom:
    pass


def test_legacy_format_converts_and_garbage_is_named(tmp_path: Path) -> None:
    config = tiny_vqgan_config()
    model = random_vqgan(config)
    ckpt = tmp_path / "legacy.ckpt"
    save_lightning_checkpoint(model, config, ckpt)
    state = torch.load(ckpt, weights_only=True)
    torch.save(state, ckpt, _use_new_zipfile_serialization=False)  # pre-1.6 format
    assert load_vqgan_file(convert_vqgan(ckpt, ckpt.with_suffix(".yaml"), tmp_path / "a"))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"<html>not found</html>")
    with pytest.raises(ConversionError, match=r"garbage\.ckpt: cannot be read"):
        convert_vqgan(garbage, ckpt.with_suffix(".yaml"), tmp_path / "b")


def test_clip_state_dict_and_torchscript_convert_and_load(tmp_path: Path) -> None:
    model = random_clip(TINY_CLIP_ARCH, seed=4)
    path = tmp_path / "tiny.pt"
    save_clip_checkpoint(model, path)
    loaded = load_clip_file(convert_clip(path, tmp_path / "out"))
    image = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded.encode_image(image), model.encode_image(image))
    # OpenAI ships TorchScript archives: converted through torch.jit.load, never unpickled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(
            model, (torch.rand(1, 3, 32, 32), clip.tokenize(["a"])), check_trace=False
        )
    traced.save(str(tmp_path / "archive.pt"))
    from_archive = load_clip_file(convert_clip(tmp_path / "archive.pt", tmp_path / "jit"))
    assert torch.equal(from_archive.encode_image(image), model.encode_image(image))


def test_store_loads_tiny_models_through_the_converted_files(
    tiny_store: WeightsStore, tiny_models: tuple[torch.nn.Module, torch.nn.Module]
) -> None:
    assert tiny_store.status("smoke_vqgan_tiny").state == "converted"
    assert tiny_store.status("smoke_clip_tiny").state == "converted"


def test_missing_weights_name_the_file_the_url_and_the_command(tmp_path: Path) -> None:
    store = WeightsStore(tmp_path)
    assert store.status("vqgan_wikiart_16384").state == "missing"
    with pytest.raises(MissingWeights) as caught:
        store.load_vqgan("vqgan_wikiart_16384")
    message = str(caught.value)
    assert "vqgan_wikiart_16384.ckpt" in message
    assert "eaidata.bmk.sh" in message
    assert "bot models download vqgan_wikiart_16384" in message


def test_hand_placed_originals_are_found_and_converted(tmp_path: Path) -> None:
    config = tiny_vqgan_config()
    save_lightning_checkpoint(random_vqgan(config), config, tmp_path / "vqgan_wikiart_16384.ckpt")
    store = WeightsStore(tmp_path)
    assert store.status("vqgan_wikiart_16384").state == "downloaded"
    model = store.load_vqgan("vqgan_wikiart_16384")
    assert model.codebook.shape == (128, 16)
    assert store.converted_path("vqgan_wikiart_16384").is_file()


def test_a_changed_download_is_not_converted(tmp_path: Path, tiny_store: WeightsStore) -> None:
    store = WeightsStore(tmp_path)
    source = tiny_store.cache_dir / "smoke_clip_tiny" / "smoke_clip_tiny.pt"
    target = tmp_path / "smoke_clip_tiny" / "smoke_clip_tiny.pt"
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    target.with_name(target.name + ".sha256").write_text("0" * 64 + "\n")
    with pytest.raises(ConversionError, match="content changed"):
        store.ensure_converted("smoke_clip_tiny")
