"""`bot review` as a person uses it: the real command serving on 127.0.0.1, driven by Debian's
Chromium through Playwright; and what it refuses (no token, forged posts, foreign hosts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork
from tests.bot.choose_fixtures import add_generated, chosen_iterations, scored

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason="Debian's chromium is not installed (install_test_deps)"
)
# Read at import: the suite's autouse fixture hides every BOT_* variable from the tests.
ARTIFACTS_DIR = os.environ.get("BOT_TEST_ARTIFACTS")
SCRIPT_TITLE = "<script>window.__pwned = 1</script> Sea & <b>sky</b>"


@dataclass
class Review:
    url: str  # the printed URL, with the token
    base: str
    token: str
    engine: Engine
    ids: list[int]


def _frames(count: int, near: int | None = None) -> list[dict[str, object]]:
    return [
        scored(prompt_similarity=0.2 + i / 100, hash_distance=2 if i == near else 30)
        for i in range(count)
    ]


@pytest.fixture
def review(data_dir: Path, tmp_path: Path) -> Iterator[Review]:
    data_dir.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    blobs = BlobStore(data_dir / "blobs")
    ids = [
        add_generated(engine, blobs, _frames(4, near=0), title="Cyber Cats", item_id="a"),
        add_generated(engine, blobs, _frames(4), title=SCRIPT_TITLE, item_id="b"),
        add_generated(engine, blobs, _frames(2), title="To reject", item_id="c"),
    ]
    env = {**os.environ, "BOT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        # Every frame is scored already, so the default scoring pass has nothing to load.
        [str(Path(sys.executable).with_name("bot")), "review", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        url = token = ""
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline and not token:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("review page: "):
                url = line.removeprefix("review page: ").strip()
            if line.startswith("token: "):
                token = line.split()[1]
        assert url and token, "bot review did not print its URL"
        base = url.split("/?")[0]
        for _ in range(100):  # the socket is bound before the URL is printed; wait for uvicorn
            try:
                httpx.get(base + "/static/review.css", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Review(url, base, token, engine, ids)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_the_page_and_its_api_refuse_requests_without_the_token(review: Review) -> None:
    artwork = review.ids[0]
    choose = f"{review.base}/api/artworks/{artwork}/choose"
    with httpx.Client(base_url=review.base, follow_redirects=False) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and "Cyber Cats" not in refused.text
        assert client.get("/images/frames/1.png").status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        entered = client.get(f"/?token={review.token}")
        assert entered.status_code == 303 and entered.headers["location"] == "/"
        cookie = entered.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        page = client.get("/")  # the cookie now
        assert page.status_code == 200 and "Cyber Cats" in page.text
        body = {"iteration": 1}
        # the cookie alone never changes anything
        assert client.post(choose, json=body).status_code == 403
        header = {"X-Review-Token": review.token}
        forged_origin = {**header, "Origin": "http://127.0.0.1:1"}
        assert client.post(choose, json=body, headers=forged_origin).status_code == 403
        form = client.post(choose, data={"iteration": "1"}, headers=header)
        assert form.status_code == 403 and "JSON" in form.text
        assert client.get(choose).status_code == 405 or client.get(choose).status_code == 404
        host = client.get("/", headers={"Host": "evil.example:80"})
        assert host.status_code == 403
        assert chosen_iterations(review.engine) == []
        accepted = client.post(choose, json=body, headers={**header, "Origin": review.base})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["iteration"] == 1
    assert chosen_iterations(review.engine, artwork) == [1]


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def artifacts(tmp_path: Path) -> Path:
    folder = tmp_path / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


def keep(path: Path) -> None:
    """Copy a test artifact to BOT_TEST_ARTIFACTS when that is set (CI uploads it)."""
    if ARTIFACTS_DIR:
        Path(ARTIFACTS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(ARTIFACTS_DIR) / path.name)


@needs_chromium
@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_person_chooses_by_click_and_by_keyboard_in_chromium(
    review: Review,
    browser,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    first, second, third = review.ids
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(review.url)
    assert page.url == review.base + "/"  # the token left the address bar
    rows = page.locator("tr.artwork-row")
    assert rows.count() == 3
    # the <script> title is text on the page, and it never ran
    assert SCRIPT_TITLE in page.locator(f'tr[data-artwork="{second}"] .title').inner_text()
    assert page.evaluate("window.__pwned") is None

    page.click(f'tr[data-artwork="{first}"] a.open')
    page.wait_for_selector("#frames .frame")
    assert page.locator("#frames .frame").count() == 4
    assert page.locator("#frames .frame.near-copy").count() == 1
    assert page.locator("#frames .frame img").first.evaluate("i => i.naturalWidth") == 64
    page.click('#frames button.choose[data-iteration="2"]')
    expect(page.locator("#status")).to_have_text("chosen #2 for artwork " + str(first))
    assert chosen_iterations(review.engine, first) == [2]
    shot = artifacts(tmp_path) / "review-artwork.png"
    page.screenshot(path=str(shot), full_page=True)
    keep(shot)
    assert shot.stat().st_size > 10_000

    page.goto(f"{review.base}/artworks/{second}")
    assert page.locator("h1.title").inner_text() == SCRIPT_TITLE
    assert page.evaluate("window.__pwned") is None
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("chosen #2")
    assert chosen_iterations(review.engine, second) == [2]
    with session_scope(review.engine) as session:
        artwork = session.get(Artwork, second)
        assert (artwork.state, artwork.chosen_by) == ("chosen", "person")
        assert '"via": "review page"' in (artwork.choice_reason or "")

    page.goto(f"{review.base}/artworks/{third}")
    page.keyboard.press("r")
    page.keyboard.type("both frames are noise <i>really</i>")
    page.click("#reject-button")
    expect(page.locator("#status")).to_contain_text("is rejected")
    with session_scope(review.engine) as session:
        rejected = session.get(Artwork, third)
        assert rejected.state == "rejected"
        assert (
            rejected.reason
            == "rejected by a person (review page): both frames are noise <i>really</i>"
        )

    page.goto(f"{review.base}/queue")
    queue = page.locator("tr.queue-row")
    assert queue.count() == 2
    assert "chosen by a person (review page): iteration 2" in page.inner_text("table.queue")
    shot = artifacts(tmp_path) / "review-queue.png"
    page.screenshot(path=str(shot), full_page=True)
    keep(shot)


class _Forger(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = f"""<!doctype html><html><body>
<form id="f" method="POST" action="{self.target}" enctype="text/plain">
<input name='{{"iteration": 3, "x": "' value='"}}'></form>
<script>
fetch("{self.target}", {{method: "POST", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: '{{"iteration": 3}}'}})
  .then(r => {{ document.title = "fetch " + r.status; document.getElementById("f").submit(); }})
  .catch(e => {{ document.title = "fetch blocked"; document.getElementById("f").submit(); }});
</script></body></html>"""
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@needs_chromium
@pytest.mark.browser
@pytest.mark.timeout(120)
def test_a_forged_post_from_another_origin_is_refused(review: Review, browser) -> None:  # type: ignore[no-untyped-def]
    artwork = review.ids[1]
    _Forger.target = f"{review.base}/api/artworks/{artwork}/choose"
    forger = ThreadingHTTPServer(("127.0.0.1", 0), _Forger)
    thread = threading.Thread(target=forger.serve_forever, daemon=True)
    thread.start()
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(review.url)  # the person is signed in: the cookie is set
        assert page.locator("tr.artwork-row").count() == 3
        evil = context.new_page()
        with evil.expect_response(
            lambda r: (
                r.request.method == "POST"
                and "/choose" in r.url
                and r.request.resource_type == "document"
            )
        ) as posted:
            evil.goto(f"http://127.0.0.1:{forger.server_address[1]}/")
        assert posted.value.status == 403
        evil.wait_for_url(_Forger.target)
        evil.wait_for_load_state("load")
        assert "refused" in evil.content()
        context.close()
    finally:
        forger.shutdown()
        forger.server_close()
        thread.join(5)
    assert chosen_iterations(review.engine, artwork) == []
    with session_scope(review.engine) as session:
        assert [a.state for a in session.exec(select(Artwork)).all()] == ["generated"] * 3
