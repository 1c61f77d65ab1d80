"""The study's five categories and the words CLIP compares images with (no torch here, so the
commands that only name categories stay light)."""

from __future__ import annotations

CATEGORIES = ("Animals", "Faces", "People", "Objects", "Scenery")
OTHER = "other"
LABELS = (*CATEGORIES, OTHER)
HUMAN = ("Faces", "People")

# Prompt ensembles: each label's text embedding is the mean over descriptions x templates.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Animals": ("an animal", "a cat", "a dog", "a bird", "a horse", "a fish", "a wild animal",
                "an insect"),
    "Faces": ("a close-up portrait of a face", "a human face", "a headshot of a person",
              "a woman's face", "a man's face", "a face looking at the camera"),
    "People": ("people", "a person standing", "a group of people", "a full-length figure of a "
               "person", "a crowd of people", "a person walking"),
    "Objects": ("an object", "a still life", "a car", "a flower in a vase", "a bottle",
                "a piece of fruit", "a toy", "a shoe"),
    "Scenery": ("a landscape", "a seascape", "a cityscape", "mountains", "a forest",
                "a sunset over the sea", "a beach", "the night sky"),
    OTHER: ("abstract art", "a geometric pattern", "a page of text", "a logo", "a screenshot",
            "a meme with text", "random shapes and colours", "a blank image"),
}  # fmt: skip
TEMPLATES = ("a photo of {}.", "a painting of {}.", "digital art of {}.", "an illustration of {}.")


def canonical_category(text: str) -> str | None:
    """'faces' -> 'Faces'; None for anything that is not one of the five."""
    wanted = text.strip().lower()
    return next((name for name in CATEGORIES if name.lower() == wanted), None)
