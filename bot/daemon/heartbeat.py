"""The daemon's heartbeat in the database, and what `bot status` reads back.

One `daemon_heartbeats` row per daemon start: who (host, pid, owner id), the mode, when it
started, `beat_at` moved every BOT_DAEMON_HEARTBEAT_S by a thread of its own (so a busy job
cannot starve it), and how it stopped. A daemon is alive when its row says running and its
last beat is recent (a SIGKILLed daemon never writes `stopped`: its beat just gets old).
The last run of each scheduled job is kept in `store_info` (`daemon_job:<id>`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from storage.models.daemon import (
    SCHEDULER_TABLE,
    DaemonHeartbeat,
    DaemonState,
    StoreInfo,
    scheduler_jobs,
)
from storage.types import utcnow

log = logging.getLogger(__name__)
KEEP_ROWS = 50  # daemon starts remembered
JOB_KEY = "daemon_job:"
_T = DaemonHeartbeat.__table__  # type: ignore[attr-defined]
_INFO = StoreInfo.__table__  # type: ignore[attr-defined]


def start(engine: Engine, *, owner: str, host: str, pid: int, mode: str, note: str) -> int:
    now = utcnow()
    with engine.begin() as connection:
        row_id = connection.execute(
            _T.insert()
            .values(
                owner=owner,
                host=host,
                pid=pid,
                mode=mode,
                state=DaemonState.RUNNING.value,
                started_at=now,
                beat_at=now,
                note=note or None,
            )
            .returning(_T.c.id)
        ).scalar_one()
        old = (
            connection.execute(select(_T.c.id).order_by(_T.c.id.desc()).offset(KEEP_ROWS))
            .scalars()
            .all()
        )
        if old:
            connection.execute(delete(_T).where(_T.c.id.in_(old)))
    return int(row_id)


def beat(engine: Engine, row_id: int, *, note: str | None = None) -> None:
    values: dict[str, Any] = {"beat_at": utcnow()}
    if note is not None:
        values["note"] = note or None
    with engine.begin() as connection:
        connection.execute(update(_T).where(_T.c.id == row_id).values(**values))


def stop(engine: Engine, row_id: int, *, state: DaemonState, note: str) -> None:
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            update(_T)
            .where(_T.c.id == row_id)
            .values(state=state.value, beat_at=now, stopped_at=now, note=note)
        )


class Beater:
    """Writes the heartbeat every `interval_s` until stopped."""

    def __init__(self, engine: Engine, row_id: int, interval_s: float) -> None:
        self.engine, self.row_id, self.interval_s = engine, row_id, interval_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Beater:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                beat(self.engine, self.row_id)
            except Exception:  # the store is unreachable for a moment: the next beat retries
                log.warning("heartbeat not written", exc_info=True)

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)


def record_job_run(engine: Engine, job_id: str, outcome: str, started: datetime) -> None:
    """The last run of a scheduled job, for `bot status`."""
    value = json.dumps(
        {"started": started.isoformat(), "finished": utcnow().isoformat(), "outcome": outcome}
    )
    key = JOB_KEY + job_id
    with engine.begin() as connection:
        changed = connection.execute(
            update(_INFO).where(_INFO.c.key == key).values(value=value, updated_at=utcnow())
        ).rowcount
        if not changed:
            connection.execute(_INFO.insert().values(key=key, value=value, updated_at=utcnow()))


@dataclass(frozen=True)
class JobView:
    job_id: str
    next_run: datetime | None  # None: paused
    last_run: dict[str, Any] | None


@dataclass(frozen=True)
class DaemonView:
    alive: bool
    row: DaemonHeartbeat | None
    jobs: list[JobView]

    def as_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "alive": self.alive,
            "state": row.state if row else None,
            "pid": row.pid if row else None,
            "host": row.host if row else None,
            "started_at": row.started_at.isoformat() if row else None,
            "last_heartbeat": row.beat_at.isoformat() if row else None,
            "stopped_at": row.stopped_at.isoformat() if row and row.stopped_at else None,
            "note": row.note if row else None,
            "jobs": {
                job.job_id: {
                    "next_run": job.next_run.isoformat() if job.next_run else None,
                    "last_run": job.last_run,
                }
                for job in self.jobs
            },
        }


def view(engine: Engine, *, heartbeat_s: float, lock_path: Path | None = None) -> DaemonView:
    """What `bot status` shows. Alive: the latest row says running and beat within three
    intervals; and when that daemon runs on this host, it must hold this data dir's lock
    (the kernel drops the lock of a killed process at once, the beat only gets old)."""
    from bot.daemon.lock import is_held
    from storage.models.daemon import DaemonHeartbeat as Row

    with engine.connect() as connection:
        found = connection.execute(select(_T).order_by(_T.c.id.desc()).limit(1)).mappings().first()
        jobs = connection.execute(
            select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time).order_by(
                scheduler_jobs.c.id
            )
        ).all()
        infos: dict[str, str] = dict(
            connection.execute(
                select(_INFO.c.key, _INFO.c.value).where(col(_INFO.c.key).startswith(JOB_KEY))
            ).all()
        )
    row = Row(**dict(found)) if found is not None else None
    alive = bool(
        row
        and row.state == DaemonState.RUNNING.value
        and utcnow() - row.beat_at < timedelta(seconds=max(3 * heartbeat_s, 5))
    )
    if alive and row is not None and lock_path is not None and row.host == socket.gethostname():
        holder = is_held(lock_path)
        alive = holder is not None and holder.get("pid") in (row.pid, "?")
    views = [
        JobView(
            str(job_id),
            datetime.fromtimestamp(next_run, tz=utcnow().tzinfo) if next_run else None,
            json.loads(infos[JOB_KEY + job_id]) if JOB_KEY + job_id in infos else None,
        )
        for job_id, next_run in jobs
    ]
    return DaemonView(alive, row, views)


__all__ = ["SCHEDULER_TABLE", "Beater", "DaemonView", "record_job_run", "start", "stop", "view"]
