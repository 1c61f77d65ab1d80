"""Provenance in the NFT metadata: source item, models, scores; plain text, canonical."""

from __future__ import annotations

import json

from marketplace.metadata import ArtworkFacts, SourceNft, build_metadata, serialize_metadata
from marketplace.provenance import Provenance, item_reference

IMAGE_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def facts(provenance: Provenance | None) -> ArtworkFacts:
    return ArtworkFacts(
        artwork_id=7,
        image_cid=IMAGE_CID,
        category="Cyber Cats",
        prompt="Cyber Cats",
        seed=42,
        model="vqgan_wikiart_16384+clip_vit_b32",
        iteration=19,
        source=SourceNft("rarible", "ETHEREUM:0xAbC0000000000000000000000000000000000001:7"),
        generator_version="nftbot generator 0.1.0",
        provenance=provenance,
    )


def test_item_references_of_each_marketplace() -> None:
    rarible = item_reference("ETHEREUM:0xAbC0000000000000000000000000000000000001:7")
    assert (rarible.chain, rarible.contract, rarible.token_id) == (
        "ETHEREUM",
        "0xabc0000000000000000000000000000000000001",
        "7",
    )
    assert item_reference("ethereum:0xabc0000000000000000000000000000000000001:123").chain == (
        "ETHEREUM"
    )
    kaggle = item_reference("Dreams of Hive:QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert (kaggle.chain, kaggle.contract, kaggle.token_id) == (None, None, None)


def test_provenance_becomes_attributes_and_properties_as_plain_text() -> None:
    provenance = Provenance(
        source_marketplace="rarible <b>",
        source_item="ETHEREUM:0xAbC0000000000000000000000000000000000001:7",
        source_cid="QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        prompt="Cyber <script>Cats</script>",
        vqgan="vqgan_wikiart_16384",
        clip="clip_vit_b32",
        seed=42,
        iteration=19,
        scores=(("prompt_similarity", 0.312345678), ("critic", -1.5), ("aesthetic", float("nan"))),
        chosen_by="auto",
        upscaler="realesrgan_x4plus x4",
    )
    document = build_metadata(facts(provenance))
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Source contract"] == "0xabc0000000000000000000000000000000000001"
    assert traits["Source token ID"] == "7" and traits["Source CID"].startswith("QmT78")
    assert traits["Prompt similarity"] == 0.3123 and traits["Critic score"] == -1.5
    assert "Aesthetic score" not in traits  # not finite: left out
    assert traits["Upscaler"] == "realesrgan_x4plus x4" and traits["Chosen by"] == "auto"
    properties = document["properties"]
    assert properties["generation"]["prompt"] == "Cyber Cats"
    assert properties["source"]["marketplace"] == "rarible"
    assert properties["scores"] == {"prompt_similarity": 0.3123, "critic": -1.5}
    data = serialize_metadata(document)
    assert b"<" not in data and b"NaN" not in data
    assert serialize_metadata(build_metadata(facts(provenance))) == data  # canonical


def test_without_provenance_the_document_is_unchanged() -> None:
    document = build_metadata(facts(None))
    assert "properties" not in document
    assert len(document["attributes"]) == 8
    assert json.loads(serialize_metadata(document))["image"] == f"ipfs://{IMAGE_CID}"
