"""The Kaggle "NFT art collection 2021" CSV: parse, validate, import.

Columns: title, name, creator, art_series, price, symbol, type, likes, nsfw, tokens, year,
rights, royalty, cid, path. The rows come from NFT Showroom on Hive, so the marketplace is
`hive` and prices are in the row's `symbol` (SWAP.HIVE). A listing's id is
`<art_series>:<cid>`: `art_series` alone repeats for different works in a few rows.

The file is opened by the reader `bot eda --input` shares (scraper/csv_file.py: encoding,
BOM, not-a-CSV, duplicate or missing columns). Every bad row is reported with its line number
and the reason and skipped. Money and counts are bounded before they become numbers
(storage/money.py). The import streams: rows are validated and upserted in batches of
`BATCH_ROWS`, each batch its own short transaction, so memory stays flat for any file size and
other commands can write between batches; an interrupted import is completed by running it
again (it is idempotent). Exact duplicate rows (69 in the 2021 dataset) collapse into one
listing and are counted, not reported as errors; the later row wins.

Local images (`--images`) pass the downloader's checks (byte cap, raster type by magic bytes,
pixel cap). A refused image is reported on its row; the listing is kept with its CID and the
reason in `image_error`, so `bot images fetch --retry-refused` can try the IPFS copy.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from scraper.csv_file import CsvFile, CsvFormatError, RowProblem, iter_rows, open_csv
from scraper.errors import DownloadRefused
from scraper.images import DownloadPolicy, store_local_image
from storage.batches import bulk_gc, write_transaction
from storage.blobstore import BlobStore
from storage.listings import UpsertOutcome, upsert_listings
from storage.money import MoneyError, parse_amount, parse_count

REQUIRED_COLUMNS = (
    "title", "name", "creator", "art_series", "price", "symbol", "type", "likes", "nsfw",
    "tokens", "year", "rights", "royalty", "cid", "path",
)  # fmt: skip
MARKETPLACE = "hive"
SOURCE = "kaggle"
# Each commit writes every index page its batch touched (item ids land all over the unique
# index), so fewer, larger commits cost less: 20,000 rows per batch instead of 5,000 took a
# million-row import from 71-94 to 63-71 CPU seconds; a batch holds the write lock a second
# or two (other writers wait up to BUSY_TIMEOUT_MS, 30 s).
BATCH_ROWS = 20_000
MAX_KEPT_ERRORS = 1000  # reported in full; beyond that only counted
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class _RawJson:
    """The row as the file had it, as `json.dumps(row, ensure_ascii=False, sort_keys=True)`
    has written it since the first import (so re-importing an unchanged file changes
    nothing), but assembled from the header's sorted keys: twice as fast for a million rows."""

    def __init__(self, header: list[str]) -> None:
        self._pairs = [(name, encode_basestring(name) + ": ") for name in sorted(header)]

    def __call__(self, raw: dict[str, str]) -> str:
        return (
            "{" + ", ".join([key + encode_basestring(raw[name]) for name, key in self._pairs]) + "}"
        )


KaggleFormatError = CsvFormatError  # the file as a whole is not the dataset's format


@dataclass(frozen=True)
class RowError:
    line: int
    item: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.item}): {self.reason}"


@dataclass
class _Problems:
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)


@dataclass
class KaggleReadResult(_Problems):
    """The whole file in memory (the `bot scrape kaggle` source pages through it)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    lines: list[int] = field(default_factory=list)  # line number of each row in `rows`
    warnings: list[str] = field(default_factory=list)


@dataclass
class KaggleImportReport(_Problems):
    listings: int = 0  # distinct listings in the file
    duplicates: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    with_image: int = 0
    missing_image: int = 0
    images_refused: list[RowError] = field(default_factory=list)
    images_refused_count: int = 0
    warnings: list[str] = field(default_factory=list)


class _BadRow(ValueError):
    pass


def open_kaggle_csv(csv_path: Path) -> CsvFile:
    return open_csv(csv_path, REQUIRED_COLUMNS)


def iter_kaggle_rows(
    source: CsvFile, images_dir: Path | None = None
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line, listing fields) for each good row, (line, RowError) for each bad one."""
    images_root = images_dir.resolve() if images_dir else None
    raw_json = _RawJson(source.header)
    for line, raw in iter_rows(source):
        if isinstance(raw, RowProblem):
            yield line, RowError(line, "?", raw.reason)
            continue
        try:
            yield line, _parse_row(raw, images_root, raw_json)
        except _BadRow as exc:
            yield line, RowError(line, _describe(raw), str(exc))


def read_kaggle_csv(csv_path: Path, images_dir: Path | None = None) -> KaggleReadResult:
    """Parse and validate every row into memory. Listing fields come back ready for
    `upsert_listing`; `image_path` is set where the image exists under `images_dir`."""
    source = open_kaggle_csv(csv_path)
    result = KaggleReadResult(warnings=list(source.warnings))
    seen: dict[str, int] = {}
    for line, fields in iter_kaggle_rows(source, images_dir):
        if isinstance(fields, RowError):
            result.add(fields)
            continue
        key = fields["item_id"]
        if key in seen:
            result.duplicates += 1
            result.rows[seen[key]] = fields  # the later row wins, as a re-import would
            continue
        seen[key] = len(result.rows)
        result.rows.append(fields)
        result.lines.append(line)
    return result


@bulk_gc()
def import_kaggle_csv(
    engine: Engine,
    blobs: BlobStore,
    csv_path: Path,
    images_dir: Path | None = None,
    *,
    image_policy: DownloadPolicy | None = None,
    validate_image: Callable[[bytes], object] | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
    opened: CsvFile | None = None,
) -> KaggleImportReport:
    """Stream the file into the store in batches (see the module docstring).

    `progress(line)` is called after each committed batch with the last line read; `opened`
    is the file as `open_kaggle_csv` already checked it (saves a second pass);
    `validate_image(data)` decodes a local image in full and raises ValueError for one that
    cannot be used (the check `bot images fetch` applies to downloads).
    """
    source = opened or open_kaggle_csv(csv_path)
    policy = image_policy or DownloadPolicy()
    report = KaggleImportReport(warnings=list(source.warnings))
    seen: set[str] = set()
    batch: dict[str, tuple[int, dict[str, Any]]] = {}
    repeated: set[str] = set()  # keys of this batch already stored by an earlier batch
    last_line = 0
    # One writer thread: while it stores batch k (SQLite works without the GIL), this thread
    # parses batch k+1. At most two batches are in memory.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        writing: Future[None] | None = None
        written_line = 0

        def hand_over(rows: dict[str, tuple[int, dict[str, Any]]], again: set[str]) -> None:
            nonlocal writing, written_line
            if writing is not None:
                writing.result()  # the previous batch is committed (or its error raised)
                if progress:
                    progress(written_line)
            written_line = last_line
            writing = writer.submit(
                _store_batch, engine, blobs, policy, validate_image, rows, again, report
            )

        for line, fields in iter_kaggle_rows(source, images_dir):
            last_line = line
            if isinstance(fields, RowError):
                report.add(fields)
                continue
            key = fields["item_id"]
            if key in seen:
                report.duplicates += 1
                if key not in batch:
                    repeated.add(key)
            else:
                seen.add(key)
                report.listings += 1
            batch[key] = (line, fields)
            if len(batch) >= batch_rows:
                hand_over(batch, repeated)
                batch, repeated = {}, set()
        if batch:
            hand_over(batch, repeated)
        if writing is not None:
            writing.result()
    if progress:
        progress(last_line)
    return report


def _store_batch(
    engine: Engine,
    blobs: BlobStore,
    policy: DownloadPolicy,
    validate: Callable[[bytes], object] | None,
    batch: dict[str, tuple[int, dict[str, Any]]],
    repeated: set[str],
    report: KaggleImportReport,
) -> None:
    rows = []
    for line, fields in batch.values():
        image_path = fields.get("image_path")
        if image_path:
            try:
                fields["image_blob"] = store_local_image(
                    Path(image_path), policy=policy, blobs=blobs, validate=validate
                ).sha256
                fields["image_error"] = None
                report.with_image += 1
            except DownloadRefused as exc:
                fields["image_error"] = f"local image refused: {exc.reason}"
                report.images_refused_count += 1
                if len(report.images_refused) < MAX_KEPT_ERRORS:
                    item = fields["item_id"].split(":", 1)[0]
                    report.images_refused.append(
                        RowError(line, item, f"image {image_path} refused: {exc.reason}")
                    )
                report.missing_image += 1
        else:
            report.missing_image += 1
        rows.append(fields)
    # Rows are unique by item id within the batch: one batched upsert, one short transaction.
    with write_transaction(engine, lock_table="listings") as session:
        outcomes = upsert_listings(session, rows)
    if repeated:  # those were counted when their first row was stored
        outcomes = [
            result
            for fields, result in zip(rows, outcomes, strict=True)
            if fields["item_id"] not in repeated
        ]
    counted = Counter(outcome for _, outcome in outcomes)
    report.new += counted[UpsertOutcome.NEW]
    report.updated += counted[UpsertOutcome.UPDATED]
    report.unchanged += counted[UpsertOutcome.UNCHANGED]


def _describe(raw: dict[str, Any]) -> str:
    text = (raw.get("art_series") or raw.get("name") or raw.get("cid") or "?").strip()
    return text if len(text) <= 80 else text[:77] + "…"


def _parse_row(
    raw: dict[str, str], images_root: Path | None, raw_json: Callable[[dict[str, str]], str]
) -> dict[str, Any]:
    cid = raw["cid"].strip()
    series = raw["art_series"].strip()
    if not series and not cid:
        raise _BadRow("neither art_series nor cid: the row cannot be identified")
    relative = _safe_relative_path(raw["path"].strip())
    image_path = _find_image(images_root, relative) if images_root and relative else None
    try:
        fields = {
            "source": SOURCE,
            "marketplace": MARKETPLACE,
            "item_id": f"{series}:{cid}",
            "collection": series.rsplit("_", 1)[0] if "_" in series else series or None,
            "title": raw["title"].strip() or None,
            "name": raw["name"].strip() or None,
            "creator": raw["creator"].strip() or None,
            "price": _parse_price(raw["price"]),
            "currency": raw["symbol"].strip() or None,
            "likes": _optional_count(raw["likes"], "likes"),
            "nsfw": _parse_bool(raw["nsfw"], "nsfw"),
            "media_type": raw["type"].strip().upper() or None,
            "token_count": _optional_count(raw["tokens"], "tokens"),
            "year": _parse_year(raw["year"]),
            "rights": raw["rights"].strip() or None,
            "royalty": _optional_amount(raw["royalty"], "royalty"),
            "image_cid": cid or None,
            "image_uri": f"ipfs://{cid}" if cid else None,
            "image_path": str(image_path) if image_path else None,
            "raw_json": raw_json(raw),
        }
    except MoneyError as exc:
        raise _BadRow(str(exc)) from None
    return fields


def _parse_price(text: str) -> Decimal:
    if not text.strip():
        raise _BadRow("missing price")
    return parse_amount(text, "price")


def _optional_amount(text: str, column: str) -> Decimal | None:
    return parse_amount(text, column) if text.strip() else None


def _optional_count(text: str, column: str) -> int | None:
    if text.isdigit() and text.isascii() and len(text) <= 18:
        return int(text)  # the common case, as parse_count decides it, without its layers
    return parse_count(text, column) if text.strip() else None


def _parse_year(text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) == 0:
        raise _BadRow(f"year {text[:20]!r} is not a year")
    return int(text)


def _parse_bool(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _BadRow(f"{column} {text[:20]!r} is not True/False")


def _safe_relative_path(path: str) -> str | None:
    """The dataset's `path` ('./dataset/image/<cid>.jpg'), refused if it escapes its root."""
    if not path:
        return None
    normalised = posixpath.normpath(path.replace("\\", "/"))
    if normalised.startswith("/") or normalised == ".." or normalised.startswith("../"):
        raise _BadRow(f"path {path[:100]!r} escapes the images directory")
    return normalised


def _find_image(images_root: Path, relative: str) -> Path | None:
    """The image at `images_root/relative`, or directly under the root by file name."""
    for candidate in (images_root / relative, images_root / posixpath.basename(relative)):
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a loop, a NUL, too long
            raise _BadRow(f"path {relative[:100]!r} cannot be resolved ({exc})") from None
        if not resolved.is_relative_to(images_root):
            raise _BadRow(f"path {relative[:100]!r} escapes the images directory (symlink)")
        if resolved.is_file():
            return resolved
    return None
