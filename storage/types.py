"""Column types SQLite does not get right by itself.

- `DecimalText`: money as exact decimal text (wei-safe); SQLite's NUMERIC would round via float.
- `UTCDateTime`: timestamps returned timezone-aware (UTC) on every engine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String
from sqlalchemy.types import DateTime, TypeDecorator

_MAX_STORED_EXPONENT = 200


class DecimalText(TypeDecorator[Decimal]):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal or str, never a float")
        amount = value if type(value) is Decimal else Decimal(value)  # Decimals are immutable
        # The last guard (storage/money.py bounds values on the way in): 1E+99999999 would
        # be written as a 100 MB string, NaN is no amount at all.
        if not amount.is_finite() or abs(amount.adjusted()) > _MAX_STORED_EXPONENT:
            raise ValueError(f"refusing to store {str(amount)[:40]!r} as money")
        return format(amount, "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python on every engine: PostgreSQL stores `timestamptz`; SQLite,
    which has no time zones, stores naive UTC text. Naive datetimes are refused on write."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
