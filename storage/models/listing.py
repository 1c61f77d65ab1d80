"""A marketplace listing (or a dataset row): the input of curation and generation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import DecimalText, UTCDateTime, utcnow


class Listing(SQLModel, table=True):
    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("marketplace", "item_id", name="uq_listing_item"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(description="Importer that produced it: kaggle, rarible, opensea, page.")
    marketplace: str = Field(description="Where the item lives: hive, rarible, opensea, ...")
    item_id: str = Field(description="The marketplace's id for the item (unique per marketplace).")
    collection: str | None = None
    title: str | None = Field(default=None, description="Series title; used as the category.")
    name: str | None = None
    creator: str | None = None
    price: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    currency: str | None = None
    currency_decimals: int | None = None
    price_usd: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    likes: int | None = Field(default=None, sa_type=BigInteger)
    nsfw: bool = False
    media_type: str | None = Field(default=None, description="PHOTO, GIF or VIDEO.")
    token_count: int | None = Field(default=None, sa_type=BigInteger)
    year: int | None = None
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    listed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime()), description="When the ask was placed."
    )
    rights: str | None = None
    royalty: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    image_uri: str | None = Field(default=None, description="ipfs://CID, https://... or data:")
    image_cid: str | None = None
    image_blob: str | None = Field(default=None, description="sha256 of the local image blob.")
    image_path: str | None = Field(default=None, description="Local path the image came from.")
    image_error: str | None = Field(
        default=None, sa_column=Column(Text()), description="Why the image download was refused."
    )
    raw_json: str | None = Field(default=None, sa_column=Column(Text()))
    first_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
