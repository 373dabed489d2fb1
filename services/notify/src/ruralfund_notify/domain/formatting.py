"""How amounts, days and instants are written for Chinese readers (mails and pages)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ruralfund_common.calendar import COUNTY_TZ
from ruralfund_common.money import format_yuan

__all__ = ["cn_date", "cn_datetime", "rfc3339", "yuan"]


def yuan(amount_fen: int) -> str:
    """246900 → "2,469.00 元"."""
    return f"{format_yuan(amount_fen)} 元"


def cn_date(day: date) -> str:
    """date(2026, 3, 2) → "2026年3月2日" (an instant is first taken to the county's day)."""
    if isinstance(day, datetime):
        day = day.astimezone(COUNTY_TZ).date()
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(instant: datetime) -> str:
    """2026-03-02T02:00Z → "2026年3月2日 10:00" (Asia/Shanghai)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(COUNTY_TZ)
    return f"{cn_date(local.date())} {local:%H:%M}"


def rfc3339(instant: datetime) -> str:
    """2026-03-02T02:00:00Z: the timestamp form Atom (RFC 4287 §3.3) requires."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
