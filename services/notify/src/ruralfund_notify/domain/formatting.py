"""How amounts, days and instants are written for Chinese readers (mails and pages)."""

from __future__ import annotations

from datetime import UTC, datetime

from ruralfund_common.calendar import COUNTY_TZ, date_zh
from ruralfund_common.money import yuan_zh

__all__ = ["cn_date", "cn_datetime", "inner_quotes", "rfc3339", "yuan"]


# The shared Chinese forms under the names notify's templates and mails use.
yuan = yuan_zh  # 246900 → "2,469.00 元"
cn_date = date_zh  # date(2026, 3, 2) → "2026年3月2日"; an instant is the county's day


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


def inner_quotes(text: str) -> str:
    """Text about to be put inside “…”: its own double quotes become single ones, as Chinese
    nests them (“‘新平礼好’公共品牌升级打造”, not ““新平礼好”公共品牌升级打造”)."""
    return text.replace("“", "‘").replace("”", "’")
