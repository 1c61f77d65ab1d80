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
