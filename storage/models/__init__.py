"""Table models: the foundation's here; each later capability adds a module of its own.

`load_all_models()` imports every module in this package so SQLModel's metadata knows every
table (the schema test compares them with what the migrations build).
"""

import importlib
import pkgutil

from storage.models.artwork import (
    PIPELINE_ORDER,
    Artwork,
    ArtworkEvent,
    ArtworkState,
    IllegalTransition,
    allowed_transitions,
)
from storage.models.listing import Listing


def load_all_models() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


__all__ = [
    "PIPELINE_ORDER",
    "Artwork",
    "ArtworkEvent",
    "ArtworkState",
    "IllegalTransition",
    "Listing",
    "allowed_transitions",
    "load_all_models",
]
