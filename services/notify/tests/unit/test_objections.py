"""Objections: the form's fields and limits, the window by the county's clock, the outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ruralfund_common.errors import InvalidInput
from ruralfund_notify.domain.notices import Notice, Revocation
from ruralfund_notify.domain.objections import (
    MAX_REASON_CHARS,
    NoticeRevoked,
    Objection,
    ObjectionAlreadyResolved,
    ObjectionInvalid,
    ObjectionOutcome,
    ObjectionStatus,
    ObjectionWindowClosed,
    check_objection_window,
    mask_email,
    parse_objection_form,
)

OFFICE = "县电子商务进农村综合示范工作领导小组办公室（县商务局）"
REASON = "该企业实际使用带标识包装箱不足1万个，申报数量不实。"
# Last day 2026-03-06: objections close at 2026-03-07 00:00 Asia/Shanghai = 03-06 16:00 UTC.
CLOSES = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)


def notice() -> Notice:
    return Notice(
        id="0195f000-0000-7000-8000-000000000001",
        award_id="award-1",
        claim_id="claim-1",
        program_code="xinping-2021",
        item_code="brand-packaging",
        item_name="“新平礼好”公共品牌升级打造",
        credit_code="91530427MA6K123456",
        awardee_name="新平礼好农业科技有限公司",
        amount_fen=246_900,
        approval_event_id="evt-1",
    ).publish(
        datetime(2026, 2, 28, 2, 0, tzinfo=UTC),  # a Saturday: day 1 is Monday 03-02
        published_on=date(2026, 2, 28),
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 6),
    )


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 2, 28, 3, 0, tzinfo=UTC),  # published, before day 1: accepted
        datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        CLOSES - timedelta(seconds=1),  # 23:59:59 on the last day
    ],
)
def test_objections_are_accepted_from_publication_to_the_end_of_the_last_day(
    now: datetime,
) -> None:
    check_objection_window(notice(), None, now, OFFICE)


@pytest.mark.parametrize("now", [CLOSES, CLOSES + timedelta(days=3)])
def test_after_the_window_an_objection_is_refused_in_chinese(now: datetime) -> None:
    with pytest.raises(ObjectionWindowClosed) as refused:
        check_objection_window(notice(), None, now, OFFICE)
    assert refused.value.code == "OBJECTION_WINDOW_CLOSED" and refused.value.status == 409
    assert refused.value.message_zh == (
        "该公示的公示期已于2026年3月6日24时结束，按规定不再受理异议。"
        f"如有其他问题，请与{OFFICE}联系。"
    )


def test_a_revoked_award_takes_no_more_objections() -> None:
    revoked = Revocation("award-1", "OBJECTION_UPHELD", "属实", CLOSES - timedelta(days=2))
    with pytest.raises(NoticeRevoked, match="revoked"):
        check_objection_window(notice(), revoked, CLOSES - timedelta(days=1), OFFICE)


def test_a_form_is_cleaned_and_an_email_contact_doubles_as_the_receipt_address() -> None:
    form = parse_objection_form(" 李四 ", "li.si@example.cn", "", f"  {REASON}\r\n第二行\x1b[31m ")
    assert (form.name, form.contact, form.email) == ("李四", "li.si@example.cn", "li.si@example.cn")
    assert form.reason == f"{REASON}\n第二行[31m"  # control characters dropped, lines kept
    phone = parse_objection_form("李四", "0877-1234567", "", REASON)
    assert (phone.contact, phone.email) == ("0877-1234567", None)


def test_every_mistake_is_named_in_chinese_at_once() -> None:
    with pytest.raises(ObjectionInvalid) as invalid:
        parse_objection_form("", "not a contact", "bad@", "太短")
    errors = invalid.value.errors_zh
    assert set(errors) == {"name", "contact", "email", "reason"}
    assert "匿名" in errors["name"] and "至少 10 个字" in errors["reason"]
    assert invalid.value.code == "OBJECTION_INVALID" and invalid.value.status == 422


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("name", ("张" * 51, "13812345678", "", REASON)),
        ("contact", ("张三", "1" * 101, "", REASON)),
        ("reason", ("张三", "13812345678", "", "理" * (MAX_REASON_CHARS + 1))),
    ],
)
def test_size_limits(field: str, values: tuple[str, str, str, str]) -> None:
    with pytest.raises(ObjectionInvalid) as invalid:
        parse_objection_form(*values)
    assert list(invalid.value.errors_zh) == [field]


@pytest.mark.parametrize("char", ["\r\n", "\n", "\r", "\x00", "\x1b", "\x85", "\u2028", "\u202e"])
@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("name", ("李{}四", "13812345678", "", REASON)),
        ("contact", ("李四", "138{}12345678", "", REASON)),
        ("email", ("李四", "13812345678", "li{}si@example.cn", REASON)),
    ],
)
def test_line_breaks_and_controls_in_name_or_contacts_are_refused_not_dropped(
    char: str, field: str, values: tuple[str, str, str, str]
) -> None:
    """"李\r\nBcc: x" silently became "李Bcc: x" before: now the person is told to fix it."""
    with pytest.raises(ObjectionInvalid) as invalid:
        parse_objection_form(*(v.replace("{}", char) for v in values))
    assert list(invalid.value.errors_zh) == [field] and invalid.value.field == field
    assert "换行符或其他控制字符" in invalid.value.errors_zh[field]


def filed() -> Objection:
    form = parse_objection_form("李四", "13812345678", "", REASON)
    return Objection.file(
        id="obj-1",
        notice=notice(),
        form=form,
        client_ip="203.0.113.7",
        form_nonce="n" * 24,
        at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
    )


def test_an_outcome_is_recorded_once_with_its_reason() -> None:
    at = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    upheld = filed().resolve(ObjectionOutcome.UPHELD, " 经核查属实 ", by="u-admin", at=at)
    assert (upheld.status, upheld.resolution_reason, upheld.resolved_by, upheld.resolved_at) == (
        ObjectionStatus.UPHELD,
        "经核查属实",
        "u-admin",
        at,
    )
    assert (upheld.award_id, upheld.notice_id) == ("award-1", notice().id)
    with pytest.raises(ObjectionAlreadyResolved):
        upheld.resolve(ObjectionOutcome.DISMISSED, "改判", by="u-admin", at=at)
    with pytest.raises(InvalidInput):
        filed().resolve(ObjectionOutcome.DISMISSED, "   ", by="u-admin", at=at)


def test_email_shown_back_to_the_objector_is_masked() -> None:
    assert mask_email("wang.xiaoming@example.cn") == "w***@example.cn"
