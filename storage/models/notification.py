"""Notifications the bot has sent (or tried to): one row per event, so each is sent once.

The row is written before the webhook is called, keyed by the event's kind and its own id
(a sale's activity id, a bid's order hash, ...): a second process, a re-run or a restart that
meets the same event finds the row and sends nothing. At most once: an event whose process
died between writing the row and the request is not sent again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class NotificationStatus(StrEnum):
    SENDING = "sending"  # claimed; the request is (or was, before a crash) in flight
    SENT = "sent"  # the webhook answered 2xx
    FAILED = "failed"  # refused, unreachable or too slow; not retried


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("kind", "event_key", name="uq_notification_event"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(description="sale, highest_bid, artwork_failed, daemon_started, ...")
    event_key: str = Field(description="The event's own id within its kind.")
    status: str = Field(default=NotificationStatus.SENDING.value)
    summary: str | None = Field(default=None, sa_column=Column(Text()))
    error: str | None = Field(default=None, sa_column=Column(Text()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
