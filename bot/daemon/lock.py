"""One bot per data dir: an exclusive `flock` on `<data_dir>/bot.lock`.

`bot daemon` and `bot run` hold it while they work; a second one refuses and names the holder
(pid, command, start time, written into the file after the lock is taken). The kernel drops a
`flock` when its process dies, however it dies, so a lock left by a SIGKILLed bot is simply
taken by the next one: the pid in the file is only information, never the lock itself (a pid
file alone would be stale after a crash, or name a reused pid).

Workers on other machines sharing one PostgreSQL database have data dirs of their own; the
artwork leases (storage/leases.py) keep them from running one stage twice for an artwork.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any


class LockHeld(RuntimeError):
    """Another bot works on this data dir; the message names it."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path, self.holder = path, holder
        pid = holder.get("pid", "?")
        what = holder.get("command") or "bot"
        since = holder.get("since", "?")
        super().__init__(
            f"another bot is already running on {path.parent} (pid {pid}: {what}, since "
            f"{since}); stop it first, or use another BOT_DATA_DIR"
        )


@dataclass
class InstanceLock:
    path: Path
    command: str
    _fd: int | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(self.path)
            os.close(fd)
            raise LockHeld(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # nobody holds it: no stale pid to mislead
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def read_holder(path: Path) -> dict[str, Any]:
    """What the holder wrote into the lock file ({} when nothing is readable)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        data = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_held(path: Path) -> dict[str, Any] | None:
    """The holder's info when a live process holds the lock, else None (tested by trying to
    take it shared and letting go at once: nothing is written)."""
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path) or {"pid": "?"}
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return None


def command_line() -> str:
    return " ".join(["bot", *sys.argv[1:]])[:200]
