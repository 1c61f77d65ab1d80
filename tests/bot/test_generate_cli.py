"""`bot prepare`, `bot generate` and `bot models` through the real CLI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from generator.tiny import (
    random_vqgan,
    save_lightning_checkpoint,
    tiny_vqgan_config,
)
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, Listing
from storage.models.frame import Frame

runner = CliRunner()


def _seed_db(data_dir: Path, count: int) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    blobs = BlobStore(data_dir / "blobs")
    with session_scope(engine) as session:
        for index in range(count):
            pixels = np.random.default_rng(index).integers(0, 256, (40, 40, 3), np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            listing = Listing(
                source="kaggle",
                marketplace="hive",
                item_id=f"i{index}",
                name=f"Piece {index}",
                image_blob=blobs.put_bytes(buffer.getvalue()).sha256,
            )
            session.add(listing)
            session.flush()
            category = ("Animals", "Scenery")[index % 2]  # a person's: no CLIP needed
            session.add(Artwork(listing_id=listing.id, override_category=category))
    engine.dispose()


@pytest.mark.timeout(180)
def test_prepare_then_generate_with_smoke_test_models(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_db(data_dir, 2)
    monkeypatch.setenv("BOT_GENERATOR_SIZE", "32")
    monkeypatch.setenv("BOT_PROMPT_TEMPLATE", "{category}: {title}")
    result = runner.invoke(app, ["prepare"])
    assert result.exit_code == 0, result.output
    assert "2 prepared (Animals 1, Scenery 1), 0 rejected, 0 failed" in result.output
    refused = runner.invoke(app, ["generate", "--steps", "2", "--cutn", "2"])
    assert refused.exit_code == 1
    assert "bot models download vqgan_wikiart_16384" in refused.output
    monkeypatch.setenv("BOT_ALLOW_SMOKE_TEST_MODELS", "true")
    result = runner.invoke(
        app,
        [
            "generate",
            *("--steps", "2", "--cutn", "2", "--batch", "2", "--device", "cpu"),
            *("--extra-prompt", "blurry:-0.5"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "UNTRAINED" in result.output
    assert "4 frames written, batches [2]" in result.output
    status = runner.invoke(app, ["status", "--json"])
    assert '"generated": 2' in status.output
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        prompts = {frame.prompt for frame in session.exec(select(Frame)).all()}
    assert prompts == {"Animals: Piece 0|blurry:-0.5", "Scenery: Piece 1|blurry:-0.5"}
    with session_scope(engine) as session:
        recorded = {artwork.prompt for artwork in session.exec(select(Artwork)).all()}
    assert recorded == {"Animals: Piece 0", "Scenery: Piece 1"}


def test_generate_rejects_other_states_and_bad_devices(data_dir: Path) -> None:
    assert runner.invoke(app, ["generate", "--state", "candidate"]).exit_code == 2
    assert runner.invoke(app, ["generate", "--device", "tpu"]).exit_code == 2


def test_models_list_convert_and_download_errors(data_dir: Path, tmp_path: Path) -> None:
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0
    assert "vqgan_wikiart_16384" in listed.output and "missing" in listed.output
    config = tiny_vqgan_config()
    ckpt = tmp_path / "mine.ckpt"
    save_lightning_checkpoint(random_vqgan(config), config, ckpt)
    converted = runner.invoke(app, ["models", "convert", str(ckpt), "--name", "my_vqgan"])
    assert converted.exit_code == 0, converted.output
    assert (data_dir / "models" / "my_vqgan" / "weights.safetensors").is_file()
    unknown = runner.invoke(app, ["models", "download", "no_such_model"])
    assert unknown.exit_code == 1 and "unknown weights" in unknown.output
