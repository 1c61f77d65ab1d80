"""Text from outside (settings, files, APIs) made safe to show on one terminal line."""

from __future__ import annotations

import unicodedata


def printable(text: str, *, limit: int | None = None) -> str:
    """Control and invisible formatting characters (escape codes, newlines, bidi overrides)
    become visible escapes such as \\x1b; longer than `limit` characters is cut with '…'."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf")
        else ch
        for ch in text
    )
