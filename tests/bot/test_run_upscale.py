"""`bot run` with BOT_UPSCALE_ENABLED: the chosen frame is upscaled (ESRGAN through spandrel,
tiny random weights in the real checkpoint format) before it is pinned, and the image that is
pinned, minted and listed is the upscaled one, for every artwork of the sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from generator.tiny import random_esrgan_state, save_esrgan_checkpoint
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.ipfs.unixfs import import_file
from storage.models import Artwork
from storage.models.pin import Pin
from tests.bot.pipeline_world import (
    TOP,
    base_env,
    build_template,
    check_market,
    new_world,
    run_and_kill,
)
from tests.marketplace.rarible_server import running_rarible_server

pytestmark = [pytest.mark.slow]
GENERATED_SIDE = 32  # BOT_GENERATOR_SIZE in the pipeline world


@pytest.mark.timeout(900)
def test_bot_run_upscales_the_chosen_frame_and_pins_and_lists_the_upscaled_image(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    template = build_template(tmp_path_factory.mktemp("world"))
    data_dir = new_world(template, tmp_path)
    weights = tmp_path / "weights"
    shutil.copytree(template.parent / "weights", weights)
    save_esrgan_checkpoint(
        random_esrgan_state(2, num_filters=8, num_blocks=1),
        weights / "realesrgan_x2plus" / "RealESRGAN_x2plus.pth",
    )
    with running_rarible_server(api_key="k-world") as (base, state):
        env = {
            **base_env(data_dir, base, weights),
            "BOT_UPSCALE_ENABLED": "true",
            "BOT_UPSCALE_SCALE": "2",
            "BOT_UPSCALE_TILE": "32",
        }
        outcome = run_and_kill(env, tmp_path, target=None, delay_s=0, timeout_s=800)
        assert outcome.returncode == 0, outcome.log[-3000:]
        check = check_market(data_dir, state)
        assert check.ok and check.listed == TOP, check

    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    blobs = BlobStore(data_dir / "blobs")
    try:
        with session_scope(engine) as session:
            listed = [a for a in session.exec(select(Artwork)).all() if a.state == "listed"]
            images = {
                pin.artwork_id: pin.cid
                for pin in session.exec(select(Pin).where(Pin.kind == "image")).all()
            }
    finally:
        engine.dispose()
    assert len(listed) == TOP
    for artwork in listed:
        assert artwork.upscaled_blob, f"artwork {artwork.id} was listed without upscaling"
        upscaled = blobs.path_for(artwork.upscaled_blob)
        assert Image.open(upscaled).size == (2 * GENERATED_SIDE, 2 * GENERATED_SIDE)
        assert images[artwork.id] == str(import_file(upscaled, cid_version=1).cid)


def test_the_stage_filter_and_the_upscaler_name_an_upscale_alike(data_dir: Path) -> None:
    """The pipeline picks artworks by the label the upscaler records on them."""
    from bot.pipeline.upscale_stage import upscale_context
    from bot.settings import load_settings

    settings = load_settings(environ={}, upscale_scale=2, data_dir=data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    try:
        context = upscale_context(engine, BlobStore(data_dir / "blobs"), settings)
    finally:
        engine.dispose()
    assert context.label == settings.upscaler_label == "realesrgan_x2plus x2"
