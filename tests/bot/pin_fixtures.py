"""Artworks with frames in the store, ready for the pin stage (shared by the test_pin* files)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy.engine import Engine

from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.ipfs.pinner import Pinner
from storage.ipfs.targets import PinTarget
from storage.models import Artwork, ArtworkState, Listing
from storage.models.frame import Frame


@dataclass
class World:
    engine: Engine
    blobs: BlobStore
    data_dir: Path


def make_world(data_dir: Path) -> World:
    data_dir.mkdir(parents=True, exist_ok=True)
    return World(
        make_engine(f"sqlite:///{data_dir / 'bot.db'}"), BlobStore(data_dir / "blobs"), data_dir
    )


def png_bytes(seed: int, side: int = 64) -> bytes:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def add_artwork(
    world: World,
    *,
    item_id: str = "nft-1",
    frames: int = 3,
    chosen_iteration: int | None = 2,
    state: ArtworkState = ArtworkState.CHOSEN,
    name: str = "Neon cat",
) -> tuple[int, list[int]]:
    with session_scope(world.engine) as session:
        listing = Listing(
            source="kaggle",
            marketplace="hive",
            item_id=item_id,
            title="Cyber Cats",
            name=name,
            creator="alice",
        )
        session.add(listing)
        session.flush()
        artwork = Artwork(listing_id=listing.id, state=state.value, category="Cyber Cats")
        session.add(artwork)
        session.flush()
        frame_ids = []
        for iteration in range(frames):
            blob = world.blobs.put_bytes(png_bytes(hash((item_id, iteration)) & 0xFFFF))
            frame = Frame(
                artwork_id=artwork.id,
                iteration=iteration,
                blob_sha256=blob.sha256,
                loss=1.0 / (iteration + 1),
                prompt="Cyber Cats",
                seed=7,
                model="vqgan_wikiart_16384+clip_vit_b32",
                width=64,
                height=64,
                chosen=iteration == chosen_iteration,
            )
            session.add(frame)
            session.flush()
            frame_ids.append(frame.id)
        assert artwork.id is not None
        return artwork.id, frame_ids


def as_target(pinner: Pinner, *, required: bool = True) -> PinTarget:
    """One pinner as a pin target named after it, of the kind its class implements."""
    from storage.ipfs.blockstore import LocalBlockstore
    from storage.ipfs.kubo import KuboPinner

    if isinstance(pinner, LocalBlockstore):
        kind = "local"
    elif isinstance(pinner, KuboPinner):
        kind = "kubo"
    else:
        kind = "pinning-service"
    return PinTarget(pinner.name, kind, required, pinner)
