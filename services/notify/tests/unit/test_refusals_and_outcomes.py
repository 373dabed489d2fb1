"""Issue 16: the mails an enterprise and an objector read (Chinese, with the figures), and the
notice's own publicity length."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_notify.domain.notices import (
    Notice,
    publicity_period_zh,
    revocation_of_refused_reservation,
)
from ruralfund_notify.domain.rendering import (
    BankAccountChangedMail,
    ObjectionResolvedMail,
    ReservationRefusedMail,
    Sender,
    render_bank_account_changed,
    render_objection_resolved,
    render_reservation_refused,
)

SENDER = Sender(office="新平县商务局", portal_name="新平县人民政府门户网站")
AT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def refusal(code: str = "ITEM_BUDGET_EXCEEDED", available_fen: int | None = 9_753_100) -> ReservationRefusedMail:
    return ReservationRefusedMail(
        enterprise_name="新平礼好包装有限公司", claim_id="c-2", program_name="新平县2021年示范项目",
        item_name="公共品牌升级打造", amount_fen=10_000_000, available_fen=available_fen, code=code,
        refused_on=date(2026, 3, 2))


def test_a_budget_refusal_says_so_in_chinese_with_the_figures() -> None:
    mail = render_reservation_refused(refusal(), SENDER)
    assert mail.subject == "【电子商务进农村综合示范】奖补资金未能安排：公共品牌升级打造"
    for text in ("核定奖补金额：100,000.00 元", "该项目剩余预算：97,531.00 元", "预算缺口：2,469.00 元",
                 "剩余预算不足", "2026年3月2日", "不予公示"):
        assert text in mail.body, text
    assert "ITEM_BUDGET_EXCEEDED" not in mail.body and "budget:" not in mail.body


def test_a_refusal_without_budget_figures_names_its_reason_only() -> None:
    mail = render_reservation_refused(refusal("ITEM_NOT_FOUND", None), SENDER)
    assert "示范项目中没有该建设内容" in mail.body and "剩余预算：" not in mail.body


@pytest.mark.parametrize("upheld,text", [(True, "处理结果：异议成立。该项奖补将予撤销"),
                                         (False, "处理结果：异议不成立。")])
def test_the_objector_reads_the_outcome(upheld: bool, text: str) -> None:
    mail = render_objection_resolved(ObjectionResolvedMail(
        objector_name="李四", objection_id="o-1", notice_no="XINPING-2021-0013",
        program_name="新平县2021年示范项目",
        item_name="公共品牌升级打造", awardee="新平礼好包装有限公司", amount_fen=246_900, filed_at=AT,
        resolved_at=AT, upheld=upheld, reason="经核查属实", url="https://x/publicity/notices/n-1"), SENDER)
    assert text in mail.body and "奖补金额：2,469.00 元" in mail.body and "经核查属实" in mail.body
    assert "公示编号：XINPING-2021-0013" in mail.body  # the short number the public page shows, not an id


def test_the_bank_change_warning_masks_both_accounts() -> None:
    mail = render_bank_account_changed(BankAccountChangedMail(
        enterprise_name="新平礼好包装有限公司", credit_code="91530427MA6K0B0Q1Y", contact_name="李经理",
        previous_bank_name="中国农业银行新平县支行", previous_account_no="6228480000000000001",
        bank_name="中国建设银行新平支行", account_no="6217000000000000002", changed_at=AT), SENDER)
    assert mail.body.startswith("李经理：")
    assert "6228480000000000001" not in mail.body and "6217000000000000002" not in mail.body
    assert "0001" in mail.body and "0002" in mail.body and "2026年3月2日 11:00" in mail.body


def test_a_refused_reservation_withdraws_a_notice_in_public_words() -> None:
    r = revocation_of_refused_reservation("award-1", "ITEM_BUDGET_EXCEEDED", AT)
    assert r.code == "RESERVATION_REFUSED" and "撤回" in r.public_note and "不予拨付" in r.public_note


def test_a_notice_states_its_working_days_within_the_programs_bounds() -> None:
    base = {"id": "n-1", "award_id": "a-1", "claim_id": "c-1", "program_code": "xinping-2021",
            "item_code": "bp", "item_name": "公共品牌升级打造", "credit_code": "91530427MA6K0B0Q1Y",
            "awardee_name": "新平礼好", "amount_fen": 246_900, "approval_event_id": "e-1"}
    assert Notice(**base).working_days == 5 and Notice(**base, working_days=7).working_days == 7
    for bad in (0, 31, True):
        with pytest.raises(ValueError):
            Notice(**base, working_days=bad)


def test_the_replaced_address_is_the_deliverable_one_on_record_only() -> None:
    from ruralfund_notify.domain.contacts import Contact, replaced_address

    def contact(email: str | None) -> Contact:
        return Contact("91530427MA6K0B0Q1Y", "新平礼好", "enterprise", "530427", "李经理", email)

    assert replaced_address(contact("li@a.cn"), contact("zhang@b.cn")) == "li@a.cn"
    assert replaced_address(contact("li@a.cn"), contact(None)) == "li@a.cn"  # removing it counts too
    assert replaced_address(contact("li@a.cn"), contact("LI@a.cn")) is None
    assert replaced_address(None, contact("zhang@b.cn")) is None  # a first registration
    assert replaced_address(contact("not-an-address"), contact("zhang@b.cn")) is None


def test_the_list_page_states_each_listed_programs_working_days() -> None:
    assert publicity_period_zh([("新平县项目", 7), ("新平县项目", 7)]) == "公示期为 7 个工作日"
    assert publicity_period_zh([("新平县项目", 5), ("乳源县项目", 7)]) == (
        "公示期按各项目实施方案确定：新平县项目 5 个工作日；乳源县项目 7 个工作日")
    assert publicity_period_zh([]) == "公示期按各项目实施方案确定"
