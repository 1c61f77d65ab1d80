"""The bot's own bookkeeping: facts about the store, the daemon's heartbeat, and the table of
APScheduler's persistent job store (created by revision 0013, never by APScheduler)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Float, Index, LargeBinary, Table, Text, Unicode
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

SCHEDULER_TABLE = "apscheduler_jobs"


class StoreInfo(SQLModel, table=True):
    """Key/value facts about the store itself (e.g. `marketplace_mode`)."""

    __tablename__ = "store_info"

    key: str = Field(primary_key=True)
    value: str
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class DaemonState(StrEnum):
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class DaemonHeartbeat(SQLModel, table=True):
    """One row per daemon start; `beat_at` moves while it runs."""

    __tablename__ = "daemon_heartbeats"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(sa_column_kwargs={"unique": True}, index=True)
    host: str
    pid: int
    mode: str
    state: str = DaemonState.RUNNING.value
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    beat_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # What it cannot do yet, or why it stopped.
    note: str | None = Field(default=None, sa_column=Column(Text()))


# Exactly what apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore (3.x) declares, so that its
# `create(checkfirst=True)` finds the table revision 0013 made and the schema test sees a model
# for it. The job store builds its own Table object on a private MetaData (bot/daemon/).
scheduler_jobs = Table(
    SCHEDULER_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25)),
    Column("job_state", LargeBinary, nullable=False),
    Index("ix_apscheduler_jobs_next_run_time", "next_run_time"),
)
