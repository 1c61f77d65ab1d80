from __future__ import annotations

from pathlib import Path

import pytest

from bot.demo import run_demo
from bot.sample import SAMPLE_CSV, build_sample_images, sample_rows


@pytest.mark.timeout(300)
def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(tmp_path / "data") == 0
    output = capsys.readouterr().out
    assert "demo finished" in output
    assert (tmp_path / "data" / "demo" / "eda" / "report.html").exists()


def test_sample_images_are_deterministic_and_match_the_bundled_csv(tmp_path: Path) -> None:
    first = build_sample_images(tmp_path / "a")
    second = build_sample_images(tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    csv_text = SAMPLE_CSV.read_text()
    still = [row for row in sample_rows() if row.media_type == "PHOTO"]
    assert len(first) == len(still)
    for path in first:
        assert path.name in csv_text
