"""Consoles shared by the commands, and the one way data reaches the terminal.

Soft wrap: messages stay on one line when piped or captured (logs and tests read whole lines),
tables still fit the terminal. Emoji codes (`:cat:`) are not expanded: they could be data.

Data (titles, creators, bids, error messages that quote them) comes from strangers. Printed
as is, `[/x]` is Rich markup that crashes the output after the work is done, and an escape
sequence from a CSV drives the terminal. So every value that is data goes through `safe()`
(inside a markup string), `cell()` (a table cell) or `plain()` (plain `typer.echo` output):
terminal control characters and escape sequences are removed, line breaks become spaces, and
`safe()` also escapes Rich markup. JSON output needs none of this (`json.dumps` escapes
control characters).
"""

from __future__ import annotations

import logging
import re

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

console = Console(soft_wrap=True, emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)

# ESC sequences (CSI, OSC/DCS/APC strings, two-byte escapes), their 8-bit C1 forms, then any
# remaining C0/C1 control or bidi-override character.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def plain(value: object) -> str:
    """`value` as one line of text with no terminal control characters or escape sequences."""
    text = _ESCAPES.sub("", str(value))
    text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def safe(value: object) -> str:
    """`plain(value)` with Rich markup escaped, for use inside a markup string."""
    return escape(plain(value))


def cell(value: object) -> Text:
    """A table cell holding data: plain text, never parsed as markup."""
    return Text("" if value is None else plain(value))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PlainFormatter(logging.Formatter):
    """Log records quote data too (an item's title in a warning): no escape sequences."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(plain(line) for line in super().format(record).split("\n"))


def configure_logging(level: str) -> None:
    """The root logger for a command: stderr, one formatter that strips control characters."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(PlainFormatter(LOG_FORMAT))


# --- tables ----------------------------------------------------------------------------------
# Tables never cut a value: ids, CIDs, addresses and prices are only useful whole. In a
# terminal every column folds (breaks inside a long word onto the next line) instead of
# ending in "…"; piped or captured, the table is printed at its natural width, so each row
# is one line with every value complete. `--json` prints everything in full anyway.
_UNLIMITED = 1_000_000
_SHORT_COLUMN = 12


def new_table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A table with `columns` (those named in `right` right-aligned) that never cuts a cell."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold", justify="right" if name in right else "left")
    return table


def print_table(table: Table, on: Console | None = None) -> None:
    """Print `table` whole: folded to the terminal's width, or unwrapped when not a terminal."""
    target = on or console
    options = target.options.update(max_width=_UNLIMITED)
    naturals = []
    for column in table.columns:
        column.overflow = "fold"  # also for tables built without new_table
        column.no_wrap = False
        widest = max(
            (Measurement.get(target, options, value).maximum for value in column.cells),
            default=0,
        )
        naturals.append(max(widest, Measurement.get(target, options, column.header).maximum))
    # Short columns (states, counts, currencies, headers) keep their width, so that a narrow
    # terminal folds the long values (ids, CIDs, addresses) rather than every column; only
    # when that leaves the long columns room to fold into.
    short = [width for width in naturals if width <= _SHORT_COLUMN]
    borders = 3 * len(naturals) + 1  # one space of padding each side, one rule between
    room = target.width - borders - sum(short)
    if room >= _SHORT_COLUMN * (len(naturals) - len(short)):
        for column, natural in zip(table.columns, naturals, strict=True):
            if natural <= _SHORT_COLUMN:
                column.min_width = natural
    if target.is_terminal:
        target.print(table)
        return
    width = max(Measurement.get(target, options, table).maximum, target.width)
    # Console.print caps its width at the console's, so a wider one writes to the same file
    # (looked up now: tests and pipes swap sys.stdout).
    Console(file=target.file, width=width, soft_wrap=True, emoji=False).print(table)
