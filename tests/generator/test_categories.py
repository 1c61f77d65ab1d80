"""CLIP zero-shot categories: the wiring, with the tiny random-weight CLIP loaded through the
weights registry (shapes, the `other` threshold, the runner-up, the face signal), not accuracy."""

from __future__ import annotations

import pytest

from generator.categories import CategoryClassifier, decide, needs_faces
from generator.category_names import CATEGORIES, LABELS, OTHER, canonical_category
from generator.faces import Faces
from generator.prompts import check_prompt_template, render_prompt
from generator.weights import WeightsStore
from tests.generator.images import photo


@pytest.fixture(scope="module")
def classifier(tiny_store: WeightsStore) -> CategoryClassifier:
    return CategoryClassifier(tiny_store.load_clip("smoke_clip_tiny"))


def test_probabilities_cover_every_label_for_each_image(classifier: CategoryClassifier) -> None:
    assert classifier.label_features.shape == (len(LABELS), 32)  # tiny CLIP's embedding
    images = [classifier.preprocess(photo(n)) for n in ("astronaut", "chelsea", "coffee")]
    assert images[1].shape == (3, 32, 32)  # CLIP's input resolution, centre crop of 451x300
    batch = classifier.probabilities(images)
    one_by_one = [classifier.probabilities([image])[0] for image in images]
    assert len(batch) == 3
    for together, alone in zip(batch, one_by_one, strict=True):
        assert set(together) == set(LABELS)
        assert sum(together.values()) == pytest.approx(1.0, abs=1e-5)
        for label in LABELS:  # batching changes nothing
            assert together[label] == pytest.approx(alone[label], abs=1e-5)


def test_the_other_threshold_and_the_runner_up(classifier: CategoryClassifier) -> None:
    probs = classifier.probabilities([classifier.preprocess(photo("coffee"))])[0]
    ranked = sorted(probs, key=probs.__getitem__, reverse=True)
    accepted = decide(probs, min_confidence=0.0)
    if ranked[0] == OTHER:
        assert accepted.category == OTHER and accepted.reason.startswith("category other")
        assert accepted.runner_up == next(label for label in ranked if label != OTHER)
    else:
        assert (accepted.category, accepted.runner_up) == (ranked[0], ranked[1])
        assert accepted.confidence == probs[ranked[0]] and accepted.reason is None
    refused = decide(probs, min_confidence=1.0)  # nothing is ever that sure
    assert refused.category == OTHER and refused.reason


def test_decide_rules_on_chosen_numbers() -> None:
    probs = {"Animals": 0.05, "Faces": 0.30, "People": 0.35, "Objects": 0.1, "Scenery": 0.1,
             "other": 0.1}  # fmt: skip
    plain = decide(probs, min_confidence=0.3)
    assert (plain.category, plain.runner_up, plain.reason) == ("People", "Faces", None)
    unsure = decide(probs, min_confidence=0.5)
    assert unsure.category == OTHER and unsure.runner_up == "People"
    assert unsure.reason == "no confident category: People 0.35 under 0.50 (next Faces 0.30)"
    assert needs_faces(probs)
    big_face = decide(probs, min_confidence=0.5, faces=Faces(1, 0.2), face_min_area=0.03)
    assert big_face.category == "Faces" and big_face.confidence == pytest.approx(0.65)
    assert "Faces+People pooled" in big_face.detail
    small_face = decide(probs, min_confidence=0.5, faces=Faces(2, 0.01), face_min_area=0.03)
    assert small_face.category == "People" and small_face.runner_up == "Objects"
    scenery = {**probs, "Scenery": 0.9, "Faces": 0.02, "People": 0.03}
    assert not needs_faces(scenery)
    mostly_other = {label: 0.05 for label in LABELS} | {OTHER: 0.75}
    verdict = decide(mostly_other, min_confidence=0.5)
    assert verdict.category == OTHER and verdict.reason.startswith("category other")


def test_category_names_and_the_prompt_template() -> None:
    assert canonical_category(" faces ") == "Faces" and canonical_category("dogs") is None
    assert set(CATEGORIES) == {"Animals", "Faces", "People", "Objects", "Scenery"}
    assert render_prompt("{category}", category="Faces", title="x", series="y") == "Faces"
    assert (
        render_prompt("{category} in the style of {series}: {title}", category="Scenery",
                      title="Dawn 0", series="Ocean Dreams")
        == "Scenery in the style of Ocean Dreams: Dawn 0"
    )  # fmt: skip
    assert render_prompt("{category} {title}", category="Objects", title=None, series=None) == (
        "Objects"
    )
    for bad in ("{cat}", "{category.__class__}", "{category!r}", "{", " "):
        with pytest.raises(ValueError):
            check_prompt_template(bad)
