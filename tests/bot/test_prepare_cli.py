"""The preparation commands end to end: `bot prepare` exit codes, `bot categorize`, `bot reject`,
`bot labels import`, `bot report prepare`, and `bot images fetch` taking curation's candidates
first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from scraper.listing_images import listings_missing_images
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkState, Listing
from tests.generator.images import encode, photo
from tests.scraper.image_server import ImageServer, serve

runner = CliRunner()


@pytest.fixture
def db(data_dir: Path):  # type: ignore[no-untyped-def]
    assert runner.invoke(app, ["init"]).exit_code == 0
    return make_engine(f"sqlite:///{data_dir / 'bot.db'}"), BlobStore(data_dir / "blobs")


def add(db, item: str, image: bytes | None = None, **artwork: object) -> int:  # type: ignore[no-untyped-def]
    engine, blobs = db
    with session_scope(engine) as session:
        listing = Listing(
            source="test",
            marketplace="hive",
            item_id=item,
            title="Series <b>[/x]",
            image_blob=blobs.put_bytes(image).sha256 if image else None,
            image_uri=artwork.pop("image_uri", None),  # type: ignore[arg-type]
        )
        session.add(listing)
        session.flush()
        row = Artwork(listing_id=listing.id or 0, **artwork)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
        return int(row.id or 0)


def test_prepare_exit_codes_and_summary(db, monkeypatch: pytest.MonkeyPatch) -> None:
    nothing = runner.invoke(app, ["prepare"])
    assert nothing.exit_code == 0 and "nothing to prepare" in nothing.output
    labelled = add(db, "a", encode(photo("coffee"), "JPEG"), override_category="Objects")
    done = runner.invoke(app, ["prepare", "--size", "64"])
    assert done.exit_code == 0, done.output
    assert f"artwork {labelled}: prepared Objects (a person's category)" in done.output
    assert "1 prepared (Objects 1), 0 rejected, 0 failed" in done.output

    unlabelled = add(db, "b", encode(photo("rocket"), "JPEG"))
    no_clip = runner.invoke(app, ["prepare", "--size", "64"])
    assert no_clip.exit_code == 1
    assert "bot models download clip_vit_b32" in no_clip.output
    assert "BOT_ALLOW_SMOKE_TEST_MODELS=true" in no_clip.output

    monkeypatch.setenv("BOT_ALLOW_SMOKE_TEST_MODELS", "true")
    monkeypatch.setenv("BOT_PREPARE_MIN_CONFIDENCE", "1")  # nothing is that sure: `other`
    broken = add(db, "c", b"<html>gateway error</html>")
    smoke = runner.invoke(app, ["prepare", "--size", "64"])
    assert smoke.exit_code == 1, smoke.output  # the broken one failed
    assert "untrained" in smoke.output.lower()
    assert any(
        f"artwork {unlabelled}: rejected {why}" in smoke.output
        for why in ("no confident category", "category other")
    )
    assert f"artwork {broken}: failed artwork {broken}, listing" in smoke.output
    assert "an HTML page, not an accepted image" in smoke.output
    assert "0 prepared, 1 rejected, 1 failed" in smoke.output
    again = runner.invoke(app, ["prepare"])
    assert again.exit_code == 0 and "nothing to prepare" in again.output
    asked = runner.invoke(app, ["prepare", "--artwork", str(labelled), "--artwork", "999"])
    assert asked.exit_code == 1 and "artwork 999 does not exist" in asked.output
    assert f"artwork {labelled}: skipped artwork {labelled} is prepared already" in asked.output


def test_categorize_and_reject_commands(db) -> None:
    engine, _blobs = db
    candidate = add(db, "a")
    generated = add(db, "b", state=ArtworkState.GENERATED.value, prompt="Faces")
    ok = runner.invoke(app, ["categorize", str(candidate), "animals"])
    assert ok.exit_code == 0 and f"artwork {candidate}: category Animals (candidate)" in ok.output
    same = runner.invoke(app, ["categorize", str(candidate), "Animals"])
    assert same.exit_code == 0 and "unchanged" in same.output
    unknown = runner.invoke(app, ["categorize", str(candidate), "Robots"])
    assert unknown.exit_code == 1 and "'Robots' is not a category" in unknown.output
    late = runner.invoke(app, ["categorize", str(generated), "People"])
    assert late.exit_code == 1
    assert "is generated, made with the prompt 'Faces'" in late.output
    missing = runner.invoke(app, ["reject", "999", "--reason", "x"])
    assert missing.exit_code == 1 and "artwork 999 does not exist" in missing.output
    rejected = runner.invoke(
        app, ["reject", str(candidate), "--reason", "[bold]blurry[/bold] scan"]
    )
    assert rejected.exit_code == 0, rejected.output
    with session_scope(engine) as session:
        artwork = session.get(Artwork, candidate)
        assert artwork.state == "rejected" and artwork.rejected_by == "person"
        assert artwork.reason == "rejected by a person: [bold]blurry[/bold] scan"
        assert artwork.override_category is None and artwork.override_source == "bot reject"
    back = runner.invoke(app, ["categorize", str(candidate), "auto"])
    assert back.exit_code == 0 and "automatic again (candidate)" in back.output


def test_labels_import_reports_bad_rows_and_exits_1(db, tmp_path: Path) -> None:
    first = add(db, "a")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"artwork,label\n{first},People\nabc,Faces\n")
    result = runner.invoke(app, ["labels", "import", str(labels)])
    assert result.exit_code == 1
    assert "line 3: artwork id 'abc' is not a number" in result.output
    assert "labels: 1 applied, 0 unchanged, 1 skipped" in result.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id;category\n1;Faces\n")
    refused = runner.invoke(app, ["labels", "import", str(wrong)])
    assert refused.exit_code == 1 and "needs an 'artwork' or 'listing' column" in refused.output


def test_report_prepare_writes_sheets_counts_and_escaped_html(db, tmp_path: Path) -> None:
    engine, _blobs = db
    for index, name in enumerate(("astronaut", "chelsea")):
        add(db, f"p{index}", encode(photo(name), "JPEG"), override_category="Faces")
    add(db, "r", encode(photo("coffee")))
    assert runner.invoke(app, ["prepare", "--size", "64"]).exit_code == 1  # no CLIP for "r"
    with session_scope(engine) as session:
        last = session.exec(select(Artwork).order_by(Artwork.id.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.state == "candidate"
    assert (
        runner.invoke(
            app, ["reject", str(last.id), "--reason", "<script>alert(1)</script>"]
        ).exit_code
        == 0
    )
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "prepare", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "categories: Faces 2" in result.output and "rejected by a person 1" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["categories"] == {"Faces": 2} and summary["by_person"] == {"Faces": 2}
    assert summary["rejections"] == {"rejected by a person": 1}
    sheet = Image.open(out / "sheet-Faces.png")
    assert sheet.size == (2 * 128, 128 + 18)
    assert Image.open(out / "sheet-rejected.png").size == (128, 128 + 18)
    html = (out / "index.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'src="sheet-Faces.png"' in html and 'src="sheet-rejected.png"' in html


def test_images_fetch_takes_candidates_in_rank_order_and_only_them(
    db, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _blobs = db
    monkeypatch.setenv("BOT_ALLOW_PRIVATE_ADDRESSES", "true")
    good = encode(photo("coffee"), "PNG")
    jpeg = encode(photo("coffee"), "JPEG")
    with ImageServer() as images:
        images.routes["/good.png"] = serve(good)
        # Passes the downloader's own checks (header, Pillow's verify); only decoding finds it.
        images.routes["/cut.png"] = serve(jpeg[: len(jpeg) // 2], "image/jpeg")
        url = images.url
        second = add(db, "second", rank=2, image_uri=f"{url}/good.png?2")
        first = add(db, "first", rank=1, image_uri=f"{url}/cut.png")
        add(db, "outside", rank=None, state="rejected", image_uri=f"{url}/good.png?3")
        failed = add(
            db, "failed", rank=3, state="failed", failed_stage="prepared",
            image_uri=f"{url}/good.png?4",
        )  # fmt: skip
        order = listings_missing_images(engine, selected_only=True)
        with session_scope(engine) as session:
            by_listing = {a.listing_id: a.id for a in session.exec(select(Artwork)).all()}
        assert [by_listing[listing_id] for listing_id, _ in order] == [first, second, failed]
        result = runner.invoke(app, ["images", "fetch"])
        assert result.exit_code == 1, result.output
        assert "stored 2, refused 1" in result.output
        assert "unusable image: truncated or corrupt JPEG image" in result.output
        rest = runner.invoke(app, ["images", "fetch", "--all"])
        assert rest.exit_code == 0 and "stored 1, refused 0" in rest.output
