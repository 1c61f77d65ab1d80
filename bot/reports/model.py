"""What every report is made of, whatever it is rendered as: sections of typed columns and
rows of plain Python values (exact Decimals, datetimes, ints, strings, lists), notes that say
how the numbers were made, an optional chart per section, and the problems met on the way
(rows that could not be read: the command then exits 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# text: as is; id: never cut (ids, hashes, addresses, CIDs); money: an exact Decimal;
# usd: a Decimal shown in cents; int; seconds: a duration (float seconds); ratio: a Decimal;
# time: a datetime; list: strings
ColumnKind = Literal["text", "id", "money", "usd", "int", "seconds", "ratio", "time", "list"]
NUMERIC_KINDS = ("money", "usd", "int", "seconds", "ratio")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: ColumnKind = "text"


@dataclass(frozen=True)
class Chart:
    """A matplotlib chart of one section: `y` against `x`, one series per value of `series`.

    kind: bar (vertical), barh (horizontal, for long labels), line, scatter."""

    kind: Literal["bar", "barh", "line", "scatter"]
    title: str
    x: str
    y: str
    series: str | None = None
    xlabel: str = ""
    ylabel: str = ""
    log_x: bool = False


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None


@dataclass
class Report:
    name: str
    title: str
    generated_at: datetime
    mode: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def only(self, keys: list[str]) -> Report:
        """The same report with only the named sections (in the report's order)."""
        wanted = set(keys)
        return Report(
            self.name,
            self.title,
            self.generated_at,
            self.mode,
            [s for s in self.sections if s.key in wanted],
            self.notes,
            self.problems,
        )
