"""Bounded parsing of money and counts from files and APIs we do not control.

`Decimal("1E+99999999")` is a 12-character value that becomes a 100 MB string when written as
plain decimal text, and `1E+999999999` takes gigabytes or raises `decimal.Overflow` in the
first arithmetic. So every price, royalty, bid, sale amount and count that enters the store is
checked *as text* first: at most `MAX_TEXT` characters, an exponent of at most four digits,
at most `MAX_DIGITS` significant digits, and a magnitude between 10^`MIN_EXPONENT` and
10^`MAX_EXPONENT` (uint256, the largest on-chain amount, is below 10^78). Only then is the
Decimal made. NaN and Infinity are refused, and so is any sign (`-0` included) where the
amount must not be negative.

Digit grouping: `1,000` and `1_000` are read alike, as 1000, when the separator groups the
integer part in threes (`1,234,567.5`, `1_000_000`); one kind of separator per number.
Anything else with a comma (`1,5`, `1,00`) is refused rather than guessed: a decimal comma
and a thousands separator look the same, and a wrong guess changes a price by 1000x.

Every refusal is a `MoneyError` (a ValueError) whose message names the field and the value.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_TEXT = 200
MAX_DIGITS = 100
MAX_EXPONENT = 78
MIN_EXPONENT = -60
MAX_COUNT = 2**63 - 1  # a SQLite INTEGER

_NUMBER = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9][0-9,_]*)?(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?"
)
_GROUPED = re.compile(r"[0-9]{1,3}(?:([,_])[0-9]{3})(?:\1[0-9]{3})*")
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}
# The common case, decided without the general checks: plain digits with an optional point.
_SIMPLE = re.compile(r"[0-9]{1,40}(?:\.[0-9]{0,40})?")


class MoneyError(ValueError):
    """A value that is not a bounded, finite amount or count; the message names the field."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:30] + "…" + text[-6:]


def parse_amount(
    value: Any,
    what: str,
    *,
    negative: bool = False,
    zero: bool = True,
    min_exponent: int = MIN_EXPONENT,
    max_exponent: int = MAX_EXPONENT,
) -> Decimal:
    """A finite Decimal from text, an int or a Decimal (never a float: it has lost digits).

    `negative=False` refuses any sign, `-0` included; `zero=False` refuses zero. The magnitude
    of a non-zero value must lie in [10^min_exponent, 10^(max_exponent + 1)).
    """
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise MoneyError(f"{what} must be a decimal number, got {_shown(value)}")
    if isinstance(value, str):
        text = value.strip()
        if _SIMPLE.fullmatch(text):  # the common case; the pattern bounds its length
            simple = Decimal(text)
            if simple.is_zero() and not zero:
                raise MoneyError(f"{what} {_shown(value)} must be more than zero")
            if simple.is_zero() or min_exponent <= simple.adjusted() <= max_exponent:
                return simple
    elif isinstance(value, Decimal):
        text = str(value) if value.is_finite() else "nan"
    elif isinstance(value, int):
        if abs(value).bit_length() > 300:  # far beyond 10^78; str() of it is already costly
            raise MoneyError(f"{what} is out of range ({value.bit_length()}-bit integer)")
        text = str(value)
    else:
        raise MoneyError(f"{what} must be a decimal number, got {type(value).__name__}")
    if not text:
        raise MoneyError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise MoneyError(f"{what} has {len(text)} characters, too many for an amount")
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise MoneyError(f"{what} {_shown(value)} is not a finite number")
    match = _NUMBER.fullmatch(text)
    if match is None or (match["int"] is None and not match["frac"]):
        raise MoneyError(f"{what} {_shown(value)} is not a number")
    integer = match["int"] or ""
    if "," in integer or "_" in integer:
        if not _GROUPED.fullmatch(integer):
            raise MoneyError(
                f"{what} {_shown(value)} is not a number (a ',' or '_' must group thousands, "
                "as in 1,000 or 1_000; decimals take a '.')"
            )
        integer = integer.replace(",", "").replace("_", "")
    exponent_text = match["exp"] or "0"
    if len(exponent_text.lstrip("+-")) > 4:
        raise MoneyError(f"{what} {_shown(value)} has an exponent out of range")
    fraction = match["frac"] or ""
    significant = (integer + fraction).lstrip("0")
    if len(significant.rstrip("0")) > MAX_DIGITS:
        raise MoneyError(f"{what} {_shown(value)} has more than {MAX_DIGITS} significant digits")
    point = f".{fraction}" if match["frac"] is not None else ""
    exponent = f"E{exponent_text}" if match["exp"] is not None else ""
    try:
        amount = Decimal(f"{match['sign']}{integer or '0'}{point}{exponent}")
    except InvalidOperation:  # not reachable after the checks above; kept as a guard
        raise MoneyError(f"{what} {_shown(value)} is not a number") from None
    if amount.is_signed() and not negative:
        raise MoneyError(f"{what} {_shown(value)} must not be negative")
    if amount.is_zero():
        if not zero:
            raise MoneyError(f"{what} {_shown(value)} must be more than zero")
        return amount if negative else amount.copy_abs()
    if not min_exponent <= amount.adjusted() <= max_exponent:
        raise MoneyError(
            f"{what} {_shown(value)} is out of range (10^{min_exponent} to 10^{max_exponent + 1})"
        )
    return amount


def parse_count(value: Any, what: str, *, maximum: int = MAX_COUNT) -> int:
    """A non-negative whole number (likes, tokens), at most `maximum`; groups as above."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise MoneyError(f"{what} must be a whole number, got {_shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)  # the common case: plain digits, far below the maximum
    else:
        text = str(value).strip()
        if not text:
            raise MoneyError(f"{what} is empty")
        if len(text) > 40 or not re.fullmatch(r"[+-]?[0-9][0-9,_]*", text):
            raise MoneyError(f"{what} {_shown(value)} is not a whole number")
        digits = text.lstrip("+-")
        if ("," in digits or "_" in digits) and not _GROUPED.fullmatch(digits):
            raise MoneyError(
                f"{what} {_shown(value)} is not a whole number (a ',' or '_' must group "
                "thousands, as in 1,000)"
            )
        number = int(text.replace(",", "").replace("_", ""))
        if text.startswith("-") and number == 0:
            raise MoneyError(f"{what} {_shown(value)} must not be negative")
    if number < 0:
        raise MoneyError(f"{what} {_shown(value)} must not be negative")
    if number > maximum:
        raise MoneyError(f"{what} {_shown(value)} is more than {maximum}")
    return number
