"""Where a published artwork came from, for its NFT metadata. Pure: no network, no I/O.

The token says which NFT it was derived from (marketplace and item: chain, contract and token
id when the item id has them, the source image's CID when known), how it was made (prompt,
VQGAN and CLIP weights, seed, iteration, upscaler) and how it was chosen (the similarity and
critic scores, who chose). It goes into the metadata twice: as ERC-721/OpenSea `attributes`
(what marketplaces show) and as a structured `properties` block (what programs read). Every
string is plain text (`marketplace.metadata.plain_text`); numbers are finite and rounded, so
the metadata stays canonical and its CID reproducible.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from marketplace.metadata import MAX_VALUE, plain_text

# Rarible `ETHEREUM:0x…:123`, OpenSea `ethereum:0x…:123`, or a bare `0x…:123`.
_ITEM = re.compile(
    r"^(?:(?P<chain>[A-Za-z][A-Za-z0-9_-]*):)?(?P<contract>0x[0-9a-fA-F]{40}):(?P<token>\d{1,78})$"
)
SCORE_LABELS = {
    "prompt_similarity": "Prompt similarity",
    "source_similarity": "Source similarity",
    "critic": "Critic score",
    "aesthetic": "Aesthetic score",
}


@dataclass(frozen=True)
class Provenance:
    source_marketplace: str
    source_item: str
    source_cid: str | None
    prompt: str
    vqgan: str | None
    clip: str | None
    seed: int
    iteration: int
    scores: tuple[tuple[str, float], ...] = ()  # (name in SCORE_LABELS, value)
    chosen_by: str | None = None
    upscaler: str | None = None


@dataclass(frozen=True)
class ItemReference:
    chain: str | None
    contract: str | None
    token_id: str | None


def item_reference(item_id: str) -> ItemReference:
    """Chain, contract and token id from a marketplace item id, when it has them."""
    match = _ITEM.match(item_id.strip())
    if not match:
        return ItemReference(None, None, None)
    chain = match.group("chain")
    return ItemReference(
        chain.upper() if chain else None, match.group("contract").lower(), match.group("token")
    )


def _text(value: object) -> str:
    return plain_text(value, limit=MAX_VALUE)


def _scores(provenance: Provenance) -> dict[str, float]:
    return {
        name: round(float(value), 4)
        for name, value in provenance.scores
        if name in SCORE_LABELS and value is not None and math.isfinite(float(value))
    }


def provenance_attributes(provenance: Provenance) -> list[dict[str, Any]]:
    """ERC-721 attributes added after the basic ones (which already hold prompt, seed, model,
    iteration and the source item)."""
    reference = item_reference(provenance.source_item)
    attributes: list[dict[str, Any]] = [
        {"trait_type": "Source marketplace", "value": _text(provenance.source_marketplace)}
    ]
    for label, value in (
        ("Source chain", reference.chain),
        ("Source contract", reference.contract),
        ("Source token ID", reference.token_id),
        ("Source CID", provenance.source_cid),
        ("VQGAN model", provenance.vqgan),
        ("CLIP model", provenance.clip),
        ("Upscaler", provenance.upscaler),
        ("Chosen by", provenance.chosen_by),
    ):
        if value:
            attributes.append({"trait_type": label, "value": _text(value)})
    for name, score in _scores(provenance).items():
        attributes.append(
            {"trait_type": SCORE_LABELS[name], "value": score, "display_type": "number"}
        )
    return attributes


def provenance_properties(provenance: Provenance) -> dict[str, Any]:
    reference = item_reference(provenance.source_item)
    source = {
        "marketplace": _text(provenance.source_marketplace),
        "item_id": _text(provenance.source_item),
        "chain": reference.chain,
        "contract": reference.contract,
        "token_id": reference.token_id,
        "cid": _text(provenance.source_cid) if provenance.source_cid else None,
    }
    generation = {
        "prompt": _text(provenance.prompt),
        "vqgan": _text(provenance.vqgan) if provenance.vqgan else None,
        "clip": _text(provenance.clip) if provenance.clip else None,
        "seed": int(provenance.seed),
        "iteration": int(provenance.iteration),
        "upscaler": _text(provenance.upscaler) if provenance.upscaler else None,
    }
    return {
        "source": {k: v for k, v in source.items() if v},
        "generation": {k: v for k, v in generation.items() if v is not None},
        "scores": _scores(provenance),
        "chosen_by": _text(provenance.chosen_by) if provenance.chosen_by else None,
    }
