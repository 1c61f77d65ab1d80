"""Long work shows progress; a log line never breaks the bar (bot.cli.progress)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

from bot.cli.progress import progress


def test_piped_progress_is_a_plain_line_now_and_then_and_one_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quiet = Console(file=io.StringIO(), force_terminal=False)
    with progress("import big.csv", 1_000_001, unit="lines", out=quiet, interval_s=0) as tracker:
        tracker.update(250_000)
        tracker.update(1_000_001)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("import big.csv: 250,000 of 1,000,001 lines (25%), ")
    assert lines[-1].startswith("import big.csv: 1,000,001 of 1,000,001 lines (100%), ")
    assert len(lines) == 2  # one per update (interval 0); the last said it all already


def test_piped_progress_ends_with_where_the_work_got_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quiet = Console(file=io.StringIO(), force_terminal=False)
    with progress("pin", 4, out=quiet, interval_s=0) as tracker:
        tracker.advance()  # printed at once (interval 0)
        tracker.interval_s = 3600  # type: ignore[union-attr]
        tracker.advance(3)  # too soon for another line
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["pin: 1 of 4 (25%)", "pin: 4 of 4 (100%)"]


def test_short_piped_work_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = Console(file=io.StringIO(), force_terminal=False)
    with progress("curate", 10, out=quiet, interval_s=3600) as tracker:
        for _ in range(10):
            tracker.advance()
    assert capsys.readouterr().err == ""


def test_on_a_terminal_log_lines_print_above_the_bar_and_files_keep_theirs(
    tmp_path: Path,
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    stream = io.StringIO()
    root = logging.getLogger()
    on_stream = logging.StreamHandler(stream)
    on_file = logging.FileHandler(tmp_path / "bot.log")
    saved_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(on_stream)
    root.addHandler(on_file)
    try:
        with progress("generate", 4, unit="frames", out=terminal) as tracker:
            tracker.advance(2)
            logging.getLogger("bot.test").warning("frame 2 of artwork 7 is blank")
            assert on_stream not in root.handlers  # replaced while the bar is live
            tracker.advance(2)
        assert on_stream in root.handlers and on_file in root.handlers
    finally:
        root.removeHandler(on_stream)
        root.removeHandler(on_file)
        on_file.close()
        root.setLevel(saved_level)
    assert "frame 2 of artwork 7 is blank" in screen.getvalue()  # through the bar's console
    assert "4/4" in screen.getvalue() and "frames" in screen.getvalue()
    assert stream.getvalue() == ""  # not written under the bar on the terminal's stream
    assert "frame 2 of artwork 7 is blank" in (tmp_path / "bot.log").read_text()
