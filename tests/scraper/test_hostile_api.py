"""Hostile marketplace APIs: deep JSON, gzip bombs, dripping servers, redirects that try to
take the API key elsewhere. Each ends in one clear line and a non-zero exit, never a crash,
a hang or a leaked key."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import scrape as scrape_cli
from bot.cli.app import app
from scraper.errors import RefusedResponse, TransientError
from scraper.http import HttpClient, HttpPolicy
from storage.db import make_engine, session_scope
from storage.listings import upsert_listing
from tests.scraper.fake_marketplace import API_KEY, rarible_item
from tests.scraper.image_server import ImageServer, redirect, serve
from tests.storage.test_net import BRACKETS, _HeaderLog, drip, gzip_bomb, serve_gzip

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5"
ITEMS = "/v0.1/items/byCollection"
FAST = HttpPolicy(
    rate_per_second=100, timeout_s=1.0, deadline_s=1.5, max_attempts=2, backoff_base_s=0.01
)
runner = CliRunner()


@pytest.fixture
def api(data_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with ImageServer() as server:
        monkeypatch.setenv("BOT_RARIBLE_API_URL", server.url)
        monkeypatch.setenv("BOT_RARIBLE_API_KEY", API_KEY)
        monkeypatch.setenv("BOT_RARIBLE_COLLECTIONS", COLLECTION)
        monkeypatch.setenv("BOT_SCRAPE_RATE_PER_SECOND", "100")
        yield server


def test_deeply_nested_json_is_one_clear_line_not_a_segfault(api: ImageServer) -> None:
    api.routes[ITEMS] = serve(BRACKETS, "application/json")
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", "scrape", "rarible"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, (done.returncode, output[-2000:])
    assert "Traceback" not in output
    # One line in the command's report (stderr has the log record of the same failure).
    lines = [line for line in done.stdout.splitlines() if "nested 400000 levels deep" in line]
    assert len(lines) == 1 and ITEMS in lines[0], output[-2000:]


def test_a_gzip_bomb_is_refused_at_the_cap(api: ImageServer) -> None:
    api.routes[ITEMS] = serve_gzip(gzip_bomb(20_000_000))
    policy = dataclasses.replace(FAST, max_body_bytes=1_000_000)
    with HttpClient(policy) as client, pytest.raises(RefusedResponse, match="1000000-byte cap"):
        client.get_json(api.url + ITEMS)


def test_a_dripping_api_cannot_hang_a_scrape(
    api: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.routes[ITEMS] = drip(0.3)
    with HttpClient(FAST) as client, pytest.raises(TransientError, match="deadline"):
        client.get_json(api.url + ITEMS)
    monkeypatch.setattr(scrape_cli, "http_policy", lambda _settings: FAST)
    result = runner.invoke(app, ["scrape", "rarible"])
    assert result.exit_code == 1, result.output
    assert "1.5 s deadline" in result.output


def test_a_dripping_image_server_cannot_hang_images_fetch(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("BOT_SCRAPE_TIMEOUT_S", "0.5")  # deadline: 4 x the timeout
    with ImageServer() as images:
        images.routes["/slow.png"] = drip(0.2, content_type="image/png")
        assert runner.invoke(app, ["init"]).exit_code == 0
        engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
        with session_scope(engine) as session:
            upsert_listing(
                session,
                {"source": "t", "marketplace": "t", "item_id": "a",
                 "image_uri": images.url + "/slow.png"},
            )  # fmt: skip
        # --all: the listing has no artwork (plain `images fetch` takes curation's candidates)
        result = runner.invoke(app, ["images", "fetch", "--all"])
    assert result.exit_code == 1, result.output  # a refused image is a non-zero exit
    assert "refused 1" in result.output and "2 s deadline" in result.output


def test_the_api_key_never_reaches_another_origin(api: ImageServer) -> None:
    log = _HeaderLog()
    with ImageServer() as elsewhere:
        page = {"items": [rarible_item(COLLECTION, 1)], "continuation": None}
        elsewhere.routes[ITEMS] = log.route(json.dumps(page).encode())
        api.routes[ITEMS] = redirect(elsewhere.url + ITEMS)
        result = runner.invoke(app, ["scrape", "rarible"])
    assert result.exit_code == 0, result.output
    assert log.seen, "the redirect was not followed"
    assert all("x-api-key" not in headers for headers in log.seen)
    assert API_KEY not in json.dumps(log.seen)


def test_scrape_summary_shows_hostile_items_literally(
    data_dir: Path, server, market, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.bot.test_cli_hostile_text import HOSTILE, MARKUP, assert_clean

    monkeypatch.setenv("BOT_RARIBLE_API_URL", server.url)
    monkeypatch.setenv("BOT_RARIBLE_API_KEY", API_KEY)
    monkeypatch.setenv("BOT_SCRAPE_RATE_PER_SECOND", "100")
    good = rarible_item(COLLECTION, 1)
    good["meta"]["name"] = HOSTILE
    good["itemCollection"]["name"] = MARKUP
    bad = rarible_item(COLLECTION, 2)
    bad["id"] = f"{COLLECTION}:2 {HOSTILE}"
    bad["bestSellOrder"]["makePrice"] = "1E+99999999"
    market.rarible_items[COLLECTION] = [good, bad]
    result = runner.invoke(app, ["scrape", "rarible", "-c", COLLECTION])
    assert result.exit_code == 0, result.output
    assert_clean(result.output)
    assert "total: new 1 updated 0 unchanged 0 failed 1" in result.output
    assert "exponent out of range" in result.output and "[/x]" in result.output
