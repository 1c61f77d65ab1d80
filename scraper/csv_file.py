"""Opening a dataset CSV that a person handed us: one reader for `bot import` and `bot eda`.

Both commands decide the same way, before any row is used:

- **Not a CSV** (a PNG, a ZIP/.xlsx, a PDF, gzip, SQLite, any file with NUL bytes at the
  start): refused with one line saying what it looks like.
- **Encoding**: UTF-8, with or without the byte-order mark spreadsheet programs write (the
  BOM is not part of the first column's name), or UTF-16 with its BOM. A file that is not
  valid UTF-8 is read as Windows-1252 (the "ANSI" encoding Windows spreadsheets save; a
  superset of Latin-1's printable characters) with a warning naming the first bad line: the
  whole file one way, never a mix, and the same for both commands.
- **Header**: column names are trimmed; a name given twice is refused (which column would be
  meant?); missing required columns are named, and when the header holds `;` or tabs instead
  of commas the message asks whether it is a semicolon- or tab-separated file.
- **Rows** (`iter_rows`): a line with a NUL byte, a field over `MAX_FIELD_CHARS` characters
  or a physical line over `MAX_LINE_CHARS` is reported by line number and skipped, and
  reading goes on; memory stays bounded by those limits whatever the file holds.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MAX_FIELD_CHARS = 1_000_000  # csv's default is 131 072; real descriptions stay far below both
MAX_LINE_CHARS = 4 * MAX_FIELD_CHARS
_SNIFF_BYTES = 4096
_SCAN_CHUNK = 1 << 20
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook? export it as CSV)"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"RIFF", "a RIFF (WebP/WAV/AVI) file"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls? export it as CSV)"),
)


class CsvFormatError(ValueError):
    """The file as a whole cannot be read as the dataset: one line naming the file and why."""


@dataclass
class CsvFile:
    path: Path
    encoding: str  # what the rows are decoded with
    header: list[str]
    warnings: list[str] = field(default_factory=list)
    errors: str = "strict"  # the decoder's error handler (replace for Windows-1252)
    lines: int | None = None  # physical lines, header included (None: not counted)


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


def open_csv(path: Path, required: Sequence[str]) -> CsvFile:
    """Check that `path` is a readable CSV with the `required` columns; raises CsvFormatError."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise CsvFormatError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not head:
        raise CsvFormatError(f"{path}: the file is empty")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise CsvFormatError(f"{path} is not a CSV file: it looks like {what}")
    lines: int | None = None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, errors, warnings = "utf-16", "strict", list[str]()
    else:
        if b"\x00" in head:
            raise CsvFormatError(f"{path} is not a CSV file: it holds binary data (NUL bytes)")
        encoding, errors, warnings, lines = _text_encoding(path)
    with open(path, encoding=encoding, errors=errors, newline="") as handle:
        first = handle.readline(MAX_LINE_CHARS)
    header = _header(path, first)
    _check_header(path, header, first, required)
    return CsvFile(path, encoding, header, warnings, errors, lines)


def _text_encoding(path: Path) -> tuple[str, str, list[str], int]:
    """UTF-8 (BOM or not) when every byte decodes, otherwise Windows-1252 with a warning;
    and the number of lines (for progress). One pass over the bytes, in C."""
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    warning = ""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad_line = lines + 1 + chunk.count(b"\n", 0, exc.start)
                    byte = chunk[exc.start : exc.start + 1].hex()
                    warning = f"line {bad_line}: byte 0x{byte}"
                    decoder = None
            lines += chunk.count(b"\n")
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            warning = "it ends inside a UTF-8 character"
    if warning:
        message = (
            f"{path} is not valid UTF-8 ({warning}); read as Windows-1252 (Latin-1). "
            "Save it as UTF-8 to be sure of the text."
        )
        return "cp1252", "replace", [message], lines
    return "utf-8-sig", "strict", [], lines


def _header(path: Path, first: str) -> list[str]:
    try:
        names = next(csv.reader([first]), [])
    except csv.Error as exc:
        raise CsvFormatError(f"{path}: the header line cannot be read ({exc})") from None
    return [name.strip() for name in names]


def _check_header(path: Path, header: list[str], first: str, required: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name in seen and name:
            raise CsvFormatError(
                f"{path}: column {name!r} appears twice in the header (columns {seen[name]} "
                f"and {number}); refusing to guess which one is meant"
            )
        seen[name] = number
    missing = [column for column in required if column not in seen]
    if not missing:
        return
    for separator, label in ((";", "semicolon"), ("\t", "tab")):
        names = {part.strip() for part in first.rstrip("\r\n").split(separator)}
        if separator in first and len(names & set(required)) > len(set(header) & set(required)):
            raise CsvFormatError(
                f"{path}: is this a {label}-separated file? The header is split by "
                f"{separator!r}, not commas; save it with commas as separators"
            )
    raise CsvFormatError(f"{path}: missing column(s) {', '.join(missing)}")


def iter_rows(source: CsvFile) -> Iterator[tuple[int, dict[str, str] | RowProblem]]:
    """(line, row) for every data row, or (line, RowProblem) for a row that cannot be read.

    `line` is the physical line the row starts on (the header is line 1). Blank lines are
    skipped. A row with the wrong number of fields is a problem, not a guess.
    """
    previous = max(csv.field_size_limit(), 0)
    csv.field_size_limit(MAX_FIELD_CHARS)  # process-wide in the csv module; restored below
    flagged: dict[int, str] = {}
    try:
        with open(source.path, encoding=source.encoding, errors=source.errors, newline="") as f:
            reader = csv.reader(_bounded_lines(f, flagged))
            next(reader, None)  # the header, checked by open_csv
            width = len(source.header)
            while True:
                start = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    reason = flagged.pop(reader.line_num, None) or _csv_reason(exc)
                    yield start, RowProblem(start, reason)
                    continue
                problem = None
                if flagged:  # rare: look only when some line was flagged
                    problem = next(
                        (flagged.pop(n) for n in range(start, reader.line_num + 1) if n in flagged),
                        None,
                    )
                if problem is not None:
                    yield start, RowProblem(start, problem)
                elif not fields or fields == [""]:
                    continue
                elif len(fields) != width:
                    yield (
                        start,
                        RowProblem(start, f"{len(fields)} fields where the header has {width}"),
                    )
                else:
                    yield start, dict(zip(source.header, fields, strict=True))
    finally:
        csv.field_size_limit(previous)


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {MAX_FIELD_CHARS} characters"
    return f"not readable as CSV ({text})"


def _bounded_lines(handle: IO[str], flagged: dict[int, str]) -> Iterator[str]:
    """Physical lines, each at most MAX_LINE_CHARS; NULs and over-long lines are flagged by
    line number (and defused) so the CSV parser goes on with the next row."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := handle.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass  # drop the rest of the line without holding it
            flagged[number] = f"the line is longer than {MAX_LINE_CHARS} characters"
            line = "\n"
        if "\x00" in line:
            flagged[number] = "the line holds a NUL byte (binary data in a text file)"
            line = line.replace("\x00", "")
        yield line
