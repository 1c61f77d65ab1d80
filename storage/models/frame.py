"""Generated frames: every iteration's image of an artwork's VQGAN+CLIP run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, UniqueConstraint
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
