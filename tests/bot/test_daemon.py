"""The daemon as a real process with a fast schedule: jobs run, a second daemon (and a cron
`bot run`) is refused naming the holder's pid, SIGTERM stops it cleanly, a restart resumes
the schedule from the job store, a SIGKILLed daemon's lock is taken over, logs go to a
rotating file (JSON lines as an option)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.daemon.heartbeat import view
from storage.db import make_engine
from storage.errors import StoreDamaged
from storage.models.daemon import DaemonHeartbeat, scheduler_jobs

REPO = Path(__file__).resolve().parents[2]
FAST = {
    "BOT_DAEMON_TICK_INTERVAL_S": "1",
    "BOT_DAEMON_SYNC_INTERVAL_S": "1",
    "BOT_DAEMON_SCRAPE_INTERVAL_S": "1",
    "BOT_DAEMON_PIN_CHECK_INTERVAL_S": "1",
    "BOT_DAEMON_REPORT_INTERVAL_S": "3600",  # not at start: its next run must survive restarts
    "BOT_DAEMON_HEARTBEAT_S": "0.5",
    "BOT_DAEMON_STOP_GRACE_S": "20",
}


def bot_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return {**env, "PYTHONPATH": str(REPO), "BOT_DATA_DIR": str(data_dir), **FAST, **extra}


def run_bot(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", *args],
        env=bot_env(data_dir, **extra),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def daemon(data_dir: Path, log: Path, **extra: str) -> Iterator[subprocess.Popen[str]]:
    with open(log, "a") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.app import main; main()", "daemon"],
            env=bot_env(data_dir, **extra),
            cwd=data_dir.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def wait_for(what: Callable[[], Any], timeout: float = 90, process: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the daemon exited with {process.returncode}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def status(data_dir: Path) -> dict[str, Any]:
    """What `bot status --json` shows under "daemon" (read in-process: polled often). While a
    fresh daemon is still creating the database (an empty file, then no tables yet): not
    alive yet."""
    not_yet = {"alive": False, "jobs": {}}
    try:
        engine = make_engine(
            f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip", read_only=True
        )
    except StoreDamaged:
        if (data_dir / "bot.db").stat().st_size == 0:
            return not_yet
        raise
    try:
        return view(engine, heartbeat_s=0.5, lock_path=data_dir / "bot.lock").as_json()
    except OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return not_yet
    finally:
        engine.dispose()


def cli_status(data_dir: Path) -> dict[str, Any]:
    result = run_bot(data_dir, "status", "--json", "--require-daemon")
    assert result.returncode == 0, result.stderr  # alive: the health check passes
    return json.loads(result.stdout)["daemon"]  # type: ignore[no-any-return]


def jobs_that_ran(data_dir: Path) -> set[str]:
    return {name for name, job in status(data_dir)["jobs"].items() if job["last_run"]}


def next_runs(data_dir: Path) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    with engine.connect() as connection:
        rows = connection.execute(select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time))
        found = {str(job): float(at) for job, at in rows}
    engine.dispose()
    return found


def heartbeats(data_dir: Path) -> list[DaemonHeartbeat]:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    with engine.connect() as connection:
        rows = connection.execute(select(DaemonHeartbeat.__table__)).mappings().all()  # type: ignore[attr-defined]
    engine.dispose()
    return [DaemonHeartbeat(**dict(row)) for row in rows]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_daemon_runs_jobs_refuses_a_second_stops_on_sigterm_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"  # does not exist yet: only defaults
    log = tmp_path / "daemon.out"
    with daemon(data_dir, log) as first:
        wait_for(lambda: {"pipeline", "sync", "scrape", "pin_check"} <= jobs_that_ran(data_dir),
                 process=first)  # fmt: skip
        shown = cli_status(data_dir)
        assert shown["alive"] and shown["pid"] == first.pid
        # What it cannot do yet is reported (no wallet, no weights, no sources), not fatal.
        assert "wallet" in shown["note"] and "scrape" in shown["note"]

        second = run_bot(data_dir, "daemon")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "already running" in second.stderr
        cron = run_bot(data_dir, "run", "--once")
        assert cron.returncode == 2 and f"pid {first.pid}" in cron.stderr

        report_at = next_runs(data_dir)["report"]
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0
    output = log.read_text()
    assert "SIGTERM received" in output and "daemon stopped cleanly" in output
    assert "Traceback" not in output
    (beat,) = heartbeats(data_dir)
    assert beat.state == "stopped" and beat.note == "stopped cleanly"
    assert not status(data_dir)["alive"]
    assert run_bot(data_dir, "status", "--require-daemon").returncode == 1
    logged = (data_dir / "logs" / "bot.log").read_text()
    assert "daemon started" in logged and "job pipeline" not in logged.split("\n")[0]

    # Restart: the job store keeps the schedule (the report's next run did not move), and
    # the log file takes JSON lines now.
    with daemon(data_dir, log, BOT_LOG_JSON="true") as again:
        wait_for(lambda: len(heartbeats(data_dir)) == 2 and status(data_dir)["alive"],
                 process=again)  # fmt: skip
        assert next_runs(data_dir)["report"] == report_at
        before = status(data_dir)["jobs"]["pipeline"]["last_run"]["finished"]
        wait_for(lambda: status(data_dir)["jobs"]["pipeline"]["last_run"]["finished"] != before,
                 process=again)  # fmt: skip
        again.send_signal(signal.SIGINT)
        assert again.wait(60) == 0
    lines = (data_dir / "logs" / "bot.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(e["message"].startswith("daemon started") for e in entries)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_sigkilled_daemon_leaves_no_lock_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "daemon.out"
    with daemon(data_dir, log) as first:
        wait_for(lambda: "pipeline" in jobs_that_ran(data_dir), process=first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # The beat is recent, but the kernel dropped the lock with the process.
        assert not status(data_dir)["alive"]
    assert json.loads((data_dir / "bot.lock").read_text())["pid"] == first.pid  # stale text
    with daemon(data_dir, log) as second:
        wait_for(lambda: status(data_dir)["alive"] and status(data_dir)["pid"] == second.pid,
                 process=second)  # fmt: skip
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0


def test_the_signal_handlers_are_in_place_before_the_heartbeat_says_alive(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bot status` (and a supervisor) may send SIGTERM as soon as the heartbeat row says
    alive: by then SIGTERM must mean "stop cleanly", not the default (killed, exit -15)."""
    from bot.context import AppContext
    from bot.daemon import service
    from bot.settings import load_settings

    seen: list[object] = []

    def start_heartbeat(*_args: object, **_kwargs: object) -> int:
        seen.append(signal.getsignal(signal.SIGTERM))
        raise RuntimeError("enough: the order is what this test checks")

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    monkeypatch.setattr(service.heartbeat, "start", start_heartbeat)
    try:
        with pytest.raises(RuntimeError, match="enough"):
            service.serve(service.Daemon(AppContext(load_settings())))
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    assert seen and callable(seen[0]) and seen[0] is not saved[signal.SIGTERM]
