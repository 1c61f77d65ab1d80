"""JSON from untrusted sources with a bounded nesting depth.

CPython's JSON parser recurses once per nesting level, guarded only by the interpreter's
recursion limit. A library the signing stack imports (`py_ecc`) raises that limit to 100 000,
and then ~400 KB of `[[[[…` overflows the C stack and kills the process (exit 139) instead of
raising. So the depth is measured first, in one linear pass that does not recurse (string
contents are skipped, brackets counted with C-level loops), and anything deeper than
`MAX_DEPTH` is refused before `json.loads` sees it.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # marketplace and IPFS answers nest < 15 levels; keystores 3

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# '[' and '{' become +1, ']' and '}' become -1 (0xFF read as a signed byte).
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class UnsafeJson(ValueError):
    """The document is not valid JSON or is nested too deeply; the message names its source."""

    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")


class JsonTooDeep(UnsafeJson):
    """Nested deeper than allowed: refused without parsing (the same bytes fail again)."""


def nesting_depth(data: bytes) -> int:
    """The deepest bracket nesting of a JSON text (UTF-8), without recursion.

    Brackets inside strings do not count. Linear in the size; tens of MB take well under a
    second because every step (regex, translate, accumulate, max) runs in C.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    steps = array("b", brackets.translate(_DEPTH_STEP))
    return max(0, max(accumulate(steps)))


def loads(data: bytes | str, *, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing documents nested deeper than `max_depth` levels.

    Raises JsonTooDeep, or UnsafeJson for invalid JSON (both ValueErrors naming `source`: a
    URL or a file).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    encoding = json.detect_encoding(raw)
    if encoding not in ("utf-8", "utf-8-sig"):  # UTF-16/32 JSON: scan its UTF-8 form
        try:
            raw = raw.decode(encoding).encode("utf-8", "surrogatepass")
        except UnicodeError as exc:
            raise UnsafeJson(source, f"not valid {encoding} JSON ({exc})") from None
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonTooDeep(
            source, f"JSON nested {depth} levels deep, more than the {max_depth} allowed"
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UnsafeJson(source, f"invalid JSON ({exc})") from None
