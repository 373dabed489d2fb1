"""The Chinese texts of the mails added for issue 7, and the delivery-SLA summary's periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ruralfund_notify.domain.emails import (
    EmailErrorCode,
    EmailStatus,
    EmailTemplate,
    OutgoingEmail,
    RenderedEmail,
)
from ruralfund_notify.domain.rendering import (
    ClaimReceivedMail,
    ClaimReturnedMail,
    MilestoneMail,
    ObjectionReceivedMail,
    Sender,
    render_claim_received,
    render_claim_returned,
    render_milestone_overdue,
    render_objection_received,
    render_sla_breach_summary,
)
from ruralfund_notify.domain.sla import MAX_LISTED_PARCELS, SlaBreach, period_of, summarise

SENDER = Sender(office="新平县商务局", portal_name="县政府门户网站 电子商务进农村综合示范专栏")
PROGRAM = "新平县2021年电子商务进农村综合示范项目后续"
ITEM = "“新平礼好”公共品牌升级打造"
SUBMITTED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 Shanghai


def received(eligible: bool) -> ClaimReceivedMail:
    return ClaimReceivedMail(
        "新平礼好农业科技有限公司", "claim-1", PROGRAM, ITEM, "2026Q1", 246_900, eligible, SUBMITTED
    )


def test_claim_received_gives_the_rules_amount_or_says_it_falls_short() -> None:
    ok = render_claim_received(received(True), SENDER)
    assert ok.subject == f"【电子商务进农村综合示范】奖补申报已受理：{ITEM}"
    assert "于2026年3月2日 09:30提交" in ok.body
    assert "奖补金额为 2,469.00 元，最终以主管部门审核" in ok.body
    short = render_claim_received(received(False), SENDER)
    assert "暂未达到奖补条件" in short.body and "2,469.00" not in short.body


def test_claim_returned_quotes_what_is_missing() -> None:
    mail = ClaimReturnedMail(
        "新平礼好农业科技有限公司", "claim-1", PROGRAM, ITEM, "请补充出库单", SUBMITTED
    )
    out = render_claim_returned(mail, SENDER)
    assert out.subject == f"【电子商务进农村综合示范】奖补申报退回补充材料：{ITEM}"
    assert "需补充的材料：请补充出库单" in out.body and "于2026年3月2日审核" in out.body


def test_milestone_reminder_counts_days_and_notes_when_sent_via_the_bureau() -> None:
    mail = MilestoneMail(
        "新平县邮政分公司", PROGRAM, "县物流中心建成", date(2026, 2, 27), date(2026, 3, 2), False
    )
    out = render_milestone_overdue(mail, SENDER)
    assert out.subject == "【电子商务进农村综合示范】实施节点逾期提醒：县物流中心建成"
    assert out.body.startswith("新平县邮政分公司：\n")
    assert "已逾期 3 天" in out.body and "项目资金将予以追回" in out.body
    assert "请转告" not in out.body
    via_bureau = render_milestone_overdue(
        MilestoneMail(
            "新平县邮政分公司",
            PROGRAM,
            "县物流中心建成",
            date(2026, 2, 27),
            date(2026, 2, 26),
            True,
        ),
        SENDER,
    )
    assert "请转告" in via_bureau.body and "已逾期 0 天" in via_bureau.body


def test_objection_receipt_names_the_notice_as_the_public_saw_it() -> None:
    mail = ObjectionReceivedMail(
        objector_name="李四",
        objection_id="obj-1",
        notice_no="XINPING-2021-0013",
        program_name=PROGRAM,
        item_name=ITEM,
        awardee="张*三",
        amount_fen=246_900,
        filed_at=SUBMITTED,
        url="https://portal.example.cn/publicity/notices/n-1",
        phone="0877-1234567",
    )
    out = render_objection_received(mail, SENDER)
    assert out.subject == "【电子商务进农村综合示范】异议已受理（受理编号 obj-1）"
    for text in ("李四：", "公示编号：XINPING-2021-0013", "奖补对象：张*三", "奖补金额：2,469.00 元", "咨询电话：0877-1234567"):
        assert text in out.body, text


def breach(n: int, deadline: datetime, station: str | None = "st-1") -> SlaBreach:
    return SlaBreach(
        f"p-{n}",
        "530427",
        station,
        "town-1",
        deadline - timedelta(hours=24),
        deadline,
        deadline,
        None,
    )


@pytest.mark.parametrize(
    ("instant", "hours", "start_local"),
    [
        (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 24, "2026-03-02T00:00:00+08:00"),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), 24, "2026-03-02T00:00:00+08:00"),
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), 24, "2026-03-01T00:00:00+08:00"),
        (datetime(2026, 3, 2, 7, 0, tzinfo=UTC), 6, "2026-03-02T12:00:00+08:00"),
    ],
)
def test_periods_are_aligned_to_midnight_in_shanghai(
    instant: datetime, hours: int, start_local: str
) -> None:
    start, end = period_of(instant, hours)
    assert start.isoformat() == start_local and end - start == timedelta(hours=hours)


def test_a_period_must_divide_the_day() -> None:
    with pytest.raises(ValueError, match="one of"):
        period_of(datetime(2026, 3, 2, tzinfo=UTC), 5)


def test_summary_counts_everything_but_lists_a_readable_number() -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    many = [breach(n, start + timedelta(minutes=n), "st-1" if n % 3 else None) for n in range(60)]
    summary = summarise(many, 24)
    assert summary.total == 60 and len(summary.listed) == MAX_LISTED_PARCELS
    assert summary.unlisted == 10
    assert summary.by_station == [("st-1", 40), ("（未指定站点）", 20)]
    out = render_sla_breach_summary(summary, SENDER)
    assert "另有 10 件未逐一列出" in out.body and "1. 包裹 p-0" in out.body
    assert out.subject.endswith("2026年3月2日 00:00起共 60 件")


def test_a_mail_to_someone_without_an_address_is_failed_with_the_hint() -> None:
    mail = RenderedEmail("主题", "正文\n")
    failed = OutgoingEmail.queue_to(
        id="e-1",
        event_id="evt-1",
        template=EmailTemplate.SLA_BREACH_SUMMARY,
        address=None,
        name="新平县商务局",
        mail=mail,
        missing_hint="set RURALFUND_NOTIFY_BUREAU_EMAIL",
    )
    assert (failed.status, failed.error_code, failed.credit_code) == (
        EmailStatus.FAILED,
        EmailErrorCode.NO_RECIPIENT_EMAIL,
        None,
    )
    assert failed.last_error == (
        "NO_RECIPIENT_EMAIL: no e-mail address; set RURALFUND_NOTIFY_BUREAU_EMAIL"
    )
    pending = OutgoingEmail.queue_to(
        id="e-2",
        event_id="evt-1",
        template=EmailTemplate.SLA_BREACH_SUMMARY,
        address="shangwu@xinping.gov.cn",
        name=None,
        mail=mail,
        missing_hint="",
    )
    assert (pending.status, pending.to_address) == (EmailStatus.PENDING, "shangwu@xinping.gov.cn")
