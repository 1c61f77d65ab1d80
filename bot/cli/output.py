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


def new_table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A table with `columns` (those named in `right` right-aligned) that never cuts a cell."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold", justify="right" if name in right else "left")
    return table


def print_table(table: Table, on: Console | None = None) -> None:
    """Print `table` whole: folded to the terminal's width, or unwrapped when not a terminal."""
    target = on or console
    for column in table.columns:
        column.overflow = "fold"  # also for tables built without new_table
        column.no_wrap = False
    if target.is_terminal:
        target.print(table)
        return
    options = target.options.update(max_width=_UNLIMITED)
    width = max(Measurement.get(target, options, table).maximum, target.width)
    # Console.print caps its width at the console's, so a wider one writes to the same file
    # (looked up now: tests and pipes swap sys.stdout).
    Console(file=target.file, width=width, soft_wrap=True).print(table)
