"""Marketplace pages that render in JavaScript, read with Playwright driving Debian's Chromium.

What to read is configuration (`scraper.page_rules`); this module only loads a page, waits
for the rules' selector, and runs one generic extraction in the page. The cursor is the URL
of the next page (from the `next_page` rule), so a run resumes at the page it stopped on.
Playwright cannot download browsers here, so Chromium is the system's (`/usr/bin/chromium`).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

from scraper.errors import ConfigurationError, ItemError, TransientError
from scraper.http import HostRateLimiter
from scraper.page_rules import FieldRule, SiteRules
from scraper.source import Page, ScrapedListing
from storage.money import parse_amount, parse_count

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")

# One generic extraction, fed with the site's selectors: returns raw strings per item.
_EXTRACT_JS = """
([itemSelector, fields]) => Array.from(document.querySelectorAll(itemSelector)).map(item => {
  const out = {};
  for (const [name, rule] of Object.entries(fields)) {
    const el = rule.selector ? item.querySelector(rule.selector) : item;
    out[name] = !el ? null : (rule.attr ? el.getAttribute(rule.attr) : el.textContent);
  }
  return out;
})
"""
_NEXT_JS = """
([selector, attr]) => {
  const el = document.querySelector(selector);
  return el ? (attr ? el.getAttribute(attr) : el.textContent) : null;
}
"""


class Chromium:
    """A headless Chromium for the page source; `with Chromium(path) as browser:`."""

    def __init__(self, executable_path: str = "/usr/bin/chromium", user_agent: str = "") -> None:
        self.executable_path = executable_path
        self.user_agent = user_agent
        self._playwright: Any = None
        self._browser: Any = None
        self.context: Any = None

    def __enter__(self) -> Chromium:
        from pathlib import Path

        from playwright.sync_api import sync_playwright

        if not Path(self.executable_path).is_file():
            raise ConfigurationError(
                f"Chromium not found at {self.executable_path}: install Debian's chromium "
                "(apt-get install chromium) or set BOT_CHROMIUM_PATH"
            )
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable_path, args=CHROMIUM_ARGS, headless=True
            )
            self.context = self._browser.new_context(user_agent=self.user_agent or None)
        except Exception:
            self._playwright.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()


class PageSource:
    """One configured site, page after page, through a running `Chromium`."""

    def __init__(
        self,
        rules: SiteRules,
        browser: Chromium,
        *,
        limiter: HostRateLimiter | None = None,
    ) -> None:
        self.rules = rules
        self.browser = browser
        self.limiter = limiter
        self.name = f"page:{rules.name}"
        self.collection = rules.start_url
        self.marketplace = rules.marketplace

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        url = cursor or self.rules.start_url
        if self.limiter is not None:
            self.limiter.bucket(url).acquire()
        page = self.browser.context.new_page()
        try:
            timeout_ms = self.rules.timeout_s * 1000
            try:
                response = page.goto(url, timeout=timeout_ms, wait_until="domcontentloaded")
                if response is not None and response.status >= 400:
                    raise TransientError(f"{url}: HTTP {response.status}")
                page.wait_for_selector(self.rules.wait_for, timeout=timeout_ms)
            except TransientError:
                raise
            except Exception as exc:  # Playwright's TimeoutError and navigation errors
                raise TransientError(
                    f"{url}: page did not render {self.rules.wait_for!r}: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            js_fields = {name: rule.as_js() for name, rule in self.rules.fields.items()}
            raw_items = page.evaluate(_EXTRACT_JS, [self.rules.item, js_fields])
            next_url = None
            if self.rules.next_page is not None:
                rule = self.rules.next_page
                raw_next = page.evaluate(_NEXT_JS, [rule.selector, rule.attr])
                cleaned = rule.clean(raw_next)
                next_url = urljoin(page.url, cleaned) if cleaned else None
            base_url = page.url
        finally:
            page.close()
        result = Page(listings=[], next_cursor=next_url if next_url != url else None)
        for index, raw in enumerate(raw_items[: size or None]):
            try:
                result.listings.append(self.normalise(raw, base_url))
            except ValueError as exc:
                label = raw.get("item_id") or f"item #{index}"
                result.failures.append(ItemError(f"{self.name} {url} {label}", str(exc)))
        return result

    def normalise(self, raw: dict[str, str | None], base_url: str) -> ScrapedListing:
        values: dict[str, str | None] = {}
        for name, rule in self.rules.fields.items():
            value = rule.clean(raw.get(name))
            if value is not None and rule.attr in ("href", "src"):
                value = urljoin(base_url, value)
            if value is None and rule.required:
                raise ValueError(f"no {name} ({_describe(rule)} matched nothing)")
            values[name] = value
        fields: dict[str, Any] = {
            "source": "page",
            "marketplace": self.marketplace,
            "item_id": values["item_id"],
            "collection": values.get("collection") or self.rules.name,
            "raw_json": json.dumps(raw, sort_keys=True),
        }
        for name in ("name", "title", "creator", "image_uri"):
            if name in values:
                fields[name] = values[name]
        if "price" in values:
            fields["price"] = _decimal(values["price"], "price")
            fields["currency"] = values.get("currency") or self.rules.currency
            fields["currency_decimals"] = self.rules.currency_decimals
        if "price_usd" in values:
            fields["price_usd"] = _decimal(values["price_usd"], "price_usd")
        if "likes" in values:
            likes = _decimal(values["likes"], "likes")
            fields["likes"] = None if likes is None else parse_count(int(likes), "likes")
        return ScrapedListing(fields)


def _decimal(text: str | None, what: str) -> Decimal | None:
    """'1,234.50 ETH' -> Decimal('1234.50'); None stays None."""
    if text is None:
        return None
    match = _NUMBER.search(text)
    if not match:
        raise ValueError(f"{what} {text[:40]!r} has no number")
    return parse_amount(match.group(0), what)  # bounded (storage/money.py); a ValueError


def _describe(rule: FieldRule) -> str:
    target = f"@{rule.attr}" if rule.attr else "text"
    return f"selector {rule.selector or '(item)'!r} {target}"
