"""IPFS pins: what the bot put on IPFS, on which target, and whether it is still pinned.

One row per (CID, pin target). `profile` names the CID profile that made the CID, so the CID is
always recomputed the same way when a copy is checked; `checked_at` is the last time
`bot pins verify` read the content back from this target (or found it missing).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# The foreign-key targets must be in the metadata whenever pins are written.
from storage.models import artwork as _artwork  # noqa: F401
from storage.models import frame as _frame  # noqa: F401
from storage.types import UTCDateTime, utcnow


class PinKind(StrEnum):
    IMAGE = "image"
    METADATA = "metadata"
    FRAME = "frame"


class PinStatus(StrEnum):
    QUEUED = "queued"
    PINNING = "pinning"
    PINNED = "pinned"
    FAILED = "failed"
    UNPINNED = "unpinned"


class Pin(SQLModel, table=True):
    __tablename__ = "pins"
    __table_args__ = (UniqueConstraint("cid", "target", name="uq_pin_cid_target"),)

    id: int | None = Field(default=None, primary_key=True)
    cid: str = Field(index=True)
    kind: str = Field(description="image, metadata or frame")
    artwork_id: int | None = Field(default=None, foreign_key="artworks.id", index=True)
    frame_id: int | None = Field(default=None, foreign_key="frames.id")
    size: int = Field(sa_type=BigInteger)
    target: str = Field(description="The pin target's name (BOT_IPFS_TARGETS).")
    profile: str = Field(description="CID profile that made the CID, e.g. unixfs-v1-2025.")
    status: str = PinStatus.QUEUED.value
    request_id: str | None = Field(default=None, description="Pinning-service request id.")
    error: str | None = Field(default=None, sa_column=Column(Text()))
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
