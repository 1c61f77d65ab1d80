"""Progress of long work, the one way every command shows it.

`progress(description, total)` is a context manager yielding a tracker with `advance(n)` (n
more done) and `update(done)` (where the work got to, e.g. the line of a file):
- on a terminal, a Rich progress bar; while it is live, log records are printed through the
  bar's console, above the bar, so a log line never breaks it;
- otherwise (piped, a log file, systemd, CI), a plain line on stderr at most every
  `interval_s` seconds and one at the end, so a log shows that long work goes on, without a
  line per item.

Pipeline code takes the factory as a parameter (`bot.pipeline.context.ProgressFactory`), so
it never imports the CLI; library callers and tests pass a silent one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bot.cli.output import console as stdout_console
from bot.cli.output import err_console

PLAIN_INTERVAL_S = 5.0


class _BarTracker:
    def __init__(self, bar: Progress, task: object) -> None:
        self._bar, self._task = bar, task

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)  # type: ignore[arg-type]

    def update(self, done: int) -> None:
        """Set how much is done (for work that reports where it got to, e.g. a file line)."""
        self._bar.update(self._task, completed=done)  # type: ignore[arg-type]


class _PlainTracker:
    """Counts, and prints a line when `interval_s` passed since the last one."""

    def __init__(
        self, description: str, total: int | None, unit: str, out: Console, interval_s: float
    ) -> None:
        self.description, self.total, self.unit, self.out = description, total, unit, out
        self.interval_s = interval_s
        self.done = 0
        self.started = self.last = time.monotonic()
        self.printed = False
        self.printed_done: int | None = None  # what the last line said
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._set(self.done + n)

    def update(self, done: int) -> None:
        with self._lock:
            self._set(done)

    def _set(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self.last >= self.interval_s:
            self.last = now
            self.line()

    def line(self) -> None:
        """'import big.csv: 250,000 of 1,000,001 lines (25%), 12 s'"""
        of = f" of {self.total:,}" if self.total else ""
        unit = f" {self.unit}" if self.unit else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        elapsed = time.monotonic() - self.started
        self.out.print(
            f"{self.description}: {self.done:,}{of}{unit}{share}, {elapsed:.0f} s",
            markup=False,
            highlight=False,
        )
        self.printed = True
        self.printed_done = self.done


class _AboveBar(logging.Handler):
    """Prints log records through a live bar's console (above the bar)."""

    def __init__(self, bar_console: Console, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.bar_console = bar_console
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bar_console.print(self.format(record), markup=False, highlight=False)
        except Exception:
            self.handleError(record)


@contextmanager
def logs_above(bar_console: Console) -> Iterator[None]:
    """While the bar is live, the root logger's console handlers (stream handlers on a
    terminal) are replaced by one that prints above the bar; files keep their handlers.
    """
    if not bar_console.is_terminal:  # no live bar to protect: logs stay where they were
        yield
        return
    root = logging.getLogger()
    streams = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    if not streams:
        yield
        return
    above = _AboveBar(bar_console, streams[0].formatter)
    above.setLevel(streams[0].level)
    for handler in streams:
        root.removeHandler(handler)
    root.addHandler(above)
    try:
        yield
    finally:
        root.removeHandler(above)
        for handler in streams:
            root.addHandler(handler)


@contextmanager
def progress(
    description: str,
    total: int | None,
    *,
    unit: str = "",
    out: Console | None = None,
    interval_s: float = PLAIN_INTERVAL_S,
) -> Iterator[_BarTracker | _PlainTracker]:
    """Show the progress of `total` units of work (None: unknown), counted in `unit` ("lines",
    "listings"; empty: items); see the module docstring."""
    target = out or stdout_console
    if target.is_terminal:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=target,
            transient=False,
        )
        with bar, logs_above(bar.console):
            yield _BarTracker(bar, bar.add_task(description, total=total))
        return
    tracker = _PlainTracker(description, total, unit, err_console, interval_s)
    yield tracker
    # Short work stays quiet; long work ends with where it got to (unless its last line did).
    if tracker.printed and tracker.printed_done != tracker.done:
        tracker.line()
