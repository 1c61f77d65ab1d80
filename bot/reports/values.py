"""How one cell value is written in each format. Decimals are written exactly (never in
exponent form, never through a float); ids are never shortened; JSON keeps lists as lists."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from bot.reports.model import Column


def text(value: Any, column: Column) -> str:
    """For tables and CSV: one exact string ('' for a missing value)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return cents(value) if column.kind == "usd" else decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.3f}" if column.kind == "seconds" else repr(value)
    if isinstance(value, list | tuple):
        return "; ".join(text(item, column) for item in value)
    return str(value)


def json_value(value: Any, column: Column | None = None) -> Any:
    if isinstance(value, Decimal):
        return cents(value) if column is not None and column.kind == "usd" else decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 3) if value == value and abs(value) != float("inf") else None
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def cents(value: Decimal) -> str:
    """A USD amount to the cent ('145.50')."""
    if not value.is_finite():
        return str(value)
    with localcontext() as exact:
        exact.prec = 200
        return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN), "f")


def decimal_text(value: Decimal) -> str:
    """Exact, without an exponent and without trailing zeros ('0.05', not '5E-2' or '0.050')."""
    if not value.is_finite():
        return str(value)
    with localcontext() as exact:
        exact.prec = 200  # normalize() rounds to the context's precision: make it lossless
        if value == value.to_integral_value():
            return format(value.quantize(Decimal(1)), "f")
        return format(value.normalize(), "f")


def duration(seconds: float | None) -> str:
    """3723.5 -> '1h 02m 04s' (tables only; CSV/JSON keep the seconds)."""
    if seconds is None or seconds != seconds:
        return ""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{secs}s"


def as_float(value: Any) -> float | None:
    """A finite float for charts, or None (missing, text, NaN, infinite)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None
