"""The VQGAN discriminator as a critic, and the aesthetic head, through the real weights path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from safetensors import safe_open
from skimage import data as photos

from generator.clip_scores import embed_images, to_batch
from generator.convert import ConversionError, convert_vqgan
from generator.critic import critic_scores
from generator.frame_scores import FrameScorer, ScoreJob
from generator.tiny import random_vqgan, save_lightning_checkpoint, tiny_vqgan_config
from generator.vqgan import VQGANConfig, build_discriminator
from generator.weights import WeightsStore, load_discriminator_file

CPU = torch.device("cpu")


def checkpoint(tmp_path: Path, *, layers: int, yaml_layers: int | None = None) -> Path:
    """A Lightning-style .ckpt with `loss.discriminator.*` of `layers` layers; the YAML may
    claim another count (released YAMLs often omit or misstate it)."""
    config = VQGANConfig.from_dict({**tiny_vqgan_config().to_dict(), "disc_num_layers": layers})
    ckpt = tmp_path / "critic_vqgan" / "critic_vqgan.ckpt"
    save_lightning_checkpoint(random_vqgan(config), config, ckpt, seed=3)
    if yaml_layers is not None:
        document = yaml.safe_load(ckpt.with_suffix(".yaml").read_text())
        document["model"]["params"]["lossconfig"]["params"]["disc_num_layers"] = yaml_layers
        ckpt.with_suffix(".yaml").write_text(yaml.safe_dump(document))
    return ckpt


def frames() -> torch.Tensor:
    images = [Image.fromarray(photos.astronaut()).resize((64, 64)), Image.new("RGB", (64, 64))]
    return to_batch(images)


def test_the_critic_loads_from_a_checkpoint_with_discriminator_keys(tmp_path: Path) -> None:
    ckpt = checkpoint(tmp_path, layers=3, yaml_layers=1)  # the keys say 3, the YAML says 1
    raw = torch.load(ckpt, weights_only=True)["state_dict"]
    store = WeightsStore(tmp_path)
    discriminator = store.load_discriminator("critic_vqgan")
    config = json.loads((tmp_path / "critic_vqgan" / "config.json").read_text())
    assert config["disc_num_layers"] == 3
    # the same weights as the checkpoint's loss.discriminator.*
    for key, value in discriminator.state_dict().items():
        assert torch.equal(value, raw[f"loss.discriminator.{key}"]), key
    scores = critic_scores(discriminator, frames(), CPU)
    expected = discriminator(frames().float() / 127.5 - 1.0).mean(dim=(1, 2, 3))
    assert scores == pytest.approx(expected.tolist(), abs=1e-6)
    assert scores[0] != scores[1]


def test_the_critic_loads_from_a_converted_safetensors_file(tmp_path: Path) -> None:
    ckpt = checkpoint(tmp_path, layers=2)
    converted = convert_vqgan(ckpt, ckpt.with_suffix(".yaml"), tmp_path / "converted")
    with safe_open(str(converted), framework="pt") as handle:
        keys = list(handle.keys())
    assert any(k.startswith("discriminator.main.") for k in keys)
    assert not any(k.startswith("loss.") for k in keys)  # LPIPS stand-in dropped
    discriminator = load_discriminator_file(converted)
    reference = build_discriminator(VQGANConfig.from_dict({**tiny_vqgan_config().to_dict()}))
    assert discriminator.state_dict().keys() == reference.state_dict().keys()
    assert len(critic_scores(discriminator, frames(), CPU)) == 2


def test_a_vqgan_without_a_discriminator_gives_no_critic(tmp_path: Path) -> None:
    ckpt = checkpoint(tmp_path, layers=2)
    state = torch.load(ckpt, weights_only=False)
    state["state_dict"] = {
        k: v for k, v in state["state_dict"].items() if not k.startswith("loss.discriminator.")
    }
    torch.save(state, ckpt)
    store = WeightsStore(tmp_path)
    with pytest.raises(ConversionError, match="no discriminator"):
        store.load_discriminator("critic_vqgan")


def test_the_aesthetic_head_loads_through_the_registry(tmp_path: Path, tiny_models: tuple) -> None:
    _, clip_model = tiny_models
    dim = int(clip_model.text_projection.shape[1])
    torch.manual_seed(5)
    head = torch.nn.Linear(dim, 1)
    target = tmp_path / "laion_aesthetic_vit_b32" / "sa_0_4_vit_b_32_linear.pth"
    target.parent.mkdir(parents=True)
    torch.save(head.state_dict(), target)  # the LAION file's layout: {"weight", "bias"}
    store = WeightsStore(tmp_path)
    assert store.status("laion_aesthetic_vit_b32").state == "downloaded"
    loaded = store.load_aesthetic("laion_aesthetic_vit_b32")
    assert store.status("laion_aesthetic_vit_b32").state == "converted"
    image = Image.fromarray(photos.coffee()).resize((64, 64))
    scorer = FrameScorer(clip_model, CPU, discriminator_for=lambda _: None, aesthetic_head=loaded)
    [score] = scorer.score(ScoreJob(1, [image], ["coffee"], sources=[image], vqgan=None))
    embedding = embed_images(clip_model, to_batch([image]), CPU)
    with torch.no_grad():
        expected = float(head(embedding.clone())[0, 0])
    assert score.aesthetic == pytest.approx(expected, abs=1e-5)
