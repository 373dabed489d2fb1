"""What people read (97,531.00 元, 2026年10月13日) and the session/CSRF rules of the console."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
from ruralfund_console.formatting import date_zh, status_zh, yuan_zh
from ruralfund_console.session import Session, SessionCodec, csrf_matches

SECRET = b"k" * 32


@pytest.mark.parametrize(("fen", "text"), [
    (97_531_00, "97,531.00 元"), (0, "0.00 元"), (5, "0.05 元"), (1_000_000_000_00, "1,000,000,000.00 元"),
    (-2_469_00, "-2,469.00 元"),
])
def test_money_reads_as_yuan_with_separators_and_two_decimals(fen: int, text: str) -> None:
    assert yuan_zh(fen) == text


def test_money_refuses_a_float() -> None:
    with pytest.raises(TypeError):
        yuan_zh(97531.0)  # type: ignore[arg-type]


def test_dates_read_in_chinese_on_the_county_calendar_day() -> None:
    assert date_zh(date(2026, 10, 13)) == "2026年10月13日"
    assert date_zh("2026-10-13") == "2026年10月13日"
    # 20:30 UTC on the 12th is already the 13th in the county (UTC+8)
    assert date_zh(datetime(2026, 10, 12, 20, 30, tzinfo=UTC)) == "2026年10月13日"
    assert date_zh("2026-10-12T15:59:59+00:00") == "2026年10月12日"
    assert date_zh(None) == ""


def test_statuses_read_in_chinese() -> None:
    assert status_zh("paid") == "已拨付" and status_zh("awaiting_approval") == "待签批"
    assert status_zh("submitted") == "已提交，待审核"


def test_a_session_round_trips_and_a_forged_or_expired_one_is_refused() -> None:
    codec = SessionCodec(SECRET)
    session = Session(token="t", name="赵", subject="u-zhao", roles=["leading_group"])
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    payload, mac = cookie.rsplit(".", 1)
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert codec.loads(f"{tampered}.{mac}") is None
    assert SessionCodec(b"x" * 32).loads(cookie) is None  # another secret
    assert codec.loads("garbage") is None and codec.loads(None) is None and codec.loads("a.b") is None
    expired = Session(token="t", expires_at=time.time() - 1)
    assert codec.loads(codec.dumps(expired)) is None


def test_a_short_session_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        SessionCodec(b"short")


def test_csrf_needs_the_sessions_own_token() -> None:
    session = Session()
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, Session().csrf)
    assert not csrf_matches(session, None) and not csrf_matches(session, "")
    assert not csrf_matches(None, session.csrf)
