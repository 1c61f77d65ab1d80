"""`bot daemon`: APScheduler over the pipeline, as a worker loop in freqtrade's manner.

Start: take this data dir's lock (a second daemon or a cron `bot run` refuses, naming the
holder), open the store with `open_store_at_start` (BOT_DB_AUTO_UPGRADE), check its mode,
write the heartbeat row, look up on the marketplace what a crash left in `minting`/`listing`
(and finish it), report once what cannot run yet (no weights, no wallet, no sources), then
start the scheduler on its persistent job store (the `apscheduler_jobs` table of the same
database): jobs keep their next run times across restarts, a run missed while the daemon was
down runs once at start (coalesced), each job never runs twice at once.

Stop (SIGTERM/SIGINT): no job starts any more; running jobs finish the artwork in hand and
stop (the pipeline checks the stop flag between artworks); after BOT_DAEMON_STOP_GRACE_S a
step still running is abandoned (safe: every step resumes on the next start, leases of a dead
process are freed at once, mint/list reconcile). The heartbeat row records how it stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import AppContext
from bot.daemon import heartbeat
from bot.daemon.jobs import JobSpec, Outcome, job_specs
from bot.notify import DaemonEvent
from bot.notify.webhook import Notifier, NullNotifier
from bot.pipeline.context import PipelineContext, ProgressFactory, StageUnavailable, silent_progress
from bot.pipeline.cycle import sources_configured
from bot.pipeline.runner import reconcile_in_flight
from bot.pipeline.stages import default_stages
from bot.settings import Settings
from storage.models.daemon import SCHEDULER_TABLE, DaemonState
from storage.types import utcnow

log = logging.getLogger("bot.daemon")
# APScheduler logs every job start and end at INFO; the daemon logs each job's outcome itself.
logging.getLogger("apscheduler").setLevel(logging.WARNING)
JOB_WORKERS = 3  # the pipeline tick, the sync and one more can run side by side


# What a stored job holds in place of its argument: the job store keeps the function's name
# and this text (no live object can be pickled); the executor hands the function the running
# daemon instead (and APScheduler's check of the arguments at `add_job` is satisfied).
RUNNING_DAEMON = "<the running daemon>"


class _BoundJob:
    """A stored job whose function gets the running daemon (see RUNNING_DAEMON)."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}  # noqa: RUF012 (read-only, as APScheduler reads a Job's)

    def __init__(self, job: Any, daemon: Daemon) -> None:
        self._job = job
        self.func = partial(daemon.run_job, job.id, job.func)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class DaemonExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    def __init__(self, daemon: Daemon, max_workers: int) -> None:
        super().__init__(max_workers)
        self.daemon = daemon

    def _do_submit_job(self, job: Any, run_times: Any) -> None:
        super()._do_submit_job(_BoundJob(job, self.daemon), run_times)


class Daemon:
    def __init__(
        self,
        app: AppContext,
        progress: ProgressFactory = silent_progress,
        notifier: Notifier | NullNotifier | None = None,
    ) -> None:
        self.app = app
        self.pipeline = PipelineContext(app=app, progress=progress, notifier=notifier)
        self.stopping = self.pipeline.stop
        self._reported: dict[str, str] = {}
        self._lock = threading.Lock()
        self.heartbeat_id: int | None = None

    @property
    def settings(self) -> Settings:
        return self.app.settings

    # --- what it cannot do yet ---------------------------------------------------------------
    def note_unavailable(self, part: str, reason: str | None) -> None:
        """Log what a part cannot do once, again only when that changes; kept in the
        heartbeat's note for `bot status`."""
        with self._lock:
            before = self._reported.get(part)
            if reason == before:
                return
            if reason is None:
                self._reported.pop(part, None)
                log.info("%s can run now", part)
            else:
                self._reported[part] = reason
                log.warning("%s cannot run yet: %s", part, reason)
            note = self.note()
        if self.heartbeat_id is not None:
            heartbeat.beat(self.app.engine, self.heartbeat_id, note=note)

    def note(self) -> str:
        return "; ".join(f"{part}: {reason}" for part, reason in sorted(self._reported.items()))

    def survey(self) -> None:
        """At start: what cannot run with this configuration (reported once)."""
        for stage in default_stages():
            if not stage.enabled(self.pipeline):
                continue
            try:
                stage.available(self.pipeline)
            except StageUnavailable as exc:
                self.note_unavailable(stage.name, str(exc))
        if not sources_configured(self.pipeline):
            self.note_unavailable("scrape", "no sources configured (BOT_RARIBLE_COLLECTIONS, ...)")

    # --- jobs ----------------------------------------------------------------------------------
    def run_job(self, job_id: str, func: Callable[[Daemon], Outcome], *_stored: Any) -> str:
        if self.stopping.is_set():
            return "skipped: stopping"
        started = utcnow()
        try:
            outcome, notable = func(self)
        except Exception as exc:
            outcome = f"failed: {type(exc).__name__}: {exc}"
            log.exception("job %s failed (it runs again at its next time)", job_id)
            heartbeat.record_job_run(self.app.engine, job_id, outcome, started)
            return outcome
        log.log(logging.INFO if notable else logging.DEBUG, "job %s: %s", job_id, outcome)
        heartbeat.record_job_run(self.app.engine, job_id, outcome, started)
        return outcome

    def schedule(self, scheduler: BackgroundScheduler, specs: list[JobSpec]) -> None:
        """Make the job store hold exactly these jobs. A job already stored with the same
        interval keeps its next run time (a restart resumes the schedule); a changed
        interval is rescheduled; a new job runs at once when it says so."""
        wanted = {spec.job_id for spec in specs}
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                scheduler.remove_job(job.id)
        now = utcnow()
        for spec in specs:
            trigger = IntervalTrigger(seconds=spec.interval_s)
            stored = scheduler.get_job(spec.job_id)
            if stored is None:
                first = now if spec.run_at_start else now + timedelta(seconds=spec.interval_s)
                scheduler.add_job(
                    spec.func,
                    trigger,
                    args=[RUNNING_DAEMON],
                    id=spec.job_id,
                    name=spec.job_id,
                    next_run_time=first,
                )
                log.info("job %s every %ss, first at %s", spec.job_id, spec.interval_s, first)
            elif getattr(stored.trigger, "interval", None) != timedelta(seconds=spec.interval_s):
                scheduler.reschedule_job(spec.job_id, trigger=trigger)
                log.info("job %s rescheduled: every %ss", spec.job_id, spec.interval_s)
            else:
                log.info("job %s resumes: next run %s", spec.job_id, stored.next_run_time)


def build_scheduler(daemon: Daemon) -> BackgroundScheduler:
    # The job store gets its own MetaData: the table itself is created by Alembic revision
    # 0013 with exactly APScheduler's schema, so `create(checkfirst=True)` finds it.
    store = SQLAlchemyJobStore(engine=daemon.app.engine, tablename=SCHEDULER_TABLE)
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": DaemonExecutor(daemon, JOB_WORKERS)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )


def serve(daemon: Daemon, *, install_signals: bool = True) -> DaemonState:
    """Run until SIGTERM/SIGINT (or `daemon.stopping` is set); returns how it stopped."""
    settings = daemon.settings
    engine = daemon.app.engine
    if install_signals:  # before the heartbeat says "alive": a SIGTERM from then on is clean
        _install_signals(daemon)
    daemon.heartbeat_id = heartbeat.start(
        engine,
        owner=daemon.pipeline.owner,
        host=socket.gethostname(),
        pid=os.getpid(),
        mode=settings.marketplace_mode.value,
        note="",
    )
    beater = heartbeat.Beater(engine, daemon.heartbeat_id, settings.daemon_heartbeat_s).start()
    log.info(
        "daemon started: pid %s, %s mode, data dir %s",
        os.getpid(),
        settings.marketplace_mode.value,
        settings.data_dir,
    )
    scheduler = build_scheduler(daemon)
    notifier = daemon.pipeline.notifier
    state = DaemonState.STOPPED
    note = "stopped cleanly"
    try:
        if notifier is not None:
            notifier.notify(DaemonEvent("started", detail=f"{settings.marketplace_mode.value}"))
        daemon.survey()
        reconciled = reconcile_in_flight(daemon.pipeline)
        for stage in reconciled.stages:
            if stage.taken:
                log.info("reconciled %s: %d artworks in flight", stage.name, stage.taken)
        scheduler.start(paused=True)
        daemon.schedule(scheduler, job_specs(settings))
        scheduler.resume()
        scheduler.wakeup()
        daemon.stopping.wait()
        log.info("stopping: no new job starts; running jobs finish the artwork in hand")
        state = _shutdown(scheduler, settings.daemon_stop_grace_s)
        if state is not DaemonState.STOPPED:
            note = f"stopped after {settings.daemon_stop_grace_s:g} s with a step abandoned"
    except BaseException as exc:
        note = f"stopped by an error: {type(exc).__name__}: {exc}"[:4000]
        if scheduler.running:
            scheduler.shutdown(wait=False)
        raise
    finally:
        daemon.pipeline.close_resources()  # e.g. a Ray executor's actors
        beater.close()
        heartbeat.stop(engine, daemon.heartbeat_id, state=DaemonState.STOPPED, note=note)
        log.info("daemon %s", note)
        if notifier is not None:
            notifier.notify(DaemonEvent("stopped", detail=note))
            notifier.close()  # waits at most BOT_WEBHOOK_TIMEOUT_S for what is queued
    return state


def _shutdown(scheduler: BackgroundScheduler, grace_s: float) -> DaemonState:
    """Wait up to `grace_s` for running jobs; report STOPPING when one had to be abandoned."""
    done = threading.Event()

    def wait_for_jobs() -> None:
        scheduler.shutdown(wait=True)
        done.set()

    threading.Thread(target=wait_for_jobs, name="shutdown", daemon=True).start()
    if done.wait(grace_s):
        return DaemonState.STOPPED
    log.warning(
        "a step is still running after %g s: abandoning it (it resumes next start)", grace_s
    )
    return DaemonState.STOPPING


def _install_signals(daemon: Daemon) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        if daemon.stopping.is_set():
            return
        log.info("%s received", signal.Signals(signum).name)
        daemon.stopping.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
