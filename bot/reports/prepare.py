"""`bot report prepare`: what preparation decided, as counts, contact sheets and one HTML page.

Writes into the output folder:
- `summary.json`: artworks per category and per rejection reason, and the failures;
- `sheet-<Category>.png` for each category and `sheet-rejected.png`: grids of thumbnails, each
  labelled with its artwork id (best curation rank first, at most `per_sheet` each);
- `index.html`: the page showing them (Jinja2, every value escaped).
Thumbnails are made from the stored init images (or the source image when there is none),
decoded with the same safe decoder as everything else, one at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from generator.category_names import CATEGORIES
from generator.decode import DecodePolicy, ImageRejected, decode_image
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.models import PIPELINE_ORDER, Artwork, ArtworkState, Listing
from storage.types import utcnow

TEMPLATE = Path(__file__).with_name("prepare.html.j2")
COLUMNS = 10
LABEL_HEIGHT = 18
MAX_TABLE_ROWS = 500


@dataclass(frozen=True)
class _Item:
    artwork_id: int
    blob: str | None  # the init image, else the source image
    caption: str


@dataclass
class PrepareReportSummary:
    categories: dict[str, int] = field(default_factory=dict)
    by_person: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    files: list[Path] = field(default_factory=list)


def rejection_kind(reason: str | None) -> str:
    """'blurry: sharpness 2.1 ...' -> 'blurry' (the part before the first colon)."""
    return (reason or "no reason").split(":", 1)[0].strip() or "no reason"


def write_prepare_report(
    engine: Engine,
    blobs: BlobStore,
    out_dir: Path,
    *,
    decode: DecodePolicy,
    thresholds: dict[str, Any],
    database: str,
    per_sheet: int = 100,
    thumb: int = 128,
) -> PrepareReportSummary:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = PrepareReportSummary()
    done_states = [s.value for s in PIPELINE_ORDER[1:]]
    per_category: dict[str, list[_Item]] = {name: [] for name in CATEGORIES}
    rejected_items: list[_Item] = []
    rejected_rows: list[dict[str, Any]] = []
    failed_rows: list[dict[str, Any]] = []
    order = (col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id))
    with session_scope(engine) as session:
        rows = session.exec(
            select(Artwork, Listing)
            .join(Listing, col(Listing.id) == col(Artwork.listing_id))
            .order_by(*order)
        ).all()
        for artwork, listing in rows:
            artwork_id = artwork.id or 0
            listing_ref = f"{listing.marketplace}:{listing.item_id}"
            if artwork.state in done_states and artwork.category:
                name = artwork.category
                summary.categories[name] = summary.categories.get(name, 0) + 1
                if artwork.override_category:
                    summary.by_person[name] = summary.by_person.get(name, 0) + 1
                items = per_category.setdefault(name, [])
                if len(items) < per_sheet:
                    blob = artwork.init_image_blob or listing.image_blob
                    items.append(_Item(artwork_id, blob, f"#{artwork_id}"))
            elif artwork.state == ArtworkState.REJECTED.value and artwork.rejected_by in (
                "prepare",
                "person",
            ):
                kind = rejection_kind(artwork.reason)
                summary.rejections[kind] = summary.rejections.get(kind, 0) + 1
                if len(rejected_items) < per_sheet:
                    blob = artwork.init_image_blob or listing.image_blob
                    rejected_items.append(_Item(artwork_id, blob, f"#{artwork_id} {kind}"))
                if len(rejected_rows) < MAX_TABLE_ROWS:
                    rejected_rows.append(
                        {"id": artwork_id, "listing": listing_ref, "reason": artwork.reason}
                    )
            elif artwork.state == ArtworkState.FAILED.value and artwork.failed_stage == "prepared":
                summary.failed += 1
                if len(failed_rows) < MAX_TABLE_ROWS:
                    failed_rows.append({"id": artwork_id, "reason": artwork.error})
    sheets: list[dict[str, Any]] = []
    for name, items in per_category.items():
        total = summary.categories.get(name, 0)
        if total:
            file = out_dir / f"sheet-{name}.png"
            _contact_sheet(blobs, items, file, decode, thumb)
            sheets.append({"title": name, "file": file.name, "shown": len(items), "total": total})
    total_rejected = sum(summary.rejections.values())
    if total_rejected:
        file = out_dir / "sheet-rejected.png"
        _contact_sheet(blobs, rejected_items, file, decode, thumb)
        shown = len(rejected_items)
        sheets.append(
            {"title": "Rejected", "file": file.name, "shown": shown, "total": total_rejected}
        )
    summary.files = [out_dir / sheet["file"] for sheet in sheets]

    payload = {
        "categories": summary.categories,
        "by_person": summary.by_person,
        "rejections": dict(Counter(summary.rejections).most_common()),
        "failed": summary.failed,
        "thresholds": thresholds,
    }
    (out_dir / "summary.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    html = _render(
        written_at=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        database=database,
        totals={
            "prepared": sum(summary.categories.values()),
            "rejected": total_rejected,
            "failed": summary.failed,
        },
        categories=[
            {"name": n, "count": c, "by_person": summary.by_person.get(n, 0)}
            for n, c in summary.categories.items()
        ],
        rejections=[{"name": n, "count": c} for n, c in Counter(summary.rejections).most_common()],
        thresholds=sorted(thresholds.items()),
        sheets=sheets,
        rejected=rejected_rows,
        failed=failed_rows,
    )
    (out_dir / "index.html").write_text(html, encoding="utf-8")
    summary.files += [out_dir / "summary.json", out_dir / "index.html"]
    return summary


def _render(**values: Any) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATE.parent)),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return environment.get_template(TEMPLATE.name).render(**values)


def _thumbnail(blobs: BlobStore, blob: str | None, decode: DecodePolicy, side: int) -> Any:
    """A side x side RGB thumbnail (padded on white), or None when the image is not there or
    unusable. Pillow only: reports run on the core install, without OpenCV."""
    from PIL import Image, ImageOps

    if blob is None:
        return None
    try:
        decoded = decode_image(blobs.read_bytes(blob), decode)
    except (BlobNotFound, ImageRejected):
        return None
    image = Image.fromarray(decoded.rgb)
    return ImageOps.pad(image, (side, side), method=Image.Resampling.BOX, color=(255, 255, 255))


def _contact_sheet(
    blobs: BlobStore, items: list[_Item], path: Path, decode: DecodePolicy, side: int
) -> None:
    from PIL import Image, ImageDraw, ImageFont

    policy = DecodePolicy(decode.max_bytes, decode.max_pixels, min_side=side)
    columns = max(1, min(COLUMNS, len(items)))
    rows = max(1, -(-len(items) // columns))
    cell_h = side + LABEL_HEIGHT
    sheet = Image.new("RGB", (columns * side, rows * cell_h), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for index, item in enumerate(items):
        x, y = (index % columns) * side, (index // columns) * cell_h
        pixels = _thumbnail(blobs, item.blob, policy, side)
        if pixels is None:
            draw.rectangle([x + 2, y + 2, x + side - 3, y + side - 3], outline=(180, 0, 0))
            draw.text((x + 8, y + side // 2 - 6), "no image", fill=(180, 0, 0), font=font)
        else:
            sheet.paste(pixels, (x, y))
        draw.text((x + 4, y + side + 2), item.caption[:22], fill=(0, 0, 0), font=font)
    sheet.save(path, format="PNG", optimize=False)
