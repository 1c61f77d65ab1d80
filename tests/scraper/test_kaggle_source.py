"""The Kaggle CSV behind the source interface: paging, cursor, bad rows by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from scraper.kaggle import KaggleCsvSource
from scraper.runner import run_source
from storage.db import session_scope
from storage.models import Listing
from storage.models.scrape import PriceObservation, ScrapeCursor
from tests.conftest import DATASET_CSV
from tests.scraper.test_kaggle_csv import row, write_csv


def test_kaggle_rows_page_through_the_runner(tmp_path: Path, engine) -> None:
    rows = [row(art_series=f"s{n}", cid=f"Qm{n}", price=str(n + 1)) for n in range(5)]
    rows.insert(2, row(art_series="broken", price="ten"))
    csv_path = write_csv(tmp_path / "nft_art.csv", rows)
    source = KaggleCsvSource(csv_path, page_size=2)

    first = run_source(engine, source, max_items=3)
    assert (first.status, first.new, first.failed) == ("stopped", 2, 1)
    assert "nft_art.csv line 4" in first.failures[0] and "price 'ten'" in first.failures[0]

    rest = run_source(engine, KaggleCsvSource(csv_path, page_size=2))
    assert (rest.status, rest.new, rest.failed) == ("completed", 3, 0)
    with session_scope(engine) as session:
        assert len(session.exec(select(Listing)).all()) == 5
        assert len(session.exec(select(PriceObservation)).all()) == 5  # one ask each
        cursor = session.exec(select(ScrapeCursor)).one()
    assert (cursor.source, cursor.collection, cursor.passes_completed) == ("kaggle", "nft_art", 1)


@pytest.mark.skipif(not DATASET_CSV.is_file(), reason="the seed's dataset is not beside the repo")
def test_the_real_dataset_if_present(engine) -> None:
    summary = run_source(engine, KaggleCsvSource(DATASET_CSV, page_size=1000), max_items=1500)
    assert summary.new + summary.failed + summary.unchanged == 1500
    assert summary.status == "stopped"


def test_a_missing_file_fails_the_run_with_its_name(tmp_path: Path, engine) -> None:
    summary = run_source(engine, KaggleCsvSource(tmp_path / "nope.csv"))
    assert summary.status == "failed" and "nope.csv" in (summary.error or "")
