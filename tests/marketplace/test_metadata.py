from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.metadata import (
    ArtworkFacts,
    MetadataError,
    SourceNft,
    build_metadata,
    plain_text,
    serialize_metadata,
)
from storage.ipfs.unixfs import import_bytes

IMAGE_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def _facts(**changes: object) -> ArtworkFacts:
    values: dict[str, object] = {
        "artwork_id": 7,
        "image_cid": IMAGE_CID,
        "category": "Cyber Cats",
        "prompt": "Cyber Cats",
        "seed": 42,
        "model": "vqgan_wikiart_16384+clip_vit_b32",
        "iteration": 19,
        "source": SourceNft("hive", "nft-123", "Neon cat", "alice"),
        "generator_version": "nftbot-generator 0.1.0",
    }
    values.update(changes)
    return ArtworkFacts(**values)  # type: ignore[arg-type]


def test_canonical_serialisation_reproduces_the_documented_cid() -> None:
    document = {
        "name": "Token #1",
        "description": "d",
        "image": f"ipfs://{IMAGE_CID}",
        "attributes": [{"trait_type": "Base", "value": "x"}],
    }
    data = serialize_metadata(document)
    assert data.startswith(b'{"attributes":[{"trait_type":"Base","value":"x"}],"description"')
    assert not data.endswith(b"\n")
    expected = "bafkreibikcsinmwp2fpc7h6wmr77a3oftcv5jls56clsmiki4kr54dht2e"
    assert str(import_bytes(data, cid_version=1).cid) == expected


def test_document_has_the_erc721_fields_and_every_attribute() -> None:
    document = build_metadata(_facts(external_url="https://example.org/a/7"))
    assert document["image"] == f"ipfs://{IMAGE_CID}"
    assert document["name"] == "Cyber Cats #7"
    assert "Neon cat" in document["description"] and "alice" in document["description"]
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits == {
        "Category": "Cyber Cats",
        "Prompt": "Cyber Cats",
        "Seed": 42,
        "Model": "vqgan_wikiart_16384+clip_vit_b32",
        "Iteration": 19,
        "Source NFT": "hive:nft-123",
        "Source name": "Neon cat",
        "Source creator": "alice",
        "Generator version": "nftbot-generator 0.1.0",
    }
    assert document["external_url"] == "https://example.org/a/7"
    assert "external_url" not in build_metadata(_facts())
    with_series = build_metadata(
        _facts(source=SourceNft("hive", "nft-123", "Neon cat", "alice", "Cyber <i>Cats</i>"))
    )
    assert {"trait_type": "Source series", "value": "Cyber Cats"} in with_series["attributes"]


def test_same_facts_same_bytes_and_unicode_is_kept() -> None:
    facts = _facts(category="猫 ネオン", source=SourceNft("hive", "x", "Çat", "zoë"))
    first = serialize_metadata(build_metadata(facts))
    assert first == serialize_metadata(build_metadata(facts))
    assert "猫 ネオン".encode() in first and "zoë".encode() in first


def test_html_and_markdown_injection_is_neutralised() -> None:
    facts = _facts(
        category='Cats <script>alert("x")</script>',
        source=SourceNft(
            "hive", "1", "[click](javascript:alert(1)) <img src=x onerror=alert(1)>", "<b>bob</b>"
        ),
    )
    document = build_metadata(facts)
    text = json.dumps(document, ensure_ascii=False)
    assert "<" not in text and ">" not in text and "onerror" not in text
    assert r"\[click\](javascript" in document["description"]
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Source creator"] == "bob"


def test_control_and_bidi_characters_are_removed() -> None:
    assert plain_text("evil\u202egnp.exe\x00\n\tname", limit=100) == "evilgnp.exe name"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    assert plain_text("x" * 500, limit=10) == "x" * 9 + "…"


def test_a_v0_image_cid_is_written_as_given() -> None:
    v0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert build_metadata(_facts(image_cid=v0))["image"] == f"ipfs://{v0}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image_cid": "https://gateway/x.png"}, "artwork 7 image"),
        ({"category": "<b></b>"}, "category"),
        ({"external_url": "javascript:alert(1)"}, "external_url"),
    ],
)
def test_bad_input_names_the_artwork_and_the_reason(changes: dict, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        build_metadata(_facts(**changes))


@settings(max_examples=200, deadline=None)
@given(name=st.text(), creator=st.text(), category=st.text(min_size=1).filter(str.strip))
def test_any_scraped_text_gives_plain_valid_json(name: str, creator: str, category: str) -> None:
    facts = _facts(category=category, source=SourceNft("hive", "1", name, creator))
    try:
        document = build_metadata(facts)
    except MetadataError:
        return  # e.g. a category made only of tags: refused with a reason
    data = serialize_metadata(document)
    parsed = json.loads(data)
    for value in [
        parsed["name"],
        parsed["description"],
        *(a["value"] for a in parsed["attributes"]),
    ]:
        if isinstance(value, str):
            assert "<" not in value and ">" not in value
            assert not any(ord(char) < 32 for char in value)


def test_long_names_keep_the_artwork_id_and_whole_graphemes() -> None:
    import regex

    family = "👩\u200d👩\u200d👧\u200d👦"  # one grapheme, seven code points
    for category in ("x" * 300, family * 60, "e\u0301" * 150, "ab " * 100):
        names = {build_metadata(_facts(artwork_id=n, category=category))["name"] for n in (7, 8)}
        assert names == {n for n in names if len(n) <= 200}
        assert {n.rsplit(" ", 1)[1] for n in names} == {"#7", "#8"}  # never shared
        for name in names:
            kept = name.rsplit(" #", 1)[0].removesuffix("…")
            allowed = (family, "x", "\u00e9", "a", "b", " ")  # NFC: e + U+0301 is one é
            assert all(g in allowed for g in regex.findall(r"\X", kept)), name


def test_plain_text_cuts_between_graphemes() -> None:
    flag = "🇳🇱"
    assert plain_text(flag * 10, limit=5) == flag * 2 + "…"
    assert plain_text("short", limit=5) == "short"
