"""The bundled sample: a small CSV in the Kaggle dataset's format, with images drawn here.

The images are generated procedurally (seeded gradients and shapes) at build time, never
copied from anywhere, so the demo runs with no download. `bot/sample_data/sample.csv` was
written by `python -m bot.sample --write-csv` and lists each image's CIDv0 (as `ipfs add`
computes it), like the real dataset does; `labels.csv` beside it is a person's categories for
the still images (`bot labels import`). It also carries two bad rows on purpose, so the demo
shows how a bad row is reported and skipped.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

SAMPLE_CSV = Path(__file__).resolve().parent / "sample_data" / "sample.csv"
LABELS_CSV = SAMPLE_CSV.with_name("labels.csv")
IMAGE_SIZE = 256
COLUMNS = ["title", "name", "creator", "art_series", "price", "symbol", "type", "likes", "nsfw",
           "tokens", "year", "rights", "royalty", "cid", "path"]  # fmt: skip

_SERIES = [
    ("Ocean Dreams", "marisol"),
    ("Neon City", "pixelpunk"),
    ("Geometric Souls", "vertexa"),
    ("Desert Light", "kalahari"),
    ("Forest Spirits", "mossfolk"),
    ("Cosmic Garden", "stellaria"),
]
_NAMES = ["Dawn", "Echo", "Drift", "Bloom", "Pulse", "Haze", "Ember", "Tide"]


@dataclass(frozen=True)
class SampleRow:
    index: int
    title: str
    name: str
    creator: str
    price: str
    media_type: str
    likes: int
    nsfw: bool
    year: str

    @property
    def art_series(self) -> str:
        slug = self.title.lower().replace(" ", "-")
        return f"{self.creator}_{slug}_{self.name.lower()}-{self.index}"


def sample_rows() -> list[SampleRow]:
    """The sample's rows, deterministic: 40 good rows and 2 bad ones (at the end)."""
    rng = random.Random(2021)
    rows = []
    for index in range(40):
        title, creator = _SERIES[index % len(_SERIES)]
        media = "PHOTO" if index % 8 not in (3, 6) else ("GIF" if index % 8 == 3 else "VIDEO")
        price = f"{rng.choice([5, 8, 10, 15, 20, 25, 40, 50, 75, 100, 150, 300]) + index % 3}"
        rows.append(
            SampleRow(
                index=index,
                title=title,
                name=_NAMES[index % len(_NAMES)],
                creator=creator,
                price=price if index != 7 else "25000",  # one price outlier
                media_type=media,
                likes=rng.randint(0, 12),
                nsfw=index in (5, 21),
                year=str(2017 + index % 5) if index != 9 else "2014",
            )
        )
    rows.append(SampleRow(40, "Broken Rows", "Minus", "glitch", "-5", "PHOTO", 0, False, "2020"))
    rows.append(SampleRow(41, "Broken Rows", "When", "glitch", "12", "PHOTO", 0, False, "someday"))
    return rows


def render_image(row: SampleRow) -> Image.Image:
    """A seeded abstract picture: a two-colour gradient with circles and polygons on top."""
    rng = random.Random(row.index * 7919 + 17)
    top = tuple(rng.randint(0, 255) for _ in range(3))
    bottom = tuple(rng.randint(0, 255) for _ in range(3))
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE))
    draw = ImageDraw.Draw(image)
    for y in range(IMAGE_SIZE):
        t = y / (IMAGE_SIZE - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (IMAGE_SIZE, y)], fill=colour)
    for _ in range(rng.randint(4, 9)):
        x, y, r = rng.randint(0, 255), rng.randint(0, 255), rng.randint(10, 70)
        fill = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        else:
            points = [(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(3)]
            draw.polygon(points, fill=fill)
    return image


def image_relative_path(row: SampleRow) -> str:
    return f"./dataset/image/{row.creator}-{row.index:03d}.png"


def build_sample_images(images_dir: Path) -> list[Path]:
    """Draw the still images of the sample under `images_dir` (idempotent)."""
    written = []
    for row in sample_rows():
        if row.media_type != "PHOTO":
            continue  # GIF/VIDEO rows have no file, like the missing images of the real dataset
        target = images_dir / image_relative_path(row)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            render_image(row).save(target, format="PNG", optimize=False)
        written.append(target)
    return written


def write_csv(images_dir: Path, csv_path: Path = SAMPLE_CSV) -> None:
    """Regenerate the bundled CSV; CIDs come from the Debian `ipfs_cid` tool (CIDv0)."""
    build_sample_images(images_dir)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        for row in sample_rows():
            path = image_relative_path(row)
            image = images_dir / path
            if not image.exists():
                # GIF/VIDEO rows: the CID of bytes the sample does not ship, as in the real
                # dataset, whose videos are not in the CSV either.
                path = f"./dataset/{row.media_type.lower()}/{row.creator}-{row.index:03d}.mp4"
                image = Path(images_dir) / "absent.bin"
                image.write_bytes(f"nftbot sample {row.media_type} {row.index}".encode())
            cid = _cid_v0(image)
            writer.writerow(
                [
                    row.title,
                    f"{row.name} {row.index}",
                    row.creator,
                    row.art_series,
                    row.price,
                    "SWAP.HIVE",
                    row.media_type,
                    row.likes,
                    str(row.nsfw),
                    1 + row.index % 4,
                    row.year,
                    1,
                    0,
                    cid,
                    path,
                ]
            )


# How a person sorted the sample into the study's categories: its pictures are abstract
# gradients and shapes, which CLIP would call `other`, so the demo labels them by hand, as the
# study sorted its images by hand. Keyed by series.
SERIES_CATEGORY = {
    "Ocean Dreams": "Scenery",
    "Neon City": "Scenery",
    "Geometric Souls": "Objects",
    "Desert Light": "Scenery",
    "Forest Spirits": "Scenery",
    "Cosmic Garden": "Objects",
}


def write_labels(csv_path: Path = SAMPLE_CSV, labels_path: Path = LABELS_CSV) -> None:
    """The labels file for `bot labels import`: one row per still image of the sample."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["type"] == "PHOTO"]
    with open(labels_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["listing", "label"])
        for row in rows:
            category = SERIES_CATEGORY.get(row["title"])
            if category:
                writer.writerow([f"hive:{row['art_series']}:{row['cid']}", category])


def _cid_v0(path: Path) -> str:
    completed = subprocess.run(["ipfs_cid", str(path)], check=True, capture_output=True, text=True)
    return str(json.loads(completed.stdout)["CIDv0"])


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-csv"]:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            write_csv(Path(tmp))
        write_labels()
        print(f"wrote {SAMPLE_CSV} and {LABELS_CSV}")
    else:
        print("usage: python -m bot.sample --write-csv")
