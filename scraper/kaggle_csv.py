"""The Kaggle "NFT art collection 2021" CSV: parse, validate, import.

Columns: title, name, creator, art_series, price, symbol, type, likes, nsfw, tokens, year,
rights, royalty, cid, path. The rows come from NFT Showroom on Hive, so the marketplace is
`hive` and prices are in the row's `symbol` (SWAP.HIVE). A listing's id is
`<art_series>:<cid>`: `art_series` alone repeats for different works in a few rows.

Every bad row is reported with its line number and the reason and skipped; the good rows are
imported in one transaction. The file contains exact duplicate rows (69 in the 2021 dataset);
they collapse into one listing and are counted, not reported as errors.
"""

from __future__ import annotations

import csv
import json
import posixpath
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlmodel import Session

from storage.blobstore import BlobStore
from storage.listings import UpsertOutcome, upsert_listings

REQUIRED_COLUMNS = (
    "title", "name", "creator", "art_series", "price", "symbol", "type", "likes", "nsfw",
    "tokens", "year", "rights", "royalty", "cid", "path",
)  # fmt: skip
MARKETPLACE = "hive"
SOURCE = "kaggle"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class KaggleFormatError(ValueError):
    """The file as a whole is not in the dataset's format (e.g. a column is missing)."""


@dataclass(frozen=True)
class RowError:
    line: int
    item: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.item}): {self.reason}"


@dataclass
class KaggleReadResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    lines: list[int] = field(default_factory=list)  # line number of each row in `rows`


@dataclass
class KaggleImportReport:
    read: KaggleReadResult
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    with_image: int = 0
    missing_image: int = 0


class _BadRow(ValueError):
    pass


def read_kaggle_csv(csv_path: Path, images_dir: Path | None = None) -> KaggleReadResult:
    """Parse and validate every row. Listing fields come back ready for `upsert_listing`;
    `image_path` is set where the image exists under `images_dir`."""
    result = KaggleReadResult()
    seen: dict[str, int] = {}
    images_root = images_dir.resolve() if images_dir else None
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise KaggleFormatError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        for raw in reader:
            line = reader.line_num
            item = _describe(raw)
            try:
                fields = _parse_row(raw, images_root)
            except _BadRow as exc:
                result.errors.append(RowError(line, item, str(exc)))
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


def import_kaggle_csv(
    session: Session, blobs: BlobStore, csv_path: Path, images_dir: Path | None = None
) -> KaggleImportReport:
    """Read, validate, store images in the blob store and upsert listings (caller commits)."""
    report = KaggleImportReport(read=read_kaggle_csv(csv_path, images_dir))
    for fields in report.read.rows:
        image_path = fields.get("image_path")
        if image_path:
            fields["image_blob"] = blobs.put_file(Path(image_path)).sha256
            report.with_image += 1
        else:
            report.missing_image += 1
    # Rows are unique by item id (duplicates were merged while reading): one batched upsert.
    for _, outcome in upsert_listings(session, report.read.rows):
        if outcome is UpsertOutcome.NEW:
            report.new += 1
        elif outcome is UpsertOutcome.UPDATED:
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def _describe(raw: dict[str, Any]) -> str:
    return (raw.get("art_series") or raw.get("name") or raw.get("cid") or "?").strip()


def _parse_row(raw: dict[str, Any], images_root: Path | None) -> dict[str, Any]:
    if None in raw.values() or None in raw:
        raise _BadRow("wrong number of fields")
    cid = raw["cid"].strip()
    series = raw["art_series"].strip()
    if not series and not cid:
        raise _BadRow("neither art_series nor cid: the row cannot be identified")
    relative = _safe_relative_path(raw["path"].strip())
    image_path = _find_image(images_root, relative) if images_root and relative else None
    return {
        "source": SOURCE,
        "marketplace": MARKETPLACE,
        "item_id": f"{series}:{cid}",
        "collection": series.rsplit("_", 1)[0] if "_" in series else series or None,
        "title": raw["title"].strip() or None,
        "name": raw["name"].strip() or None,
        "creator": raw["creator"].strip() or None,
        "price": _parse_price(raw["price"]),
        "currency": raw["symbol"].strip() or None,
        "likes": _parse_int(raw["likes"], "likes"),
        "nsfw": _parse_bool(raw["nsfw"], "nsfw"),
        "media_type": raw["type"].strip().upper() or None,
        "token_count": _parse_int(raw["tokens"], "tokens"),
        "year": _parse_year(raw["year"]),
        "rights": raw["rights"].strip() or None,
        "royalty": _parse_decimal(raw["royalty"], "royalty"),
        "image_cid": cid or None,
        "image_uri": f"ipfs://{cid}" if cid else None,
        "image_path": str(image_path) if image_path else None,
        "raw_json": json.dumps(raw, ensure_ascii=False, sort_keys=True),
    }


def _parse_price(text: str) -> Decimal:
    text = text.strip()
    if not text:
        raise _BadRow("missing price")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise _BadRow(f"price {text!r} is not a number") from None
    if not price.is_finite():
        raise _BadRow(f"price {text!r} is not a finite number")
    if price < 0:
        raise _BadRow(f"negative price {text}")
    return price


def _parse_decimal(text: str, column: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _BadRow(f"{column} {text!r} is not a number") from None


def _parse_int(text: str, column: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise _BadRow(f"{column} {text!r} is not a whole number") from None


def _parse_year(text: str) -> int:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        raise _BadRow(f"year {text!r} is not a year") from None


def _parse_bool(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _BadRow(f"{column} {text!r} is not True/False")


def _safe_relative_path(path: str) -> str | None:
    """The dataset's `path` ('./dataset/image/<cid>.jpg'), refused if it escapes its root."""
    if not path:
        return None
    normalised = posixpath.normpath(path.replace("\\", "/"))
    if normalised.startswith("/") or normalised == ".." or normalised.startswith("../"):
        raise _BadRow(f"path {path!r} escapes the images directory")
    return normalised


def _find_image(images_root: Path, relative: str) -> Path | None:
    """The image at `images_root/relative`, or directly under the root by file name."""
    for candidate in (images_root / relative, images_root / posixpath.basename(relative)):
        resolved = candidate.resolve()
        if not resolved.is_relative_to(images_root):
            raise _BadRow(f"path {relative!r} escapes the images directory (symlink)")
        if resolved.is_file():
            return resolved
    return None
