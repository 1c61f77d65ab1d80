from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from scraper.kaggle_csv import KaggleFormatError, import_kaggle_csv, read_kaggle_csv
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Listing
from tests.scraper.image_server import png_bytes

HEADER = ["title", "name", "creator", "art_series", "price", "symbol", "type", "likes", "nsfw",
          "tokens", "year", "rights", "royalty", "cid", "path"]  # fmt: skip


def row(**overrides: str) -> dict[str, str]:
    base = {
        "title": "Dream World", "name": "Guide", "creator": "yoslehz",
        "art_series": "yoslehz_dream-world_guide", "price": "20", "symbol": "SWAP.HIVE",
        "type": "PHOTO", "likes": "1", "nsfw": "False", "tokens": "2", "year": "2020",
        "rights": "1", "royalty": "0", "cid": "QmA", "path": "./dataset/image/QmA.png",
    }  # fmt: skip
    base.update(overrides)
    return base


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_good_row_becomes_listing_fields(tmp_path: Path) -> None:
    result = read_kaggle_csv(write_csv(tmp_path / "a.csv", [row()]))
    assert result.errors == []
    fields = result.rows[0]
    assert fields["item_id"] == "yoslehz_dream-world_guide:QmA"
    assert fields["price"] == Decimal("20") and fields["currency"] == "SWAP.HIVE"
    assert fields["image_uri"] == "ipfs://QmA" and fields["image_path"] is None
    assert fields["title"] == "Dream World" and fields["year"] == 2020


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"price": ""}, "missing price"),
        ({"price": "ten"}, "price 'ten' is not a number"),
        ({"price": "-1"}, "price '-1' must not be negative"),
        ({"price": "-0"}, "price '-0' must not be negative"),
        ({"price": "1E+99999999"}, "exponent out of range"),
        ({"price": "1E+999999999"}, "exponent out of range"),
        ({"price": "1,5"}, "must group thousands"),
        ({"royalty": "NaN"}, "royalty 'NaN' is not a finite number"),
        ({"royalty": "Infinity"}, "royalty 'Infinity' is not a finite number"),
        ({"likes": "-3"}, "likes '-3' must not be negative"),
        ({"likes": "9223372036854775808"}, "likes '9223372036854775808' is more than"),
        ({"tokens": "99999999999999999999"}, "is more than 9223372036854775807"),
        ({"year": "99999999999999999999"}, "is not a year"),
        ({"price": "NaN"}, "not a finite number"),
        ({"year": "20x0"}, "year '20x0' is not a year"),
        ({"year": ""}, "year '' is not a year"),
        ({"path": "../../etc/passwd"}, "escapes the images directory"),
        ({"path": "/etc/passwd"}, "escapes the images directory"),
        ({"nsfw": "maybe"}, "nsfw 'maybe' is not True/False"),
    ],
)
def test_bad_rows_are_reported_with_line_and_reason(
    tmp_path: Path, overrides: dict[str, str], reason: str
) -> None:
    rows = [
        row(),
        row(art_series="bad_one", cid="QmB", **overrides),
        row(art_series="c", cid="QmC"),
    ]
    result = read_kaggle_csv(write_csv(tmp_path / "a.csv", rows), images_dir=tmp_path)
    assert len(result.rows) == 2
    [error] = result.errors
    assert error.line == 3 and error.item == "bad_one"
    assert reason in error.reason
    assert "line 3 (bad_one)" in str(error)


def test_grouped_numbers_read_alike(tmp_path: Path) -> None:
    rows = [row(price="1,000", likes="1_000"), row(art_series="b", price="1_000", likes="1,000")]
    result = read_kaggle_csv(write_csv(tmp_path / "a.csv", rows))
    assert result.errors == []
    assert [(r["price"], r["likes"]) for r in result.rows] == [(Decimal(1000), 1000)] * 2


def test_missing_column_is_a_format_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row()], header=[h for h in HEADER if h != "price"])
    with pytest.raises(KaggleFormatError, match="price"):
        read_kaggle_csv(path)


def test_duplicate_rows_collapse(tmp_path: Path) -> None:
    result = read_kaggle_csv(write_csv(tmp_path / "a.csv", [row(), row(), row(cid="QmZ")]))
    assert len(result.rows) == 2 and result.duplicates == 1


def test_import_matches_images_and_is_idempotent(tmp_path: Path, db_url: str) -> None:
    images = tmp_path / "images"
    (images / "dataset" / "image").mkdir(parents=True)
    (images / "dataset" / "image" / "QmA.png").write_bytes(png_bytes(4, 4))
    (images / "QmB.png").write_bytes(png_bytes(5, 5))
    csv_path = write_csv(
        tmp_path / "a.csv",
        [
            row(),
            row(art_series="b", cid="QmB", path="./dataset/image/QmB.png"),
            row(art_series="c", cid="QmC", path="./dataset/image/QmC.png"),
            row(art_series="d", cid="QmD", price="oops"),
        ],
    )
    engine = make_engine(db_url)
    blobs = BlobStore(tmp_path / "blobs")
    report = import_kaggle_csv(engine, blobs, csv_path, images)
    assert (report.new, report.with_image, report.missing_image) == (3, 2, 1)
    assert report.error_count == 1 and len(report.errors) == 1
    again = import_kaggle_csv(engine, blobs, csv_path, images)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    with session_scope(engine) as session:
        listings = {item.item_id: item for item in session.exec(select(Listing)).all()}
    image = listings["yoslehz_dream-world_guide:QmA"].image_blob
    assert blobs.read_bytes(image) == png_bytes(4, 4)
    assert listings["c:QmC"].image_blob is None and listings["c:QmC"].image_cid == "QmC"


def test_symlink_escaping_images_dir_is_refused(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (images / "link.png").symlink_to(secret)
    result = read_kaggle_csv(
        write_csv(tmp_path / "a.csv", [row(path="./link.png")]), images_dir=images
    )
    assert result.rows == [] and "escapes" in result.errors[0].reason


def test_price_change_on_reimport_updates(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    blobs = BlobStore(tmp_path / "blobs")
    import_kaggle_csv(engine, blobs, write_csv(tmp_path / "a.csv", [row()]))
    report = import_kaggle_csv(engine, blobs, write_csv(tmp_path / "b.csv", [row(price="21.5")]))
    assert report.updated == 1
    with session_scope(engine) as session:
        assert session.exec(select(Listing)).one().price == Decimal("21.5")
