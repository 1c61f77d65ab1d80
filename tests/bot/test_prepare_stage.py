"""prepare (candidate → prepared / rejected / failed) on a real database with real photographs,
the tiny random-weight CLIP loaded through the weights registry, and a person's overrides."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageFilter
from sqlmodel import select

from bot.curation.curate import CurationParams, curate
from bot.pipeline.overrides import OverrideError, apply_label, import_labels
from bot.pipeline.prepare_models import ClipUnavailable, load_category_model
from bot.pipeline.prepare_stage import PrepareOptions, prepare_artworks
from generator.decode import DecodePolicy
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkEvent, Listing
from storage.models.preparation import PreparationScores
from tests.generator.images import animated, encode, photo, text_page, video_bytes

OPTIONS = PrepareOptions(size=64, decode=DecodePolicy(min_side=512), min_confidence=0.0)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    cache = tmp_path_factory.mktemp("weights")
    return load_category_model(cache, "clip_vit_b32", "cpu", allow_smoke_test_models=True)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}"), BlobStore(tmp_path / "blobs")


def add(engine, blobs: BlobStore, item: str, image: bytes | None, **artwork: object) -> int:
    with session_scope(engine) as session:
        listing = Listing(
            source="test",
            marketplace="hive",
            item_id=item,
            title="Ocean Dreams",
            name=f"Piece {item}",
            image_blob=blobs.put_bytes(image).sha256 if image is not None else None,
            image_cid=None if image is not None else "QmNotFetchedYet",
            media_type="PHOTO",
        )
        session.add(listing)
        session.flush()
        row = Artwork(listing_id=listing.id or 0, **artwork)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
        return int(row.id or 0)


def states(engine) -> dict[int, tuple[str, str | None, str | None]]:
    with session_scope(engine) as session:
        return {
            a.id or 0: (a.state, a.category, a.error if a.state == "failed" else a.reason)
            for a in session.exec(select(Artwork)).all()
        }


def test_each_bad_image_gets_its_reason_and_the_batch_goes_on(store, tiny_clip, tmp_path) -> None:
    engine, blobs = store
    astronaut = Image.fromarray(photo("astronaut"))
    cases = {
        "good": encode(astronaut, "JPEG", quality=90),
        "no image": None,
        "video": video_bytes(tmp_path),
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
        "html": b"<!doctype html><html><body>Not found</body></html>",
        "truncated": encode(astronaut)[:20_000],
        "tiff": encode(astronaut, "TIFF"),
        "tiny": encode(astronaut.resize((120, 120))),
        "blurry": encode(astronaut.filter(ImageFilter.GaussianBlur(4))),
        "blank": encode(Image.new("RGB", (400, 400), (250, 250, 250))),
        "text": encode(text_page()),
        "animated": animated("GIF"),
        "cmyk": encode(astronaut.convert("CMYK"), "JPEG"),
    }
    ids = {
        name: add(engine, blobs, name, data, rank=i) for i, (name, data) in enumerate(cases.items())
    }
    seen: list[str] = []
    report = prepare_artworks(
        engine,
        blobs,
        OPTIONS,
        model_factory=lambda: tiny_clip,
        on_outcome=lambda o: seen.append(o.detail),
    )
    by_id = {o.artwork_id: o for o in report.outcomes}
    assert len(seen) == len(cases) and all("\n" not in line for line in seen)
    expect = {
        "no image": ("failed", "no local image (image_cid QmNotFetchedYet"),
        "video": ("failed", "a video (MP4/QuickTime"),
        "svg": ("failed", "SVG (vector markup), not an accepted image"),
        "html": ("failed", "an HTML page, not an accepted image"),
        "truncated": ("failed", "truncated or corrupt PNG image"),
        "tiff": ("failed", "a TIFF image, not an accepted image"),
        "tiny": ("rejected", "too small: the source is 120x120"),
        "blurry": ("rejected", "blurry: sharpness"),
        "blank": ("rejected", "near-blank: 100% of the pixels are one colour"),
        "text": ("rejected", "text-heavy: text lines cover"),
    }
    for name, (status, words) in expect.items():
        outcome = by_id[ids[name]]
        assert outcome.status == status and words in outcome.detail, (name, outcome)
        if status == "failed":  # the stored error names the artwork and its listing
            assert f"artwork {ids[name]}, listing" in outcome.detail and "hive:" in outcome.detail
    for name in ("good", "animated", "cmyk"):  # min_confidence 0: CLIP always picks a label
        assert by_id[ids[name]].status in ("prepared", "rejected"), by_id[ids[name]]
    stored = states(engine)
    assert stored[ids["video"]][0] == "failed" and "a video" in (stored[ids["video"]][2] or "")
    assert stored[ids["blurry"]][0] == "rejected"
    with session_scope(engine) as session:
        scores = {s.artwork_id: s for s in session.exec(select(PreparationScores)).all()}
        rejected_blurry = session.get(Artwork, ids["blurry"])
        assert rejected_blurry.rejected_by == "prepare" and rejected_blurry.init_image_blob
    assert scores[ids["good"]].source_format == "JPEG" and scores[ids["good"]].clip_model
    assert scores[ids["animated"]].notes == "animated: first frame used"
    assert "CMYK converted to RGB" in (scores[ids["cmyk"]].notes or "")
    assert scores[ids["blurry"]].sharpness < 5 and scores[ids["blurry"]].clip_category is None
    assert report.failures == 6 and report.clip_label and report.smoke_test
    # Nothing is a candidate any more: a second run has nothing to do.
    assert prepare_artworks(engine, blobs, OPTIONS, model_factory=lambda: tiny_clip).outcomes == []


def test_clip_decides_category_confidence_and_runner_up(store, tiny_clip) -> None:
    engine, blobs = store
    names = ("astronaut", "chelsea", "coffee", "rocket")
    ids = [add(engine, blobs, n, encode(photo(n), "JPEG", quality=92)) for n in names]
    report = prepare_artworks(engine, blobs, OPTIONS, model_factory=lambda: tiny_clip)
    assert [o.artwork_id for o in report.outcomes] == ids
    with session_scope(engine) as session:
        for artwork_id in ids:
            artwork = session.get(Artwork, artwork_id)
            scores = session.exec(
                select(PreparationScores).where(PreparationScores.artwork_id == artwork_id)
            ).one()
            assert scores.clip_runner_up and scores.clip_runner_up != scores.clip_category
            assert scores.clip_confidence >= scores.clip_runner_up_confidence
            if artwork.state == "prepared":
                assert artwork.category == scores.clip_category != "other"
                assert artwork.init_image_blob
                init = Image.open(io.BytesIO(blobs.read_bytes(artwork.init_image_blob)))
                assert init.size == (64, 64) and init.text["resize"] == "stretch"
            else:  # the random CLIP preferred its `other` label
                assert (
                    artwork.reason.startswith("category other") and scores.clip_category == "other"
                )
    # A threshold nothing reaches makes everything `other`, with the reason, on a redo.
    strict = PrepareOptions(size=64, decode=DecodePolicy(min_side=512), min_confidence=1.0)
    redo = prepare_artworks(engine, blobs, strict, model_factory=lambda: tiny_clip, redo=True)
    assert {o.status for o in redo.outcomes} == {"rejected"}
    assert all(
        o.detail.startswith(("no confident category", "category other")) for o in redo.outcomes
    )
    with session_scope(engine) as session:
        assert {a.category for a in session.exec(select(Artwork)).all()} == {None}


def test_overrides_win_over_clip_on_every_run(store, tiny_clip) -> None:
    engine, blobs = store
    first, second, third, fourth = (
        add(engine, blobs, n, encode(photo(n), "JPEG", quality=92))
        for n in ("astronaut", "chelsea", "coffee", "rocket")
    )
    strict = PrepareOptions(size=64, decode=DecodePolicy(min_side=512), min_confidence=1.0)
    factory = lambda: tiny_clip  # noqa: E731
    prepare_artworks(engine, blobs, strict, model_factory=factory)
    assert {s[0] for s in states(engine).values()} == {"rejected"}  # all `other`
    with session_scope(engine) as session:
        apply_label(session, session.get(Artwork, first), "faces", source="test")
        apply_label(session, session.get(Artwork, second), "reject:not my style", source="test")
        apply_label(session, session.get(Artwork, third), "Objects", source="test")
        with pytest.raises(OverrideError, match="not a category"):
            apply_label(session, session.get(Artwork, fourth), "Dogs", source="test")
    assert states(engine)[first][0] == "candidate"  # back in line with the person's category
    prepare_artworks(engine, blobs, strict, model_factory=factory)
    for run in range(2):  # a plain re-run and a redo: the person's decisions stand
        prepare_artworks(engine, blobs, strict, model_factory=factory, redo=run == 1)
        stored = states(engine)
        assert stored[first][:2] == ("prepared", "Faces")
        assert stored[second] == ("rejected", None, "rejected by a person: not my style")
        assert stored[third][:2] == ("prepared", "Objects")
        assert stored[fourth][0] == "rejected" and stored[fourth][1] is None
    # Curation does not undo a person's decision or prepare's rejection either.
    curate(engine, CurationParams(trim=0, years=(1900, 2100), top=10))
    assert states(engine)[second][2] == "rejected by a person: not my style"
    assert states(engine)[fourth][0] == "rejected"
    with session_scope(engine) as session:
        events = session.exec(
            select(ArtworkEvent).where(ArtworkEvent.artwork_id == first).order_by(ArtworkEvent.id)
        ).all()
        assert any("a person set the category to Faces (test)" in (e.reason or "") for e in events)
        artwork = session.get(Artwork, first)
        assert artwork.override_category == "Faces" and artwork.override_source == "test"


def test_labels_file_by_artwork_or_listing(store, tmp_path: Path) -> None:
    engine, blobs = store
    ids = [add(engine, blobs, f"item{i}", None) for i in range(4)]
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "\ufefflisting,label\n"  # a spreadsheet's BOM
        "hive:item0,Scenery\n2,reject:a screenshot\n"
        "hive:nope,Animals\nhive:item2,Unicorns\n3,reject:\nhive:item3,animals\n",
        encoding="utf-8",
    )
    report = import_labels(engine, labels)
    assert (report.applied, report.unchanged) == (3, 0)
    assert report.problems == [
        "line 4: listing 'hive:nope' does not exist",
        "line 5: 'Unicorns' is not a category: Animals, Faces, People, Objects, Scenery, "
        "reject:REASON or auto",
        "line 6: a rejection needs a reason (reject:REASON, --reason TEXT)",
    ]
    stored = states(engine)
    assert stored[ids[1]] == ("rejected", None, "rejected by a person: a screenshot")
    with session_scope(engine) as session:
        assert session.get(Artwork, ids[0]).override_category == "Scenery"
        assert session.get(Artwork, ids[3]).override_source == "labels.csv line 7"
    again = import_labels(engine, labels)
    assert (again.applied, again.unchanged) == (0, 3)  # idempotent
    by_artwork = tmp_path / "by_artwork.csv"
    by_artwork.write_text(f"artwork,label\n{ids[1]},auto\n")
    assert import_labels(engine, by_artwork).applied == 1
    assert states(engine)[ids[1]][0] == "candidate"  # a person's rejection lifted


def test_without_clip_the_stage_says_what_is_missing(store, tmp_path: Path) -> None:
    engine, blobs = store
    labelled = add(engine, blobs, "a", encode(photo("coffee")), override_category="Objects")
    unlabelled = add(engine, blobs, "b", encode(photo("rocket")))

    def no_clip():  # type: ignore[no-untyped-def]
        return load_category_model(tmp_path / "empty", "clip_vit_b32", "cpu")

    with pytest.raises(ClipUnavailable, match="bot models download clip_vit_b32"):
        no_clip()
    report = prepare_artworks(engine, blobs, OPTIONS, model_factory=no_clip)
    assert "BOT_ALLOW_SMOKE_TEST_MODELS" in (report.clip_missing or "")
    outcomes = {o.artwork_id: o for o in report.outcomes}
    assert outcomes[labelled].status == "prepared"  # a person's category needs no CLIP
    assert (
        outcomes[unlabelled].status == "failed" and "not categorised" in outcomes[unlabelled].detail
    )
    assert states(engine)[unlabelled][0] == "candidate"  # not the artwork's fault: left as it was


def test_a_batch_of_mutated_photos_never_stops(store, tiny_clip) -> None:
    """150 seeded mutations of real photos as artworks: one outcome each, one line each."""
    from tests.generator.test_decode import _mutations

    engine, blobs = store
    rng = random.Random(7)
    cases = _mutations(seed=12, count=150)
    rng.shuffle(cases)
    ids = [add(engine, blobs, f"m{i}", blob) for i, (_label, blob) in enumerate(cases)]
    report = prepare_artworks(engine, blobs, OPTIONS, model_factory=lambda: tiny_clip)
    assert sorted(o.artwork_id for o in report.outcomes) == ids
    for outcome in report.outcomes:
        assert outcome.status in ("prepared", "rejected", "failed")
        assert outcome.detail and "\n" not in outcome.detail and len(outcome.detail) < 700
    assert report.count("failed") > 30
    assert set(states(engine)) == set(ids)
    assert "candidate" not in {s[0] for s in states(engine).values()}
