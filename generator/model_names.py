"""The model label recorded on every frame, read back without importing torch.

A frame's `model` is `<vqgan name>+<clip name>`, optionally followed by a note in brackets,
e.g. `vqgan_wikiart_16384+clip_vit_b32` or
`smoke_vqgan_tiny+smoke_clip_tiny (untrained smoke test)`. The tiny random-weight models of
`generator.tiny` are named with `SMOKE_TEST_PREFIX`, so any frame they made can be recognised
from its label alone (the pin and publish guards refuse such frames outside dry-run).
"""

from __future__ import annotations

from dataclasses import dataclass

SMOKE_TEST_PREFIX = "smoke_"


@dataclass(frozen=True)
class ModelLabel:
    vqgan: str | None
    clip: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name in (self.vqgan, self.clip) if name)


def parse_model_label(label: str | None) -> ModelLabel:
    """`vqgan+clip (note)` -> its two weight names (either may be missing)."""
    words = (label or "").strip().split()
    if not words:
        return ModelLabel(None, None)
    vqgan, _, clip = words[0].partition("+")
    return ModelLabel(vqgan or None, clip or None)


def is_smoke_test_name(name: str | None) -> bool:
    return bool(name) and str(name).startswith(SMOKE_TEST_PREFIX)


def is_smoke_test_model(label: str | None) -> bool:
    """True when any model named in the label is a tiny untrained smoke-test model."""
    return any(is_smoke_test_name(name) for name in parse_model_label(label).names)
