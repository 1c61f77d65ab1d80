"""Text prompts with weights and stops, as the reference parses them (`text:weight:stop`)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    text: str
    weight: float = 1.0
    stop: float = -math.inf


def parse_prompt(spec: str) -> Prompt:
    """`"a cat:1.5:0.2"` -> Prompt("a cat", 1.5, 0.2); missing parts take the defaults.

    Only trailing numeric fields are split off, so a category such as "Series: Dreams" stays
    one text (the reference's plain rsplit would break it).
    """
    parts = spec.rsplit(":", 2)
    numbers: list[float] = []
    while len(parts) > 1:
        try:
            numbers.insert(0, float(parts[-1]))
        except ValueError:
            break
        parts.pop()
    text = ":".join(parts).strip()
    if not text:
        raise ValueError(f"prompt {spec!r} has no text")
    weight = numbers[0] if numbers else 1.0
    stop = numbers[1] if len(numbers) > 1 else -math.inf
    return Prompt(text, weight, stop)


def parse_prompts(spec: str) -> list[Prompt]:
    """`|`-separated prompts, e.g. "oil painting|blurry:-0.5"."""
    return [parse_prompt(part) for part in spec.split("|") if part.strip()]


PROMPT_FIELDS = ("category", "title", "series")


def check_prompt_template(template: str) -> str:
    """The template if it only uses {category}, {title} and {series}; ValueError otherwise."""
    import string

    if not template.strip():
        raise ValueError("the prompt template is empty")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        hint = "write {{ and }} for literal braces"
        raise ValueError(f"prompt template {template!r}: {exc} ({hint})") from None
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if name in PROMPT_FIELDS and (spec or conversion):
            raise ValueError(f"prompt template {template!r}: write {{{name}}} plainly")
        if name not in PROMPT_FIELDS:
            raise ValueError(
                f"prompt template {template!r}: {{{name}}} is not one of "
                + ", ".join(f"{{{f}}}" for f in PROMPT_FIELDS)
            )
    return template


def render_prompt(template: str, *, category: str, title: str | None, series: str | None) -> str:
    """The generation prompt: the template with the artwork's category, the listing's own
    title (name) and its series title; spaces collapsed. ValueError when it comes out empty."""
    check_prompt_template(template)
    text = template.format(category=category, title=title or "", series=series or "")
    text = " ".join(text.split())
    if not text:
        raise ValueError(f"prompt template {template!r} gives an empty prompt")
    return text
