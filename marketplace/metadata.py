"""ERC-721 / OpenSea-style token metadata for a generated artwork. Pure: no network, no I/O.

The JSON is serialised canonically (sorted keys, compact separators, UTF-8, no trailing
newline) so the same artwork always gives the same bytes and hence the same CID, which the bot
can compute before the upload. `image` is `ipfs://<cid>` (never a gateway URL); the token URI
is `ipfs://<cid of these bytes>`.

Every text field is plain text: names and descriptions come from scraped listings, so HTML
tags, control and bidi-override characters are removed, and the Markdown characters that make
links, images, code or emphasis are escaped in the description (marketplaces render it as
Markdown); the description is one line, so block syntax (`#`, `-`) cannot start.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

from storage.ipfs.cid import Cid, InvalidCid

if TYPE_CHECKING:
    from marketplace.provenance import Provenance

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_VALUE = 200
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")  # emphasis, code, links, tables
# Format characters are dropped (bidi overrides, invisible text) except the joiners that
# build emoji sequences (👩‍👩‍👧) and some scripts' letters.
_JOINERS = frozenset("\u200c\u200d")
_GRAPHEME = regex.compile(r"\X")  # a user-perceived character: an emoji ZWJ sequence, é + ◌́


class MetadataError(ValueError):
    pass


@dataclass(frozen=True)
class SourceNft:
    """The NFT the artwork was generated from (the artwork's `Listing`)."""

    marketplace: str
    item_id: str
    name: str | None = None
    creator: str | None = None
    series: str | None = None  # the series title (the Kaggle `title`), kept as metadata


@dataclass(frozen=True)
class ArtworkFacts:
    artwork_id: int
    image_cid: str
    category: str
    prompt: str
    seed: int
    model: str
    iteration: int
    source: SourceNft
    generator_version: str
    external_url: str | None = None
    provenance: Provenance | None = None  # source, models, scores (marketplace.provenance)


def plain_text(value: object, *, limit: int) -> str:
    """One line of plain text: no tags, no control/format characters, collapsed spaces."""
    text = unicodedata.normalize("NFC", str(value))
    text = _TAG.sub(" ", text)
    text = text.replace("<", "").replace(">", "")
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
        for char in text
        if char in _JOINERS or unicodedata.category(char) not in ("Cf", "Cs", "Co", "Cn")
    )
    text = _SPACE.sub(" ", text).strip()
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` code points, cut between grapheme clusters (never inside an
    emoji sequence or between a letter and its accent), with "…" when anything was cut."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for match in _GRAPHEME.finditer(text):
        grapheme = match.group()
        if size + len(grapheme) > limit - 1:
            break
        kept.append(grapheme)
        size += len(grapheme)
    return "".join(kept).rstrip() + "…"


def _escape_markdown(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _ipfs_uri(cid: str, what: str) -> str:
    try:
        return f"ipfs://{Cid.parse(cid)}"
    except (InvalidCid, ValueError) as exc:
        raise MetadataError(f"{what}: {cid!r} is not a CID ({exc})") from None


def _external_url(url: str | None, artwork_id: int) -> str | None:
    if url is None:
        return None
    url = url.strip()
    if not re.fullmatch(r"https://[^\s<>\"']+", url):
        raise MetadataError(f"artwork {artwork_id}: external_url must be an https URL, got {url!r}")
    return url


def build_metadata(facts: ArtworkFacts) -> dict[str, Any]:
    """The metadata document for one artwork; raises MetadataError naming the artwork."""
    who = f"artwork {facts.artwork_id}"
    image = _ipfs_uri(facts.image_cid, f"{who} image")
    category = plain_text(facts.category, limit=MAX_VALUE)
    prompt = plain_text(facts.prompt, limit=MAX_VALUE)
    if not category:
        raise MetadataError(f"{who}: the category (prompt) is empty")
    source_name = plain_text(facts.source.name or "", limit=MAX_VALUE)
    creator = plain_text(facts.source.creator or "", limit=MAX_VALUE) or "unknown"
    source_ref = plain_text(f"{facts.source.marketplace}:{facts.source.item_id}", limit=MAX_VALUE)
    suffix = f" #{facts.artwork_id}"  # always kept: two artworks never share a name
    name = cut(category, MAX_NAME - len(suffix)) + suffix
    description_text = plain_text(
        f"A VQGAN+CLIP variation of {source_name or source_ref} by {creator} "
        f"({facts.source.marketplace}), generated for the prompt “{prompt}”, "
        f"iteration {facts.iteration}, seed {facts.seed}.",
        limit=MAX_DESCRIPTION,
    )
    attributes: list[dict[str, Any]] = [
        {"trait_type": "Category", "value": category},
        {"trait_type": "Prompt", "value": prompt},
        {"trait_type": "Seed", "value": int(facts.seed), "display_type": "number"},
        {"trait_type": "Model", "value": plain_text(facts.model, limit=MAX_VALUE)},
        {"trait_type": "Iteration", "value": int(facts.iteration), "display_type": "number"},
        {"trait_type": "Source NFT", "value": source_ref},
        {"trait_type": "Source creator", "value": creator},
        {
            "trait_type": "Generator version",
            "value": plain_text(facts.generator_version, limit=MAX_VALUE),
        },
    ]
    source_series = plain_text(facts.source.series or "", limit=MAX_VALUE)
    if source_series:
        attributes.insert(6, {"trait_type": "Source series", "value": source_series})
    if source_name:
        attributes.insert(6, {"trait_type": "Source name", "value": source_name})
    document: dict[str, Any] = {
        "name": name,
        "description": _escape_markdown(description_text),
        "image": image,
        "attributes": attributes,
    }
    if facts.provenance is not None:
        from marketplace.provenance import provenance_attributes, provenance_properties

        attributes.extend(provenance_attributes(facts.provenance))
        document["properties"] = provenance_properties(facts.provenance)
    external = _external_url(facts.external_url, facts.artwork_id)
    if external:
        document["external_url"] = external
    return document


def serialize_metadata(document: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, compact, UTF-8 (non-ASCII kept), no trailing newline."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
