"""All table models. Import from here so SQLModel's metadata knows every table."""

from storage.models.artwork import (
    PIPELINE_ORDER,
    Artwork,
    ArtworkEvent,
    ArtworkState,
    IllegalTransition,
    allowed_transitions,
)
from storage.models.listing import Listing

__all__ = [
    "PIPELINE_ORDER",
    "Artwork",
    "ArtworkEvent",
    "ArtworkState",
    "IllegalTransition",
    "Listing",
    "allowed_transitions",
]
