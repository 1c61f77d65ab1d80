"""What `prepare` measured on an artwork's source image (one row per artwork, replaced when it
is prepared again): the quality and text scores, the face signal and CLIP's category."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

# The foreign-key target must be in the metadata whenever scores are written.
from storage.models import artwork as _artwork  # noqa: F401
from storage.types import UTCDateTime, utcnow


class PreparationScores(SQLModel, table=True):
    __tablename__ = "preparation_scores"

    id: int | None = Field(default=None, primary_key=True)
    artwork_id: int = Field(foreign_key="artworks.id", unique=True)
    source_format: str = Field(description="PNG, JPEG, GIF or WEBP.")
    source_width: int
    source_height: int
    sharpness: float = Field(description="Variance of the Laplacian of the luma, at 512x512.")
    single_colour: float = Field(description="Share of pixels in the most common colour.")
    contrast: float = Field(description="Standard deviation of the init image's luma.")
    blockiness: float | None = Field(
        default=None, description="JPEG block-boundary steps / in-block steps (JPEG only)."
    )
    text_score: float = Field(description="Share of the image covered by text lines.")
    faces: int | None = Field(default=None, description="Faces found (when it was asked).")
    face_area: float | None = Field(default=None, description="Largest face / image area.")
    clip_category: str | None = Field(
        default=None, description="CLIP's decision: one of the five or 'other'."
    )
    clip_confidence: float | None = None
    clip_runner_up: str | None = None
    clip_runner_up_confidence: float | None = None
    clip_model: str | None = Field(default=None, description="The CLIP weights that decided.")
    notes: str | None = Field(
        default=None, sa_column=Column(Text()), description="Decoding notes (CMYK, frames, ...)."
    )
    measured_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
