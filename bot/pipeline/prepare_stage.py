"""candidate → prepared: the source NFT becomes a square init image in the blob store.

The source must be a decodable still image already in the blob store (`Listing.image_blob`);
it is centre-cropped and resized to the working size and stored as PNG
(`Artwork.init_image_blob`). An artwork that cannot be prepared fails at this stage with an
error that names the listing and the reason; the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from generator.images import NotAStillImage, decode_still_image, encode_png, square_crop_resize
from storage.artworks import artwork_ids as artwork_ids_in
from storage.artworks import record_failure, transition
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.models import PIPELINE_ORDER, Artwork, ArtworkState, Listing


class PrepareError(ValueError):
    pass


@dataclass(frozen=True)
class PrepareOutcome:
    artwork_id: int
    ok: bool
    detail: str


def select_candidates(
    session: Session, artwork_ids: Sequence[int] | None = None, limit: int | None = None
) -> list[int]:
    return artwork_ids_in(session, ArtworkState.CANDIDATE, only=artwork_ids, limit=limit)


def init_image_png(blobs: BlobStore, listing: Listing, size: int, max_pixels: int) -> bytes:
    """The listing's image as a size x size PNG, or PrepareError naming the listing."""
    label = f"listing {listing.id} ({listing.marketplace}:{listing.item_id})"
    if not listing.image_blob:
        raise PrepareError(
            f"{label} has no local image (image_cid {listing.image_cid or 'none'}, "
            f"image_uri {listing.image_uri or 'none'}): download the image first"
        )
    try:
        data = blobs.read_bytes(listing.image_blob)
    except BlobNotFound:
        raise PrepareError(
            f"{label}: image blob {listing.image_blob} is missing from the blob store"
        ) from None
    try:
        image = decode_still_image(data, max_pixels=max_pixels)
    except NotAStillImage as exc:
        raise PrepareError(f"{label}: image blob {listing.image_blob} is unusable: {exc}") from None
    resized = square_crop_resize(image, size)

    return encode_png(np.asarray(resized), {"source": listing.image_blob})


def prepare_one(
    session: Session, blobs: BlobStore, artwork: Artwork, *, size: int, max_pixels: int
) -> PrepareOutcome:
    artwork_id = artwork.id or 0
    if artwork.state != ArtworkState.CANDIDATE.value:
        done = artwork.state in {state.value for state in PIPELINE_ORDER[1:]}
        detail = f"artwork {artwork_id} is {artwork.state}" + (" already" if done else "")
        return PrepareOutcome(artwork_id, done, detail)  # nothing new to do: idempotent
    listing = session.get(Listing, artwork.listing_id)
    try:
        if listing is None:
            raise PrepareError(f"artwork {artwork_id}: listing {artwork.listing_id} does not exist")
        prompt = (artwork.category or listing.title or "").strip()
        if not prompt:
            raise PrepareError(
                f"listing {listing.id} ({listing.marketplace}:{listing.item_id}) has no "
                "category or title to use as the prompt"
            )
        png = init_image_png(blobs, listing, size, max_pixels)
    except PrepareError as exc:
        record_failure(session, artwork, ArtworkState.PREPARED, str(exc))
        return PrepareOutcome(artwork_id, False, str(exc))
    artwork.category = prompt
    artwork.init_image_blob = blobs.put_bytes(png).sha256
    transition(session, artwork, ArtworkState.PREPARED)
    return PrepareOutcome(artwork_id, True, f"{size}x{size} init image {artwork.init_image_blob}")


def prepare_artworks(
    engine: Engine,
    blobs: BlobStore,
    *,
    size: int,
    max_pixels: int = 64_000_000,
    artwork_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[PrepareOutcome]:
    """Prepare candidates one transaction each, so a bad image never undoes a good one."""
    with session_scope(engine) as session:
        ids = select_candidates(session, artwork_ids, limit)
    missing = sorted(set(artwork_ids or ()) - set(ids))
    outcomes = [PrepareOutcome(i, False, f"artwork {i} does not exist") for i in missing]
    for artwork_id in ids:
        with session_scope(engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is not None:
                outcomes.append(
                    prepare_one(session, blobs, artwork, size=size, max_pixels=max_pixels)
                )
    return outcomes
