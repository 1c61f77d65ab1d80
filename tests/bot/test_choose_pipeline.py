"""Scoring with the real (tiny) models, the pin and publish guards, upscaling before pinning,
and the provenance that reaches the NFT metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.pipeline.choose_stage import choose_by_person
from bot.pipeline.guards import PinPolicy, PublishRefused, publish_refusal
from bot.pipeline.pin_stage import pin_artwork
from bot.pipeline.score_stage import load_scorer, score_artworks
from generator.tiny import random_esrgan_state, save_esrgan_checkpoint, write_smoke_test_weights
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.profiles import LEGACY_V1
from storage.ipfs.targets import PinTarget
from storage.models import Artwork, ArtworkEvent, ArtworkState
from storage.models.frame import Frame
from storage.models.pin import Pin
from tests.bot.choose_fixtures import add_generated, chosen_iterations, noise_image, png, scored
from tests.marketplace.cli_helpers import setup_wallet
from tests.marketplace.helpers import add_pinned_artwork
from tests.marketplace.rarible_server import running_rarible_server

SMOKE = "smoke_vqgan_tiny+smoke_clip_tiny (untrained smoke test)"
runner = CliRunner()


@pytest.fixture
def smoke_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "models"
    write_smoke_test_weights(cache)
    monkeypatch.setenv("BOT_WEIGHTS_DIR", str(cache))
    monkeypatch.setenv("BOT_ALLOW_SMOKE_TEST_MODELS", "true")
    return cache


def world(data_dir: Path) -> tuple:  # type: ignore[type-arg]
    data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(f"sqlite:///{data_dir / 'bot.db'}"), BlobStore(data_dir / "blobs")


def test_frames_are_scored_in_batches_with_the_real_tiny_models(
    tmp_path: Path, smoke_weights: Path
) -> None:
    import torch

    engine, blobs = world(tmp_path / "data")
    source = noise_image(1, 48)
    images = [source, *(noise_image(100 + i, 48) for i in range(4))]  # frame 0: the source
    artwork_id = add_generated(engine, blobs, [{}] * 5, source=source, images=images, model=SMOKE)
    loaded = load_scorer(smoke_weights, "smoke_clip_tiny", None, torch.device("cpu"), batch_size=2)
    [outcome] = score_artworks(engine, blobs, loaded, [artwork_id], progress=False)
    assert outcome.ok and outcome.scored == 5
    with session_scope(engine) as session:
        frames = session.exec(
            select(Frame).where(Frame.artwork_id == artwork_id).order_by(col(Frame.iteration))
        ).all()
    for frame in frames:
        assert frame.scored_at is not None
        assert frame.score_models == "clip=smoke_clip_tiny; critic=smoke_vqgan_tiny; aesthetic=-"
        assert None not in (frame.prompt_similarity, frame.source_similarity, frame.critic)
        assert frame.sharpness and frame.colourfulness and frame.blockiness
    assert frames[0].hash_distance == 0 and frames[0].source_similarity == pytest.approx(
        1, abs=1e-4
    )
    assert all(f.hash_distance >= 16 for f in frames[1:])
    again = score_artworks(engine, blobs, loaded, [artwork_id], progress=False)
    assert again[0].detail == "already scored"


def test_cli_scores_then_chooses_and_leaves_the_copy_out(
    data_dir: Path, smoke_weights: Path
) -> None:
    engine, blobs = world(data_dir)
    source = noise_image(2, 48)
    images = [source, noise_image(7, 48), noise_image(8, 48)]
    artwork_id = add_generated(engine, blobs, [{}] * 3, source=source, images=images, model=SMOKE)
    result = runner.invoke(app, ["choose", "--auto"])
    assert result.exit_code == 0, result.output
    assert "3 frames scored" in result.output
    assert "near-copies left out: [0]" in result.output
    assert chosen_iterations(engine, artwork_id) in ([1], [2])
    listed = json.loads(runner.invoke(app, ["frames", str(artwork_id), "--json"]).output)
    assert listed[0]["frames"][0]["near_copy"] is True
    assert "perceptual hash 0/64 bits" in listed[0]["frames"][0]["near_copy_reason"]
    assert listed[0]["choice_reason"]["runner_up"]["iteration"] in (1, 2)


def test_bot_score_scores_once_and_says_when_there_is_nothing_to_score(
    data_dir: Path, smoke_weights: Path
) -> None:
    engine, blobs = world(data_dir)
    artwork_id = add_generated(
        engine, blobs, [{}] * 2, images=[noise_image(7, 48), noise_image(8, 48)], model=SMOKE
    )
    first = runner.invoke(app, ["score"])
    assert first.exit_code == 0, first.output
    assert f"artwork {artwork_id}:" in first.output
    again = runner.invoke(app, ["score"])
    assert again.exit_code == 0 and "nothing to score" in again.output
    rescored = runner.invoke(app, ["score", "--rescore"])
    assert rescored.exit_code == 0 and f"artwork {artwork_id}:" in rescored.output


def chosen_artwork(
    engine,
    blobs,
    *,
    copy: bool = False,
    model: str = "vqgan_wikiart_16384+clip_vit_b32",
    item_id: str = "x",
) -> int:  # type: ignore[no-untyped-def]
    source = noise_image(3, 48)
    frame = source if copy else noise_image(4, 48)
    artwork_id = add_generated(
        engine,
        blobs,
        [{}, {}],
        source=source,
        images=[noise_image(5, 48), frame],
        model=model,
        item_id=item_id,
    )
    with session_scope(engine) as session:
        choose_by_person(session, session.get(Artwork, artwork_id), 1)
    return artwork_id


def pin(engine, blobs, data_dir: Path, artwork_id: int, policy: PinPolicy):  # type: ignore[no-untyped-def]
    return pin_artwork(
        engine,
        artwork_id,
        targets=[PinTarget("local", "local", True, LocalBlockstore(data_dir / "ipfs"))],
        blobs=blobs,
        profile=LEGACY_V1,
        generator_version="test",
        policy=policy,
    )


def test_smoke_test_frames_are_pinned_only_in_dry_run(data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, blobs = world(data_dir)
    artwork_id = chosen_artwork(engine, blobs, model=SMOKE)
    with pytest.raises(PublishRefused, match="untrained smoke-test model"):
        pin(engine, blobs, data_dir, artwork_id, PinPolicy(marketplace_mode="testnet"))
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
    result = runner.invoke(app, ["pin", str(artwork_id)])
    assert result.exit_code == 1 and "refusing to pin it in testnet mode" in result.output
    with session_scope(engine) as session:
        assert session.get(Artwork, artwork_id).state == "chosen"
        assert session.exec(select(Pin)).all() == []
    # The store belongs to testnet now (`bot pin` recorded its mode; modes never mix), so the
    # dry-run side is the stage itself with the dry-run policy.
    done = pin(engine, blobs, data_dir, artwork_id, PinPolicy(marketplace_mode="dry-run"))
    assert done.ok and done.state == "pinned"


def test_a_near_copy_is_pinned_only_when_a_person_forces_it(data_dir: Path) -> None:
    engine, blobs = world(data_dir)
    artwork_id = chosen_artwork(engine, blobs, copy=True)  # never scored: hashed at pin time
    result = runner.invoke(app, ["pin", str(artwork_id)])
    assert result.exit_code == 1
    assert "is a near-copy of the source: perceptual hash 0/64 bits" in result.output
    assert f"bot pin {artwork_id} --force-near-copy --reason TEXT" in result.output
    assert runner.invoke(app, ["pin", str(artwork_id), "--force-near-copy"]).exit_code == 2
    result = runner.invoke(
        app,
        ["pin", str(artwork_id), "--force-near-copy", "--reason", "the artist licensed it to us"],
    )
    assert result.exit_code == 0, result.output
    assert f"artwork {artwork_id}: pinned" in result.output
    with session_scope(engine) as session:
        frame = session.exec(select(Frame).where(col(Frame.chosen).is_(True))).one()
        assert frame.near_copy_override == "the artist licensed it to us"
        reasons = [
            e.reason
            for e in session.exec(
                select(ArtworkEvent).where(ArtworkEvent.artwork_id == artwork_id)
            ).all()
        ]
    assert (
        "near-copy published anyway by a person (iteration 1): the artist licensed it to us"
        in reasons
    )
    # a frame that is not a near-copy needs nothing forced
    other = chosen_artwork(engine, blobs, item_id="other")
    result = runner.invoke(app, ["pin", str(other), "--force-near-copy", "--reason", "why not"])
    assert result.exit_code == 0 and "not a flagged near-copy; nothing forced" in result.output


def test_with_upscaling_on_the_upscaled_image_is_pinned(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, blobs = world(data_dir)
    cache = data_dir / "models"
    save_esrgan_checkpoint(
        random_esrgan_state(2, num_filters=8, num_blocks=1),
        cache / "realesrgan_x2plus" / "RealESRGAN_x2plus.pth",
    )
    monkeypatch.setenv("BOT_UPSCALE_ENABLED", "true")
    monkeypatch.setenv("BOT_UPSCALE_SCALE", "2")
    monkeypatch.setenv("BOT_UPSCALE_TILE", "32")
    artwork_id = chosen_artwork(engine, blobs)
    result = runner.invoke(app, ["pin", str(artwork_id)])
    assert result.exit_code == 1 and f"run bot upscale {artwork_id}" in result.output
    result = runner.invoke(app, ["upscale"])
    assert result.exit_code == 0, result.output
    assert "48x48 → 96x96 (realesrgan_x2plus x2)" in result.output
    assert "already upscaled" in runner.invoke(app, ["upscale", str(artwork_id)]).output
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        upscaled, frame_id = artwork.upscaled_blob, artwork.upscaled_frame_id
        frame = session.get(Frame, frame_id)
        assert frame.chosen and frame.width == 48  # the original frame stays recorded
    assert Image.open(blobs.path_for(upscaled)).size == (96, 96)
    result = runner.invoke(app, ["pin", str(artwork_id)])
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        image_pin = session.exec(select(Pin).where(Pin.kind == "image")).one()
        metadata_pin = session.exec(select(Pin).where(Pin.kind == "metadata")).one()
    from storage.ipfs.unixfs import import_file

    assert image_pin.cid == str(import_file(blobs.path_for(upscaled), cid_version=1).cid)
    pinner = LocalBlockstore(data_dir / "ipfs")
    document = json.loads(pinner.cat(metadata_pin.cid))
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Upscaler"] == "realesrgan_x2plus x2"
    # a new choice drops the upscaled image of the old one
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        artwork.state = ArtworkState.CHOSEN.value
        choose_by_person(session, artwork, 0)
        assert artwork.upscaled_blob is None


def test_the_metadata_carries_the_provenance(data_dir: Path) -> None:
    engine, blobs = world(data_dir)
    source = noise_image(3, 48)
    artwork_id = add_generated(
        engine,
        blobs,
        [scored(prompt_similarity=0.31234, source_similarity=0.7, critic=-0.5)],
        source=source,
        item_id="ETHEREUM:0xB66a603f4cFe17e3D27B87a8BfCaD319856518B8:42",
        title="Sea <script>alert(1)</script>",
    )
    with session_scope(engine) as session:
        choose_by_person(session, session.get(Artwork, artwork_id), 0)
    result = pin(engine, blobs, data_dir, artwork_id, PinPolicy(marketplace_mode="dry-run"))
    assert result.ok
    pinner = LocalBlockstore(data_dir / "ipfs")
    document = json.loads(pinner.cat(str(result.token_uri).removeprefix("ipfs://")))
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Source marketplace"] == "rarible"
    assert traits["Source contract"] == "0xb66a603f4cfe17e3d27b87a8bfcad319856518b8"
    assert traits["Source token ID"] == "42" and traits["Source chain"] == "ETHEREUM"
    assert traits["VQGAN model"] == "vqgan_wikiart_16384" and traits["CLIP model"] == "clip_vit_b32"
    assert traits["Prompt similarity"] == 0.3123 and traits["Critic score"] == -0.5
    assert traits["Chosen by"] == "person" and traits["Iteration"] == 0
    properties = document["properties"]
    assert properties["source"]["token_id"] == "42"
    assert properties["generation"]["seed"] == 1 and properties["generation"]["iteration"] == 0
    assert properties["scores"] == {
        "prompt_similarity": 0.3123,
        "source_similarity": 0.7,
        "critic": -0.5,
    }
    assert "<" not in json.dumps(document)  # plain text only


@pytest.fixture
def rarible(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with running_rarible_server(api_key="k-test") as (base, state):
        monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
        monkeypatch.setenv("BOT_RARIBLE_API_URL", base)
        monkeypatch.setenv("BOT_RARIBLE_API_KEY", "k-test")
        yield state


def test_publish_refuses_smoke_test_frames_outside_dry_run(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rarible
) -> None:  # type: ignore[no-untyped-def]
    setup_wallet(data_dir, monkeypatch)
    engine, blobs = world(data_dir)
    smoke_id = add_pinned_artwork(engine, 1)
    real_id = add_pinned_artwork(engine, 2)
    with session_scope(engine) as session:
        for artwork_id, model in ((smoke_id, SMOKE), (real_id, "vqgan_wikiart_16384+clip_vit_b32")):
            session.add(
                Frame(
                    artwork_id=artwork_id,
                    iteration=0,
                    blob_sha256=blobs.put_bytes(png(noise_image(artwork_id))).sha256,
                    prompt="Cats",
                    seed=1,
                    model=model,
                    width=64,
                    height=64,
                    chosen=True,
                )
            )
    assert publish_refusal(engine, smoke_id, "dry-run") is None
    result = runner.invoke(app, ["publish"])
    assert result.exit_code == 1
    assert "refused" in result.output and "smoke-test" in result.output
    with session_scope(engine) as session:
        assert session.get(Artwork, smoke_id).state == "pinned"
        assert session.get(Artwork, real_id).state == "listed"
    assert rarible.mint_posts == 1  # only the real artwork's mint was sent
