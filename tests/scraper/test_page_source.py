"""The browser source: Debian's Chromium renders a local JavaScript page; rules come from YAML."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from scraper.errors import ConfigurationError
from scraper.page import Chromium, PageSource
from scraper.page_rules import load_rules
from scraper.runner import run_source
from storage.db import session_scope
from storage.models import Listing
from storage.models.scrape import ScrapeCursor
from tests.scraper.image_server import ImageServer, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason="Debian's chromium is not installed (install_test_deps)"
)

# The items are not in the HTML: a script renders them a moment after load, as a SPA would.
PAGE = """<!doctype html><html><head><title>market</title></head><body>
<div id="grid"></div><nav id="nav"></nav>
<script>
const items = {items};
setTimeout(() => {{
  const grid = document.getElementById('grid');
  for (const it of items) {{
    const card = document.createElement('div');
    card.className = 'card';
    card.innerHTML = `<a class="detail" href="/item/${{it.id}}">open</a>
      <h3 class="title">${{it.name}}</h3><span class="artist">${{it.artist}}</span>
      <span class="price">${{it.price}}</span><img src="/img/${{it.id}}.png">
      <span class="likes">${{it.likes}} likes</span>`;
    grid.appendChild(card);
  }}
  const nav = document.getElementById('nav');
  if ({next}) nav.innerHTML = '<a rel="next" href="{next_href}">more</a>';
}}, 150);
</script></body></html>"""

RULES = """
sites:
  showroom:
    marketplace: showroom
    start_url: {url}/collection/dreams
    item: ".card"
    fields:
      item_id: {{selector: "a.detail", attr: href}}
      name: ".title"
      creator: ".artist"
      price: {{selector: ".price"}}
      currency: {{selector: ".price", regex: "([A-Za-z]+)\\\\s*$"}}
      image_uri: {{selector: "img", attr: src}}
      likes: ".likes"
    next_page: {{selector: "a[rel=next]", attr: href}}
    currency_decimals: 18
    timeout_s: 10
"""


def _page(items: list[dict[str, object]], next_href: str | None) -> bytes:
    html = PAGE.format(
        items=json.dumps(items), next="true" if next_href else "false", next_href=next_href or ""
    )
    return html.encode()


@pytest.fixture
def site() -> Iterator[ImageServer]:
    first = [
        {"id": "a1", "name": "Dawn", "artist": "ana", "price": "1,250.5 HIVE", "likes": 12},
        {"id": "a2", "name": "Dusk", "artist": "bo", "price": "0.75 HIVE", "likes": 3},
    ]
    second = [
        {"id": "a3", "name": "Noon", "artist": "cy", "price": "2 HIVE", "likes": 0},
        {"id": "a4", "name": "Bad", "artist": "dee", "price": "free", "likes": 1},
    ]
    with ImageServer() as server:
        server.routes["/collection/dreams"] = serve(
            _page(first, "/collection/dreams?p=2"), "text/html"
        )
        server.routes["/collection/dreams?p=2"] = serve(_page(second, None), "text/html")
        yield server


def test_rules_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "sites:\n  x:\n    start_url: https://a.example/\n    item: .c\n    fields: {name: .t}\n"
    )
    with pytest.raises(ConfigurationError, match="site 'x': fields must include item_id"):
        load_rules(bad)
    bad.write_text(
        "sites:\n  x:\n    start_url: ftp://a/\n    item: .c\n    fields: {item_id: a}\n"
    )
    with pytest.raises(ConfigurationError, match="start_url must be http"):
        load_rules(bad)


@needs_chromium
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_javascript_pages_are_scraped_with_configured_selectors(site, engine, tmp_path) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES.format(url=site.url))
    rules = load_rules(rules_path)["showroom"]
    with Chromium(CHROMIUM, user_agent="nftbot-tests") as browser:
        summary = run_source(engine, PageSource(rules, browser))
    assert (summary.status, summary.pages, summary.new, summary.failed) == ("completed", 2, 3, 1)
    assert "price 'free' has no number" in summary.failures[0]

    with session_scope(engine) as session:
        stored = {row.item_id: row for row in session.exec(select(Listing)).all()}
        cursor = session.exec(select(ScrapeCursor)).one()
    dawn = stored[f"{site.url}/item/a1"]
    assert (dawn.marketplace, dawn.source, dawn.name, dawn.creator) == (
        "showroom", "page", "Dawn", "ana"
    )  # fmt: skip
    assert dawn.price == Decimal("1250.5") and dawn.currency == "HIVE" and dawn.likes == 12
    assert dawn.image_uri == f"{site.url}/img/a1.png"
    assert stored[f"{site.url}/item/a3"].price == Decimal("2")
    assert (cursor.source, cursor.passes_completed, cursor.cursor) == ("page:showroom", 1, None)
