"""Generated frames: every iteration's image of an artwork's VQGAN+CLIP run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Frame(SQLModel, table=True):
    __tablename__ = "frames"
    __table_args__ = (
        UniqueConstraint("artwork_id", "seed", "iteration", name="uq_frame_run_iteration"),
    )

    id: int | None = Field(default=None, primary_key=True)
    artwork_id: int = Field(foreign_key="artworks.id", index=True)
    iteration: int
    blob_sha256: str = Field(description="PNG in the blob store.")
    loss: float | None = None
    prompt: str
    seed: int = Field(sa_type=BigInteger)  # --seed takes any 64-bit value
    model: str = Field(
        description="VQGAN and CLIP weight names, e.g. vqgan_wikiart_16384+clip_vit_b32"
    )
    width: int
    height: int
    chosen: bool = Field(default=False, description="The frame picked for publication.")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )

    # --- scores (schema 0011; generator.frame_scores says what each one means) -------------
    prompt_similarity: float | None = Field(default=None, description="CLIP frame↔prompt.")
    source_similarity: float | None = Field(default=None, description="CLIP frame↔source.")
    critic: float | None = Field(default=None, description="VQGAN discriminator mean logit.")
    aesthetic: float | None = Field(default=None, description="LAION aesthetic head, 1-10.")
    sharpness: float | None = Field(default=None, description="Variance of the Laplacian.")
    colourfulness: float | None = Field(default=None, description="Hasler-Süsstrunk M.")
    blockiness: float | None = Field(default=None, description="Block-grid step ratio, 1=none.")
    hash_distance: int | None = Field(
        default=None, description="Closest perceptual-hash distance to the source (of 64 bits)."
    )
    hash_match: str | None = Field(default=None, description="Which hash and variants matched.")
    score_models: str | None = Field(
        default=None, description="The CLIP, discriminator and aesthetic weights that scored it."
    )
    scored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    near_copy_override: str | None = Field(
        default=None,
        sa_column=Column(Text()),
        description="A person's recorded reason to publish this near-copy anyway.",
    )
