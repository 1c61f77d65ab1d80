"""Per-site extraction rules for the browser source, read from a YAML file.

A site is described by CSS selectors, not code, so a new marketplace page is configuration:

```yaml
sites:
  showroom:
    marketplace: showroom             # stored as Listing.marketplace
    start_url: https://market.example/collection/dreams
    item: ".card"                     # one element per listing
    wait_for: ".card"                 # what JavaScript must have rendered (default: item)
    fields:                           # selector is relative to the item; "" is the item itself
      item_id: {selector: "a.detail", attr: href}     # required
      name: {selector: ".title"}                      # text by default
      creator: {selector: ".artist"}
      price: {selector: ".price"}                     # a decimal is read from the text
      currency: {selector: ".price", regex: "([A-Za-z]+)\\s*$"}
      image_uri: {selector: "img", attr: src}         # href/src become absolute URLs
      likes: {selector: ".likes"}
    next_page: {selector: "a[rel=next]", attr: href}  # optional: no match = last page
    currency: ETH                     # when the page has no currency field
    currency_decimals: 18
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scraper.errors import ConfigurationError

FIELDS = (
    "item_id", "name", "title", "creator", "price", "currency", "price_usd", "likes",
    "image_uri", "collection", "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class FieldRule:
    selector: str = ""
    attr: str | None = None  # None = the element's text
    regex: str | None = None  # group 1 (or the whole match) of the first match
    required: bool = False

    def as_js(self) -> dict[str, Any]:
        return {"selector": self.selector, "attr": self.attr}

    def clean(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        text = " ".join(raw.split())
        if self.regex:
            match = re.search(self.regex, text)
            if not match:
                return None
            text = match.group(1) if match.groups() else match.group(0)
        return text or None


@dataclass(frozen=True)
class SiteRules:
    name: str
    marketplace: str
    start_url: str
    item: str
    fields: dict[str, FieldRule]
    wait_for: str
    next_page: FieldRule | None = None
    currency: str | None = None
    currency_decimals: int | None = None
    timeout_s: float = 30.0


def load_rules(path: Path) -> dict[str, SiteRules]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"page rules {path}: cannot read: {exc}") from None
    sites = (document or {}).get("sites") if isinstance(document, dict) else None
    if not isinstance(sites, dict) or not sites:
        raise ConfigurationError(f"page rules {path}: expected a 'sites:' mapping")
    return {name: parse_site(name, spec, path) for name, spec in sites.items()}


def parse_site(name: str, spec: Any, path: Path | str = "<rules>") -> SiteRules:
    where = f"page rules {path}, site {name!r}"
    if not isinstance(spec, dict):
        raise ConfigurationError(f"{where}: expected a mapping")
    for key in ("start_url", "item", "fields"):
        if not spec.get(key):
            raise ConfigurationError(f"{where}: missing {key!r}")
    if not str(spec["start_url"]).startswith(("http://", "https://")):
        raise ConfigurationError(f"{where}: start_url must be http(s)")
    raw_fields = spec["fields"]
    if not isinstance(raw_fields, dict) or "item_id" not in raw_fields:
        raise ConfigurationError(f"{where}: fields must include item_id")
    unknown = set(raw_fields) - set(FIELDS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown fields {sorted(unknown)}; known: {FIELDS}")
    fields = {key: _field(value, f"{where}, field {key!r}") for key, value in raw_fields.items()}
    fields["item_id"] = FieldRule(**{**fields["item_id"].__dict__, "required": True})
    next_page = _field(spec["next_page"], f"{where}, next_page") if spec.get("next_page") else None
    return SiteRules(
        name=name,
        marketplace=str(spec.get("marketplace") or name),
        start_url=str(spec["start_url"]),
        item=str(spec["item"]),
        fields=fields,
        wait_for=str(spec.get("wait_for") or spec["item"]),
        next_page=next_page,
        currency=spec.get("currency"),
        currency_decimals=spec.get("currency_decimals"),
        timeout_s=float(spec.get("timeout_s", 30.0)),
    )


def _field(value: Any, where: str) -> FieldRule:
    if isinstance(value, str):
        return FieldRule(selector=value)
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: expected a selector string or a mapping")
    unknown = set(value) - {"selector", "attr", "regex", "required"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
    if value.get("regex"):
        try:
            re.compile(value["regex"])
        except re.error as exc:
            raise ConfigurationError(f"{where}: bad regex: {exc}") from None
    return FieldRule(
        selector=str(value.get("selector") or ""),
        attr=value.get("attr"),
        regex=value.get("regex"),
        required=bool(value.get("required", False)),
    )
