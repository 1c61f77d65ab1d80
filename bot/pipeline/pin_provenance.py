"""The provenance the pin stage writes into an artwork's metadata (marketplace.provenance)."""

from __future__ import annotations

from generator.model_names import parse_model_label
from marketplace.provenance import SCORE_LABELS, Provenance
from storage.models import Artwork, Listing
from storage.models.frame import Frame


def provenance_for(
    artwork: Artwork, frame: Frame, listing: Listing, *, upscaled: bool
) -> Provenance:
    label = parse_model_label(frame.model)
    scores = tuple(
        (name, float(getattr(frame, name)))
        for name in SCORE_LABELS
        if getattr(frame, name) is not None
    )
    return Provenance(
        source_marketplace=listing.marketplace,
        source_item=listing.item_id,
        source_cid=listing.image_cid,
        prompt=frame.prompt,
        vqgan=label.vqgan,
        clip=label.clip,
        seed=frame.seed,
        iteration=frame.iteration,
        scores=scores,
        chosen_by=artwork.chosen_by,
        upscaler=artwork.upscale_model if upscaled else None,
    )
