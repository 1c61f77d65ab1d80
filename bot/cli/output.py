"""Consoles shared by the commands. Soft wrap: messages stay on one line when piped or
captured (logs and tests read whole lines), tables still fit the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

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
            (Measurement.get(target, options, cell).maximum for cell in column.cells),
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
    Console(file=target.file, width=width, soft_wrap=True).print(table)
