"""The frame pin hook plugged into the generator's real frame writer (the agreed contract)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.pipeline.frame_pins import make_frame_pin_hook
from storage.db import session_scope
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.unixfs import import_bytes
from storage.models.frame import Frame
from storage.models.pin import Pin
from tests.bot.pin_fixtures import add_artwork, as_target, make_world


@pytest.mark.timeout(120)
def test_frames_written_by_the_generator_are_pinned_as_they_come(tmp_path: Path) -> None:
    import torch

    from generator.frames import FrameWriter
    from generator.optimiser import GenerationJob, StepFrames
    from generator.prompts import Prompt

    world = make_world(tmp_path / "data")
    artwork_id, _ = add_artwork(world, frames=0, chosen_iteration=None)
    store = LocalBlockstore(world.data_dir / "ipfs")
    hook = make_frame_pin_hook(world.engine, [as_target(store)], world.blobs)
    job = GenerationJob(key=artwork_id, prompts=[Prompt("Cyber Cats")], seed=11)
    generator = torch.Generator().manual_seed(0)
    with FrameWriter(world.engine, world.blobs, model_name="tiny", on_frame_saved=hook) as writer:
        for iteration in range(3):
            pixels = torch.randint(0, 256, (1, 16, 16, 3), dtype=torch.uint8, generator=generator)
            writer.submit(StepFrames(iteration, [job], pixels, torch.tensor([0.5])))
    assert writer.hook_failures == 0
    with session_scope(world.engine) as session:
        frames = session.exec(select(Frame).where(Frame.artwork_id == artwork_id)).all()
        pins = {pin.frame_id: pin for pin in session.exec(select(Pin)).all()}
        assert len(frames) == 3
        for frame in frames:
            pin = pins[frame.id]
            png = world.blobs.read_bytes(frame.blob_sha256)
            assert (pin.kind, pin.status) == ("frame", "pinned")
            assert pin.cid == str(import_bytes(png).cid) and store.cat(pin.cid) == png
