from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.demo import DEMO_TOP, run_demo
from bot.sample import SAMPLE_CSV, build_sample_images, sample_rows
from storage.artworks import counts_by_state
from storage.db import make_engine, session_scope
from storage.models import ArtworkState
from storage.models.pin import Pin


@pytest.mark.timeout(300)
def test_demo_without_weights_stops_before_generation_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(tmp_path / "data") == 0
    output = capsys.readouterr().out
    assert "demo finished" in output
    assert "bot models download vqgan_wikiart_16384" in output
    assert "BOT_ALLOW_SMOKE_TEST_MODELS=true make demo" in output
    assert (tmp_path / "data" / "demo" / "eda" / "report.html").exists()
    assert counts(tmp_path / "data" / "demo")["prepared"] == DEMO_TOP
    report = tmp_path / "data" / "demo" / "prepare-report"
    assert (report / "index.html").exists() and list(report.glob("sheet-*.png"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_smoke_test_demo_runs_the_whole_pipeline_in_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_ALLOW_SMOKE_TEST_MODELS", "true")
    monkeypatch.setenv("BOT_IPFS_PIN_FRAMES", "true")
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")  # the demo forces dry-run anyway
    monkeypatch.setenv("BOT_RARIBLE_API_KEY", "unused")
    assert run_demo(tmp_path / "data") == 0
    captured = capsys.readouterr()
    assert "tiny UNTRAINED random-weight model" in captured.out + captured.err
    demo = tmp_path / "data" / "demo"
    state = counts(demo)
    assert state["listed"] == DEMO_TOP and state["failed"] == 0
    assert len(list((demo / "outbox").iterdir())) >= DEMO_TOP  # one lazy mint each
    engine = make_engine(f"sqlite:///{demo / 'bot.db'}")
    with session_scope(engine) as session:
        pins = session.exec(select(Pin)).all()
    by_kind: dict[tuple[str, str], int] = {}
    for pin in pins:
        by_kind[(pin.kind, pin.status)] = by_kind.get((pin.kind, pin.status), 0) + 1
    assert by_kind[("image", "pinned")] == DEMO_TOP
    assert by_kind[("metadata", "pinned")] == DEMO_TOP
    assert by_kind.get(("frame", "pinned"), 0) == 0  # frames not chosen were let go
    assert by_kind[("frame", "unpinned")] > 0


def counts(demo_dir: Path) -> dict[str, int]:
    engine = make_engine(f"sqlite:///{demo_dir / 'bot.db'}")
    with session_scope(engine) as session:
        stored = counts_by_state(session)
    return {state.value: stored.get(state.value, 0) for state in ArtworkState}


def test_the_bundled_labels_are_what_the_sample_writes(tmp_path: Path) -> None:
    from bot.sample import LABELS_CSV, write_labels

    write_labels(labels_path=tmp_path / "labels.csv")
    assert (tmp_path / "labels.csv").read_text() == LABELS_CSV.read_text()


def test_sample_images_are_deterministic_and_match_the_bundled_csv(tmp_path: Path) -> None:
    first = build_sample_images(tmp_path / "a")
    second = build_sample_images(tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    csv_text = SAMPLE_CSV.read_text()
    still = [row for row in sample_rows() if row.media_type == "PHOTO"]
    assert len(first) == len(still)
    for path in first:
        assert path.name in csv_text
