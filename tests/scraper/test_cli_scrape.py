"""`bot scrape` and `bot images fetch` end to end against the local servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing
from storage.models import Listing
from storage.models.scrape import ScrapeCursor
from tests.scraper.fake_marketplace import API_KEY, rarible_item
from tests.scraper.image_server import ImageServer, png_bytes, serve

COLLECTION = "ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5"
runner = CliRunner()


@pytest.fixture
def env(data_dir: Path, server, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BOT_RARIBLE_API_URL", server.url)
    monkeypatch.setenv("BOT_RARIBLE_API_KEY", API_KEY)
    monkeypatch.setenv("BOT_SCRAPE_RATE_PER_SECOND", "100")
    monkeypatch.setenv("BOT_SCRAPE_PAGE_SIZE", "2")
    return data_dir


def test_scrape_resumes_and_prints_a_summary(env: Path, market) -> None:
    market.rarible_items[COLLECTION] = [rarible_item(COLLECTION, n) for n in range(1, 6)]
    first = runner.invoke(app, ["scrape", "rarible", "--collection", COLLECTION, "--max", "3"])
    assert first.exit_code == 0, first.output
    assert "Scrape summary" in first.output and "stopped" in first.output
    assert "total: new 3 updated 0 unchanged 0 failed 0" in first.output

    second = runner.invoke(app, ["scrape", "rarible", "-c", COLLECTION])
    assert second.exit_code == 0, second.output
    assert "total: new 2 updated 0 unchanged 0 failed 0" in second.output

    engine = make_engine(f"sqlite:///{env / 'bot.db'}")
    with session_scope(engine) as session:
        assert len(session.exec(select(Listing)).all()) == 5
        assert session.exec(select(ScrapeCursor)).one().passes_completed == 1


def test_scrape_without_key_or_collection_is_a_clear_error(env: Path, monkeypatch) -> None:
    result = runner.invoke(app, ["scrape", "rarible"])
    assert result.exit_code == 2 and "BOT_RARIBLE_COLLECTIONS" in result.output
    monkeypatch.delenv("BOT_RARIBLE_API_KEY")
    result = runner.invoke(app, ["scrape", "rarible", "-c", COLLECTION])
    assert result.exit_code == 2 and "set BOT_RARIBLE_API_KEY" in result.output


def test_a_failing_api_exits_non_zero(env: Path, market) -> None:
    from tests.scraper.fake_marketplace import Fault

    market.rarible_items[COLLECTION] = [rarible_item(COLLECTION, 1)]
    market.add_fault("/v0.1/items", Fault("400"))  # not retried: a bad request stays bad
    result = runner.invoke(app, ["scrape", "rarible", "-c", COLLECTION])
    assert result.exit_code == 1 and "HTTP 400" in result.output


def test_images_fetch_stores_blobs_and_records_refusals(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("BOT_ALLOW_PRIVATE_ADDRESSES", "true")
    with ImageServer() as images:
        images.routes["/ok.png"] = serve(png_bytes(16, 16))
        images.routes["/html.png"] = serve(b"<html>no</html>")
        assert runner.invoke(app, ["init"]).exit_code == 0
        engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
        with session_scope(engine) as session:
            for item, path in (("a", "/ok.png"), ("b", "/html.png"), ("c", "/ok.png")):
                upsert_listing(
                    session,
                    {"source": "t", "marketplace": "t", "item_id": item,
                     "image_uri": images.url + path},
                )  # fmt: skip
        nothing_selected = runner.invoke(app, ["images", "fetch"])  # curation chose nothing
        assert nothing_selected.exit_code == 0 and "nothing to fetch" in nothing_selected.output
        result = runner.invoke(app, ["images", "fetch", "--all"])
        assert result.exit_code == 1, result.output  # one refused: the summary says so
        assert "stored 2, refused 1" in result.output
        again = runner.invoke(app, ["images", "fetch", "--all"])
        assert again.exit_code == 0 and "nothing to fetch" in again.output  # refused ones wait
        retried = runner.invoke(app, ["images", "fetch", "--all", "--retry-refused"])
        assert retried.exit_code == 1 and "stored 0, refused 1" in retried.output
    with session_scope(engine) as session:
        rows = {r.item_id: r for r in session.exec(select(Listing)).all()}
    assert rows["a"].image_blob and rows["a"].image_blob == rows["c"].image_blob
    assert rows["b"].image_blob is None and "not a PNG/JPEG/GIF/WebP" in (
        rows["b"].image_error or ""
    )
