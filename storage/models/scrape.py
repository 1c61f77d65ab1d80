"""Scraper bookkeeping: price observations, resumable cursors, and one row per scrape run."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from storage.models.listing import Listing
from storage.types import DecimalText, UTCDateTime, utcnow


class PriceKind(StrEnum):
    ASK = "ask"  # the listing's (best) sell price
    BID = "bid"  # the best offer on the item
    SALE = "sale"  # a completed sale


class PriceObservation(SQLModel, table=True):
    """One price seen for a listing. A change is a new row, so history is never overwritten."""

    __tablename__ = "price_observations"

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listings.id", index=True)
    kind: str = Field(description="ask, bid or sale")
    price: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    currency: str | None = None
    currency_decimals: int | None = None
    price_usd: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    source: str = Field(description="Importer that saw it.")
    event_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime()),
        description="When the market says it happened.",
    )
    observed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # Lets an observation be added with a listing that has no id yet: the unit of work fills
    # listing_id at flush, so a page of new listings is inserted in one batch.
    listing: Listing = Relationship()


class ScrapeCursor(SQLModel, table=True):
    """Where the next run of a source for one collection continues."""

    __tablename__ = "scrape_cursors"
    __table_args__ = (UniqueConstraint("source", "collection", name="uq_scrape_cursor"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    collection: str = Field(description="Collection id, slug or site name ('' when none).")
    cursor: str | None = Field(
        default=None, description="Continuation to send next; None = start a new pass."
    )
    pages: int = Field(default=0, description="Pages read in the current pass.")
    items: int = Field(default=0, description="Listings read in the current pass.")
    passes_completed: int = 0
    pass_started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    pass_completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ScrapeRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # reached the end of the collection
    STOPPED = "stopped"  # hit --max; the cursor keeps the place
    FAILED = "failed"  # a page could not be read; the cursor keeps the last good place


class ScrapeRun(SQLModel, table=True):
    __tablename__ = "scrape_runs"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    collection: str
    status: str = ScrapeRunStatus.RUNNING.value
    start_cursor: str | None = None
    end_cursor: str | None = None
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text()))
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
