"""Bounded money and counts: absurd values are refused as text, before any Decimal arithmetic
could take gigabytes or raise decimal.Overflow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage.money import MoneyError, parse_amount, parse_count


@pytest.mark.parametrize(
    "text,expected",
    [
        ("50", Decimal("50")), (" 0.05 ", Decimal("0.05")), ("1E+3", Decimal(1000)),
        ("1,000", Decimal(1000)), ("1_000", Decimal(1000)), ("1,234,567.5", Decimal("1234567.5")),
        (".5", Decimal("0.5")), ("0", Decimal(0)), ("0.00", Decimal("0.00")),
        ("123456789012345678901", Decimal("123456789012345678901")), (10**18, Decimal(10**18)),
        (Decimal("1.5"), Decimal("1.5")),
    ],
)  # fmt: skip
def test_amounts_that_are_read(text: object, expected: Decimal) -> None:
    assert parse_amount(text, "price") == expected


@pytest.mark.parametrize(
    "value,reason",
    [
        ("1E+99999999", "exponent out of range"), ("1E+999999999", "exponent out of range"),
        ("1e79", "out of range"), ("1e-61", "out of range"), ("9" * 101, "significant digits"),
        ("1" * 201, "too many"), ("NaN", "not a finite number"), ("-Infinity", "not a finite"),
        ("sNaN", "not a finite number"), ("-0", "must not be negative"),
        ("-1", "must not be negative"), ("1,5", "must group thousands"),
        ("1,00", "must group thousands"), ("1,000_000", "must group thousands"),
        ("1.2.3", "not a number"), ("", "is empty"), ("abc", "not a number"),
        (1.5, "decimal number"), (True, "decimal number"), (None, "decimal number"),
        (2**400, "out of range"), (Decimal("NaN"), "not a finite number"),
    ],
)  # fmt: skip
def test_amounts_that_are_refused(value: object, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason) as caught:
        parse_amount(value, "price")
    assert str(caught.value).startswith("price")


def test_zero_can_be_refused_and_negative_allowed() -> None:
    with pytest.raises(MoneyError, match="more than zero"):
        parse_amount("0", "quantity", zero=False)
    assert parse_amount("-2.5", "delta", negative=True) == Decimal("-2.5")


def test_absurd_values_are_refused_before_any_arithmetic() -> None:
    # Each would take gigabytes or raise decimal.Overflow once used; here they never are.
    for text in ("1E+999999999", "1E+99999999", "9" * 5000 + "E+99999999"):
        with pytest.raises(MoneyError):
            parse_amount(text, "price")


@pytest.mark.parametrize(
    "text,expected", [("42", 42), ("1,000", 1000), ("1_000", 1000), (" 7 ", 7), (0, 0)]
)
def test_counts_that_are_read(text: object, expected: int) -> None:
    assert parse_count(text, "likes") == expected


@pytest.mark.parametrize(
    "value,reason",
    [("-5", "must not be negative"), ("-0", "must not be negative"),
     (str(2**63), "is more than"), ("1.5", "not a whole number"), ("1e3", "not a whole number"),
     ("1,00", "group thousands"), (-1, "must not be negative"), (2**64, "is more than")],
)  # fmt: skip
def test_counts_that_are_refused(value: object, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason):
        parse_count(value, "likes")
