"""Generated artworks with real PNG frames and a source image, for the choose/review tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy.engine import Engine

from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.models.frame import Frame
from storage.types import utcnow

CLIP = "clip=clip_vit_b32; critic=vqgan_wikiart_16384; aesthetic=-"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def noise_image(seed: int, side: int = 64) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8), mode="RGB")


def scored(**scores: Any) -> dict[str, Any]:
    """Scores of a frame that is clearly not a near-copy, with `scores` overriding."""
    base: dict[str, Any] = {
        "prompt_similarity": 0.25,
        "source_similarity": 0.6,
        "critic": 0.0,
        "aesthetic": None,
        "sharpness": 100.0,
        "colourfulness": 30.0,
        "blockiness": 1.0,
        "hash_distance": 30,
        "hash_match": "pHash, frame vs source",
        "score_models": CLIP,
        "scored_at": utcnow(),
    }
    base.update(scores)
    return base


def add_generated(
    engine: Engine,
    blobs: BlobStore,
    frames: Sequence[dict[str, Any]],
    *,
    title: str = "Sea",
    item_id: str = "x",
    state: ArtworkState = ArtworkState.GENERATED,
    source: Image.Image | None = None,
    images: Sequence[Image.Image] | None = None,
    model: str = "vqgan_wikiart_16384+clip_vit_b32",
) -> int:
    """An artwork with one frame per entry of `frames` (column values, e.g. from `scored`)."""
    source = source or noise_image(10_000 + len(item_id))
    source_blob = blobs.put_bytes(png(source)).sha256
    with session_scope(engine) as session:
        listing = Listing(
            source="kaggle",
            marketplace="rarible",
            item_id=item_id,
            title=title,
            name=f"{title} original",
            creator="alice",
            image_blob=source_blob,
            price=Decimal("10"),  # a listing curation would pick
            currency="SWAP.HIVE",
            media_type="PHOTO",
            year=2020,
            likes=0,
        )
        session.add(listing)
        session.flush()
        artwork = Artwork(
            listing_id=listing.id or 0,
            state=state.value,
            category=title,
            init_image_blob=source_blob,
        )
        session.add(artwork)
        session.flush()
        for iteration, values in enumerate(frames):
            image = (
                images[iteration] if images else noise_image(hash((item_id, iteration)) & 0xFFFF)
            )
            frame = Frame(
                artwork_id=artwork.id or 0,
                iteration=iteration,
                blob_sha256=blobs.put_bytes(png(image)).sha256,
                loss=1.0 - iteration * 0.01,
                prompt=title,
                seed=1,
                model=model,
                width=image.width,
                height=image.height,
            )
            for name, value in values.items():
                setattr(frame, name, value)
            session.add(frame)
        assert artwork.id is not None
        return artwork.id


def chosen_iterations(engine: Engine, artwork_id: int | None = None) -> list[int]:
    from sqlmodel import col, select

    with session_scope(engine) as session:
        query = select(Frame).where(col(Frame.chosen).is_(True))
        if artwork_id is not None:
            query = query.where(Frame.artwork_id == artwork_id)
        return [f.iteration for f in session.exec(query).all()]
