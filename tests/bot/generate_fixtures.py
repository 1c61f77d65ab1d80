"""Prepared artworks for the generation tests: noise images under a person's category (which
skips the quality filters and CLIP), prepared at 32 px by the real prepare stage."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bot.pipeline.prepare_stage import PrepareOptions, prepare_artworks
from generator.decode import DecodePolicy
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, Listing

CATEGORIES = ("Animals", "Faces", "Scenery")


def prepared_store(root: Path, count: int, size: int = 32) -> tuple[Any, BlobStore]:
    """A SQLite store under `root` with `count` prepared artworks (ids 1..count)."""
    engine = make_engine(f"sqlite:///{root / 'bot.db'}")
    blobs = BlobStore(root / "blobs")
    with session_scope(engine) as session:
        for index in range(count):
            pixels = np.random.default_rng(index).integers(
                0, 256, (size + 8, size + 8, 3), np.uint8
            )
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            listing = Listing(
                source="kaggle",
                marketplace="hive",
                item_id=f"item{index}",
                image_blob=blobs.put_bytes(buffer.getvalue()).sha256,
            )
            session.add(listing)
            session.flush()
            category = CATEGORIES[index % len(CATEGORIES)]
            session.add(Artwork(listing_id=listing.id, override_category=category))
    options = PrepareOptions(size=size, decode=DecodePolicy(min_side=size))
    report = prepare_artworks(engine, blobs, options)
    assert all(o.status == "prepared" for o in report.outcomes), report.outcomes
    return engine, blobs
