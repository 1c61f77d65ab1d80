"""Hostile CSV files through the real CLI: `bot import kaggle` and `bot eda --input` share one
reader, so they decide alike; each problem is one clear line, never a traceback."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from storage.db import make_engine, session_scope
from storage.models import Listing
from tests.scraper.image_server import png_bytes
from tests.scraper.test_kaggle_csv import HEADER, row

runner = CliRunner()


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER, sep: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=sep, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def three_rows(**second: str) -> list[dict[str, str]]:
    return [row(), row(art_series="b", cid="QmB", **second), row(art_series="c", cid="QmC")]


def both(data_dir: Path, path: Path) -> tuple[object, object]:
    imported = runner.invoke(app, ["import", "kaggle", str(path)])
    analysed = runner.invoke(app, ["eda", "--input", str(path), "--out", str(path.parent / "eda")])
    for result in (imported, analysed):
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
    return imported, analysed


def titles(data_dir: Path) -> dict[str, str | None]:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        return {x.item_id: x.title for x in session.exec(select(Listing)).all()}


def test_a_utf8_bom_is_not_part_of_the_first_column(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + csv_text(three_rows()).encode())
    imported, analysed = both(data_dir, path)
    assert imported.exit_code == 0 and "3 new" in imported.output  # type: ignore[attr-defined]
    assert analysed.exit_code == 0 and "3 listings" in analysed.output  # type: ignore[attr-defined]


def test_latin1_is_read_as_windows_1252_with_a_warning_by_both(
    data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(csv_text(three_rows(title="Café €")).encode("cp1252"))
    imported, analysed = both(data_dir, path)
    for result in (imported, analysed):
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "is not valid UTF-8 (line 3: byte 0xe9); read as Windows-1252" in " ".join(
            result.output.split()  # type: ignore[attr-defined]
        )
    assert titles(data_dir)["b:QmB"] == "Café €"


@pytest.mark.parametrize(
    "content,expected",
    [
        (png_bytes(4, 4), "is not a CSV file: it looks like a PNG image"),
        (b"PK\x03\x04rest", "is not a CSV file: it looks like a ZIP archive"),
        (csv_text(three_rows(), sep=";").encode(), "is this a semicolon-separated file?"),
        (csv_text(three_rows(), sep="\t").encode(), "is this a tab-separated file?"),
        (
            csv_text([row()], header=[*HEADER, "price"]).encode(),
            "column 'price' appears twice in the header (columns 5 and 16)",
        ),
        (b"", "the file is empty"),
    ],
    ids=["png", "xlsx", "semicolon", "tab", "duplicate-header", "empty"],
)
def test_files_that_are_not_the_dataset_are_one_line_exit_2(
    data_dir: Path, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    for result in both(data_dir, path):
        assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
        assert expected in " ".join(result.output.split())  # type: ignore[attr-defined]


def test_bad_rows_are_reported_and_the_rest_imported(data_dir: Path, tmp_path: Path) -> None:
    long_ok = "x" * 200_000  # over csv's default 131 072 limit: fine now
    too_long = "y" * 1_100_000  # over our bounded limit: reported
    text = csv_text(
        [
            row(title=long_ok),
            row(art_series="nul", cid="QmN", title="NUL"),
            row(art_series="big", cid="QmL", title=too_long),
            row(art_series="likes", cid="QmK", likes=str(2**63)),
            row(art_series="ok", cid="QmO"),
        ]
    ).replace("NUL", "N\x00L")
    path = tmp_path / "rows.csv"
    path.write_text(text)
    imported, analysed = both(data_dir, path)
    out = " ".join(imported.output.split())  # type: ignore[attr-defined]
    assert imported.exit_code == 1, out  # type: ignore[attr-defined]  # bad rows: exit 1
    assert "line 3 (?): the line holds a NUL byte" in out
    assert "line 4 (?): a field is longer than 1000000 characters" in out
    assert "line 5 (likes): likes '9223372036854775808' is more than 9223372036854775807" in out
    assert "2 new" in out and "3 bad rows skipped" in out
    assert len(titles(data_dir)["yoslehz_dream-world_guide:QmA"] or "") == 200_000
    assert analysed.exit_code == 0, analysed.output  # type: ignore[attr-defined]


def test_eda_drops_non_finite_prices_and_escapes_labels(data_dir: Path, tmp_path: Path) -> None:
    rows = [
        row(price="1e400", symbol="$HIVE$"),
        row(art_series="b", cid="QmB", type="$\\frac{1}{0$", symbol="A$B$C"),
        row(art_series="c", cid="QmC", price="nan"),
        row(art_series="d", cid="QmD", price="12"),
    ]
    path = tmp_path / "eda.csv"
    path.write_text(csv_text(rows))
    out_dir = tmp_path / "eda"
    result = runner.invoke(app, ["eda", "--input", str(path), "--out", str(out_dir)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "left out 1 rows: a price that is not finite (e.g. 1e400)" in text
    assert "left out 1 rows: no price, or not a number" in text
    tables = json.loads((out_dir / "tables.json").read_text())
    assert tables["summary"]["count"] == 2
    assert set(tables["types"]) == {"PHOTO", "$\\FRAC{1}{0$"}  # the label drew, escaped
    for name in ("year_density", "pieces_per_year", "types_pie", "price_distribution"):
        assert (out_dir / f"{name}.png").stat().st_size > 0


def test_eda_of_the_store_survives_a_stored_infinite_price(data_dir: Path, tmp_path: Path) -> None:
    """Rows stored before prices were bounded may hold anything: they are left out, counted."""
    path = tmp_path / "ok.csv"
    path.write_text(csv_text(three_rows()))
    assert runner.invoke(app, ["import", "kaggle", str(path)]).exit_code == 0
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE listings SET price = '1E+400' WHERE item_id = 'b:QmB'")
    result = runner.invoke(app, ["eda", "--out", str(tmp_path / "eda")])
    assert result.exit_code == 0, result.output
    assert "left out 1 rows" in result.output and "2 listings" in result.output


def test_local_images_pass_the_download_checks_on_import(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--images` used to copy any file into the blob store: its size, type and pixels are now
    checked as a download's, and it is decoded as `images fetch` and `prepare` decode it."""
    import numpy as np
    from PIL import Image

    monkeypatch.setenv("BOT_DOWNLOAD_MAX_BYTES", "200000")
    noise = np.random.default_rng(7).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(noise).save(jpeg, format="JPEG", quality=95)
    images = tmp_path / "images"
    images.mkdir()
    files = {
        "good": png_bytes(64, 64),
        "huge": png_bytes(64, 64) + b"\0" * 200_000,  # over the byte cap
        "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n",
        "cut": jpeg.getvalue()[: len(jpeg.getvalue()) // 2],  # passes the header checks
    }
    for name, content in files.items():
        (images / f"{name}.png").write_bytes(content)
    path = tmp_path / "images.csv"
    path.write_text(
        csv_text([row(art_series=name, cid=f"Qm{name}", path=f"./{name}.png") for name in files])
    )
    result = runner.invoke(app, ["import", "kaggle", str(path), "--images", str(images)])
    out = " ".join(result.output.split())
    assert result.exit_code == 0 and "Traceback" not in out, out
    assert "4 new" in out and "1 with a local image" in out and "(3 local images refused)" in out
    assert (
        "huge.png refused: " in out
        and "bytes is over the 200000-byte cap (BOT_DOWNLOAD_MAX_BYTES)" in out
    )
    assert "eps.png refused: content is not a PNG/JPEG/GIF/WebP image" in out
    assert "cut.png refused: unusable image: truncated or corrupt JPEG image" in out
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        stored = {x.item_id: x.image_blob for x in session.exec(select(Listing)).all()}
    assert [key for key, blob in stored.items() if blob] == ["good:Qmgood"]
    blobs = [x for x in (data_dir / "blobs").rglob("*") if x.is_file()]
    assert [x.read_bytes() for x in blobs] == [files["good"]]  # nothing else was copied
