"""generate (prepared → generated) on a real database, with the tiny untrained models written in
real checkpoint formats; the artworks are prepared by the real stage with a person's category
(preparation itself: tests/bot/test_prepare_stage.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sqlmodel import select

from bot.pipeline.generate_stage import generate_artworks, load_models
from bot.pipeline.prepare_stage import PrepareOptions
from bot.pipeline.prepare_stage import prepare_artworks as prepare_stage
from generator.decode import DecodePolicy
from generator.executor import InProcessExecutor
from generator.optimiser import GenerationSettings
from generator.weights import MissingWeights
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkEvent, Listing
from storage.models.frame import Frame

SETTINGS = GenerationSettings(size=32, steps=3, cutn=2, precision="fp32")
CPU = torch.device("cpu")


def _png(seed: int, size: tuple[int, int] = (60, 40), mode: str = "RGB") -> bytes:
    channels = 4 if mode == "RGBA" else 3
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def prepare_artworks(engine, blobs: BlobStore, size: int = 32) -> None:
    options = PrepareOptions(size=size, decode=DecodePolicy(min_side=size))
    report = prepare_stage(engine, blobs, options)
    assert all(o.status == "prepared" for o in report.outcomes), report.outcomes


@pytest.fixture
def store(tmp_path: Path) -> tuple[object, BlobStore]:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}"), BlobStore(tmp_path / "blobs")


def _add(
    engine,
    blobs: BlobStore,
    item: str,
    image: bytes | None,
    category: str | None = "Scenery",
    cid: str | None = None,
) -> int:
    with session_scope(engine) as session:
        listing = Listing(
            source="kaggle",
            marketplace="hive",
            item_id=item,
            title="Series title",
            image_cid=cid,
            image_blob=blobs.put_bytes(image).sha256 if image is not None else None,
        )
        session.add(listing)
        session.flush()
        artwork = Artwork(listing_id=listing.id, override_category=category)
        session.add(artwork)
        session.flush()
        return int(artwork.id)


def test_generate_keeps_every_iteration_and_moves_to_generated(store, tmp_path: Path) -> None:
    engine, blobs = store
    ids = [_add(engine, blobs, f"item{i}", _png(i)) for i in range(3)]
    prepare_artworks(engine, blobs, size=32)
    models = load_models(
        tmp_path / "models",
        "vqgan_wikiart_16384",
        "clip_vit_b32",
        torch.device("cpu"),
        allow_smoke_test_models=True,
    )
    assert models.smoke_test and "untrained" in models.label
    hooked: list[Frame] = []
    report = generate_artworks(
        engine,
        blobs,
        InProcessExecutor(models, CPU),
        SETTINGS,
        batch_size=2,
        on_frame_saved=hooked.append,
        progress=False,
    )
    assert report.batch_sizes == [2, 1]
    assert all(o.ok for o in report.outcomes) and report.frames_written == 9
    assert len(hooked) == 9 and all(f.id is not None for f in hooked)
    with session_scope(engine) as session:
        frames = session.exec(select(Frame).where(Frame.artwork_id == ids[0])).all()
        assert sorted(f.iteration for f in frames) == [0, 1, 2]
        assert {f.prompt for f in frames} == {"Scenery"} and frames[0].width == 32
        png = Image.open(io.BytesIO(blobs.read_bytes(frames[1].blob_sha256)))
        assert png.text["prompt"] == "Scenery" and png.text["iteration"] == "1"
        assert png.text["seed"] == str(frames[1].seed)
        assert float(png.text["loss"]) == pytest.approx(frames[1].loss)
        assert "smoke_vqgan_tiny" in png.text["model"]
        artworks = session.exec(select(Artwork)).all()
        assert {a.state for a in artworks} == {"generated"}
        assert {a.prompt for a in artworks} == {"Scenery"}  # recorded with the artwork
        events = session.exec(select(ArtworkEvent).where(ArtworkEvent.to_state == "generated"))
        assert len(events.all()) == 3
    # Nothing prepared is left: a second run does nothing.
    executor = InProcessExecutor(models, CPU)
    again = generate_artworks(engine, blobs, executor, SETTINGS, progress=False)
    assert again.outcomes == [] and again.frames_written == 0


def test_missing_init_image_fails_that_artwork_only(store, tmp_path: Path) -> None:
    engine, blobs = store
    first, second = (_add(engine, blobs, f"x{i}", _png(i)) for i in range(2))
    prepare_artworks(engine, blobs, size=32)
    with session_scope(engine) as session:
        session.get(Artwork, first).init_image_blob = "0" * 64
    models = load_models(
        tmp_path / "models",
        "nope_vqgan",
        "nope_clip",
        torch.device("cpu"),
        allow_smoke_test_models=True,
    )
    executor = InProcessExecutor(models, CPU)
    report = generate_artworks(engine, blobs, executor, SETTINGS, progress=False)
    outcomes = {o.artwork_id: o for o in report.outcomes}
    assert not outcomes[first].ok and "missing" in outcomes[first].detail
    assert outcomes[second].ok
    with session_scope(engine) as session:
        assert session.get(Artwork, first).failed_stage == "generated"


def test_real_weights_missing_and_smoke_models_not_allowed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeights, match="bot models download vqgan_wikiart_16384"):
        load_models(tmp_path, "vqgan_wikiart_16384", "clip_vit_b32", torch.device("cpu"))


def test_a_failing_frame_hook_is_counted_and_generation_goes_on(store, tmp_path: Path) -> None:
    engine, blobs = store
    artwork_id = _add(engine, blobs, "hooked", _png(5))
    prepare_artworks(engine, blobs, size=32)
    models = load_models(
        tmp_path / "models", "absent", "absent", torch.device("cpu"), allow_smoke_test_models=True
    )
    calls: list[int] = []

    def flaky(frame: Frame) -> None:
        calls.append(frame.iteration)
        if frame.iteration == 1:
            raise ConnectionError("IPFS node down")

    report = generate_artworks(
        engine,
        blobs,
        InProcessExecutor(models, CPU),
        SETTINGS,
        on_frame_saved=flaky,
        progress=False,
    )
    assert report.hook_failures == 1 and sorted(calls) == [0, 1, 2]
    assert [o.ok for o in report.outcomes] == [True]
    with session_scope(engine) as session:
        assert session.get(Artwork, artwork_id).state == "generated"


def test_out_of_memory_splits_the_batch_and_retries(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.optimiser import VqganClip

    engine, blobs = store
    for index in range(3):
        _add(engine, blobs, f"oom{index}", _png(index))
    prepare_artworks(engine, blobs, size=32)
    models = load_models(
        tmp_path / "models", "absent", "absent", torch.device("cpu"), allow_smoke_test_models=True
    )
    real_run = VqganClip.run
    sizes: list[int] = []

    def run_with_memory_limit(self, jobs, on_step=None):  # type: ignore[no-untyped-def]
        sizes.append(len(jobs))
        if len(jobs) > 1:  # what a GPU with room for one artwork does
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_run(self, jobs, on_step)

    monkeypatch.setattr(VqganClip, "run", run_with_memory_limit)
    report = generate_artworks(
        engine, blobs, InProcessExecutor(models, CPU), SETTINGS, batch_size=3, progress=False
    )
    assert sizes == [3, 1, 2, 1, 1]
    assert report.batch_sizes == [1, 1, 1] and all(o.ok for o in report.outcomes)
