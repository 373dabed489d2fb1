"""The publicity notice: drafted awaiting the calendar, then published with its window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from ruralfund_notify.domain.notices import (
    REVOCATION_NOTE_ZH,
    Notice,
    NoticeAlreadyPublished,
    NoticeStatus,
    PublicityPhase,
    Revocation,
    notice_url,
    publicity_ends_at,
)

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def draft(**overrides: object) -> Notice:
    values: dict[str, object] = {
        "id": "0195f000-0000-7000-8000-000000000001",
        "award_id": "award-1",
        "claim_id": "claim-1",
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "item_name": "“新平礼好”公共品牌升级打造",
        "credit_code": "91530427MA6K123456",
        "awardee_name": "新平礼好农业科技有限公司",
        "amount_fen": 246_900,  # 12,345 boxes x 0.20 yuan
        "approval_event_id": "evt-1",
    }
    values.update(overrides)
    return Notice(**values)  # type: ignore[arg-type]


def test_a_new_notice_awaits_the_calendar_without_dates() -> None:
    notice = draft()
    assert notice.status is NoticeStatus.AWAITING_CALENDAR
    assert (notice.published_at, notice.starts_on, notice.ends_on) == (None, None, None)
    assert not notice.is_published


def test_publishing_sets_instant_and_window() -> None:
    published = draft().publish(
        MONDAY_10_SHANGHAI,
        published_on=date(2026, 3, 2),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )
    assert published.status is NoticeStatus.PUBLISHED
    assert published.published_at == MONDAY_10_SHANGHAI
    assert (published.starts_on, published.ends_on) == (date(2026, 3, 2), date(2026, 3, 6))
    assert published.amount_fen == 246_900


def test_a_notice_is_published_once() -> None:
    published = draft().publish(
        MONDAY_10_SHANGHAI,
        published_on=date(2026, 3, 2),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )
    with pytest.raises(NoticeAlreadyPublished) as exc:
        published.publish(
            MONDAY_10_SHANGHAI,
            published_on=date(2026, 3, 2),
            starts_on=date(2026, 3, 2),
            ends_on=date(2026, 3, 6),
        )
    assert exc.value.code == "NOTICE_ALREADY_PUBLISHED"


def test_window_cannot_start_before_the_public_could_read_the_notice() -> None:
    with pytest.raises(ValueError, match="before publication"):
        draft().publish(
            MONDAY_10_SHANGHAI,
            published_on=date(2026, 3, 2),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 6),
        )


@pytest.mark.parametrize("amount_fen", [0, -1, True])
def test_amount_must_be_a_positive_number_of_fen(amount_fen: object) -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        draft(amount_fen=amount_fen)


def test_required_texts_must_not_be_blank() -> None:
    with pytest.raises(ValueError, match="awardee_name"):
        draft(awardee_name="  ")


def test_published_notice_without_window_is_refused() -> None:
    with pytest.raises(ValueError, match="published notice needs"):
        draft(status=NoticeStatus.PUBLISHED, published_at=MONDAY_10_SHANGHAI)


def test_awaiting_notice_with_dates_is_refused() -> None:
    with pytest.raises(ValueError, match="no publication date"):
        draft(starts_on=date(2026, 3, 2))


def test_naive_publication_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        draft().publish(
            datetime(2026, 3, 2, 10, 0),
            published_on=date(2026, 3, 2),
            starts_on=date(2026, 3, 2),
            ends_on=date(2026, 3, 6),
        )


@pytest.mark.parametrize(
    ("today", "phase"),
    [
        (date(2026, 2, 28), PublicityPhase.NOT_STARTED),
        (date(2026, 3, 2), PublicityPhase.OPEN),
        (date(2026, 3, 6), PublicityPhase.OPEN),
        (date(2026, 3, 7), PublicityPhase.ENDED),
    ],
)
def test_phase_follows_the_window_days(today: date, phase: PublicityPhase) -> None:
    published = draft().publish(
        MONDAY_10_SHANGHAI,
        published_on=date(2026, 3, 2),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )
    assert published.phase(today) is phase


def test_published_notice_round_trips_through_its_fields() -> None:
    published = draft().publish(
        MONDAY_10_SHANGHAI,
        published_on=date(2026, 3, 2),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )
    assert replace(published) == published  # invariants hold when rebuilt from storage


def test_notice_url_is_under_the_public_page() -> None:
    assert (
        notice_url("https://portal.example.cn/rf/", "n-1")
        == "https://portal.example.cn/rf/publicity/notices/n-1"
    )


def published_notice() -> Notice:
    return draft().publish(
        MONDAY_10_SHANGHAI,
        published_on=date(2026, 3, 2),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )


def test_a_revoked_award_shows_revoked_whatever_the_day() -> None:
    revoked = Revocation(
        award_id="award-1",
        code="OBJECTION_UPHELD",
        reason="异议人张某反映包装箱数量不实，经核查属实",
        revoked_at=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
    )
    for today in (date(2026, 3, 3), date(2026, 3, 9)):
        assert published_notice().phase(today, revoked) is PublicityPhase.REVOKED
    # the public reads a fixed text, never the staff's free-text reason (it may name people)
    assert revoked.public_note == REVOCATION_NOTE_ZH["OBJECTION_UPHELD"]
    assert "张某" not in revoked.public_note
    other = replace(revoked, code="CLAWBACK")
    assert other.public_note == "该项奖补已撤销，不予拨付。"


def test_objections_close_at_midnight_after_the_last_day_in_shanghai() -> None:
    closes = published_notice().objections_close_at
    assert closes == datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # 2026-03-07 00:00 +08:00
    assert publicity_ends_at(date(2026, 3, 6)) == closes
    with pytest.raises(ValueError, match="not published"):
        _ = draft().objections_close_at


def test_the_notice_number_is_short_and_read_back_as_typed():
    from ruralfund_notify.domain.notices import notice_number, parse_notice_number

    assert notice_number("xinping-2021", 13) == "XINPING-2021-0013"
    assert notice_number("ruyuan-2021-p2", 12345) == "RUYUAN-2021-P2-12345"
    for typed in ("XINPING-2021-0013", " xinping-2021-13 ", "Xinping-2021-000013"):
        assert parse_notice_number(typed) == ("xinping-2021", 13), typed
    assert parse_notice_number("RUYUAN-2021-P2-0001") == ("ruyuan-2021-p2", 1)
    for not_one in ("", "XINPING", "XINPING-2021-0000", "-0001", "XINPING 2021 0001", "01a24df1-b695"):
        assert parse_notice_number(not_one) is None, not_one
    with pytest.raises(ValueError):
        notice_number("xinping-2021", 0)
