"""Mail texts: the right Chinese text, amounts in yuan and the publicity dates."""

from __future__ import annotations

from datetime import date

import jinja2
import pytest
from ruralfund_notify.domain.rendering import (
    ApprovalMail,
    PaymentMail,
    PublicityDates,
    RejectionMail,
    Sender,
    jinja_environment,
    render_claim_approved,
    render_claim_rejected,
    render_payment_executed,
)

SENDER = Sender(
    office="新平县电子商务工作领导小组办公室",
    portal_name="县政府门户网站 电子商务进农村综合示范专栏",
)
WINDOW = PublicityDates(
    date(2026, 3, 2),
    date(2026, 3, 6),
    date(2026, 3, 7),
    "https://portal.example.cn/publicity/notices/n-1",
)


def approval(publicity: PublicityDates | None = WINDOW) -> ApprovalMail:
    return ApprovalMail(
        enterprise_name="新平礼好农业科技有限公司",
        claim_id="claim-1",
        program_name="新平县2021年电子商务进农村综合示范项目后续",
        item_name="“新平礼好”公共品牌升级打造",
        amount_fen=246_900,
        publicity=publicity,
    )


def test_approval_mail_gives_amount_window_payable_day_and_link() -> None:
    mail = render_claim_approved(approval(), SENDER)
    assert mail.subject == "【电子商务进农村综合示范】奖补申报审核通过：“新平礼好”公共品牌升级打造"
    assert mail.body.startswith("新平礼好农业科技有限公司：\n")
    assert "核定奖补金额 2,469.00 元" in mail.body
    assert "公示期：2026年3月2日至2026年3月6日" in mail.body
    assert "自2026年3月7日起" in mail.body
    assert "https://portal.example.cn/publicity/notices/n-1" in mail.body
    assert "县政府门户网站 电子商务进农村综合示范专栏公示 5 个工作日" in mail.body
    assert mail.body.rstrip().endswith("新平县电子商务工作领导小组办公室")


def test_approval_without_publicity_says_so_and_gives_no_dates() -> None:
    mail = render_claim_approved(approval(publicity=None), SENDER)
    assert "本项奖补无需公示" in mail.body
    assert "公示期：" not in mail.body


def test_rejection_mail_gives_the_reason() -> None:
    mail = render_claim_rejected(
        RejectionMail(
            enterprise_name="新平县某某商贸有限公司",
            claim_id="claim-2",
            program_name="新平县2021年电子商务进农村综合示范项目后续",
            item_name="企业销售奖励",
            reason="新开店铺连续经营不足3个月",
            rejected_on=date(2026, 3, 3),
        ),
        SENDER,
    )
    assert mail.subject == "【电子商务进农村综合示范】奖补申报未通过审核：企业销售奖励"
    assert "未通过原因：新开店铺连续经营不足3个月" in mail.body
    assert "于2026年3月3日审核，未予通过" in mail.body


def test_payment_mail_gives_amount_in_yuan_and_masks_the_account() -> None:
    mail = render_payment_executed(
        PaymentMail(
            payee_name="新平礼好农业科技有限公司",
            payment_id="pay-1",
            claim_id="claim-1",
            program_name="新平县2021年电子商务进农村综合示范项目后续",
            item_name="“新平礼好”公共品牌升级打造",
            amount_fen=246_900,
            paid_on=date(2026, 3, 9),
            bank_name="中国农业银行新平县支行",
            bank_account="6228480123456789012",
        ),
        SENDER,
    )
    assert mail.subject == "【电子商务进农村综合示范】奖补资金已拨付 2,469.00 元"
    assert "奖补资金 2,469.00 元，已于2026年3月9日由项目共管账户拨付" in mail.body
    assert "收款账号：***************9012" in mail.body
    assert "6228480123456789012" not in mail.body


def test_large_amounts_get_thousands_separators() -> None:
    mail = render_claim_approved(replace_amount(approval(), 10_000_000_00), SENDER)
    assert "10,000,000.00 元" in mail.body


def replace_amount(mail: ApprovalMail, amount_fen: int) -> ApprovalMail:
    from dataclasses import replace

    return replace(mail, amount_fen=amount_fen)


def test_a_missing_value_fails_instead_of_rendering_blank() -> None:
    template = jinja_environment(False).from_string("{{ mail.nope }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(mail=approval())


def test_html_environment_escapes_and_text_environment_does_not() -> None:
    assert jinja_environment(True).from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"
    assert jinja_environment(False).from_string("{{ v }}").render(v="<b>") == "<b>"


def test_an_item_name_with_its_own_quotes_nests_them_the_chinese_way() -> None:
    from ruralfund_notify.domain.formatting import inner_quotes

    assert inner_quotes("“新平礼好”公共品牌升级打造") == "‘新平礼好’公共品牌升级打造"
    assert inner_quotes("带货主播孵化培训") == "带货主播孵化培训"
