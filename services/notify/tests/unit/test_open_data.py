"""Open data of paid awards: masked like the publicity page, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from ruralfund_notify.domain.formatting import rfc3339
from ruralfund_notify.domain.masking import public_credit_code
from ruralfund_notify.domain.open_data import (
    CSV_HEADER_ZH,
    FIELDS_ZH,
    PaidAward,
    PublicPaidAward,
    csv_lines,
    csv_safe,
)

COMPANY_CODE = "91530427MA6K123456"
INDIVIDUAL_CODE = "92530427MA6K654321"


def paid(name: str = "新平礼好农业科技有限公司", code: str = COMPANY_CODE) -> PaidAward:
    return PaidAward(
        payment_id="pay-1",
        award_id="award-1",
        claim_id="claim-1",
        program_code="xinping-2021",
        item_code="brand-packaging",
        credit_code=code,
        payee_name=name,
        amount_fen=246_900,  # 12,345 boxes x 0.20 yuan
        executed_at=datetime(2026, 3, 9, 2, 0, tzinfo=UTC),
        paid_on=date(2026, 3, 9),
    )


def public(p: PaidAward) -> PublicPaidAward:
    return PublicPaidAward.of(
        p,
        program_name="新平县2021年电子商务进农村综合示范项目后续",
        item_name="“新平礼好”公共品牌升级打造",
        notice_url="https://portal.example.cn/publicity/notices/n-1",
    )


def test_a_company_is_published_in_full_with_its_credit_code() -> None:
    row = public(paid()).as_json()
    assert row == {
        "payment_id": "pay-1",
        "program_code": "xinping-2021",
        "program_name": "新平县2021年电子商务进农村综合示范项目后续",
        "item_code": "brand-packaging",
        "item_name": "“新平礼好”公共品牌升级打造",
        "awardee": "新平礼好农业科技有限公司",
        "credit_code": COMPANY_CODE,
        "amount_yuan": "2,469.00",
        "amount_fen": 246_900,
        "paid_on": "2026-03-09",
        "notice_url": "https://portal.example.cn/publicity/notices/n-1",
        "notice_no": None,
    }
    assert list(row) == list(FIELDS_ZH)  # JSON keys and CSV columns in one order


def test_an_individual_is_masked_name_and_code() -> None:
    row = public(paid("张小三", INDIVIDUAL_CODE)).as_json()
    assert row["awardee"] == "张*三"
    assert row["credit_code"] == "**************4321"
    assert public_credit_code("新平县张三商店", INDIVIDUAL_CODE) == INDIVIDUAL_CODE


def test_numbers_hidden_in_names_are_masked_and_no_bank_account_is_exported() -> None:
    row = public(paid("新平礼好农业科技有限公司（联系电话13812345678）")).as_json()
    assert "13812345678" not in str(row) and "*******5678" in row["awardee"]
    assert not any("account" in key or "bank" in key for key in row)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+86 138", "'+86 138"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("＝1+1", "'＝1+1"),  # full-width, as a Chinese input method types it
        ("\n=1", "'\n=1"),
        ("新平礼好", "新平礼好"),
        ("2,469.00", "2,469.00"),
    ],
)
def test_cells_a_spreadsheet_would_execute_are_made_text(cell: str, safe: str) -> None:
    assert csv_safe(cell) == safe


def test_csv_rows_quote_commas_and_read_back() -> None:
    text = csv_lines([list(CSV_HEADER_ZH), public(paid("=cmd|' /C calc'!A0")).csv_row()])
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[0] == "付款编号" and header[7] == "奖补金额（元）"
    assert row[7] == "2,469.00" and row[8] == "246900"
    assert row[5].startswith("'=")
    assert text.endswith("\r\n")


def test_paid_amount_must_be_positive_fen_and_instant_aware() -> None:
    with pytest.raises(ValueError, match="positive fen"):
        replace(paid(), amount_fen=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(paid(), executed_at=datetime(2026, 3, 9, 10, 0))


def test_atom_timestamps_are_utc_rfc3339() -> None:
    assert rfc3339(datetime(2026, 3, 2, 10, 0, 30, 123, tzinfo=UTC)) == "2026-03-02T10:00:30Z"
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 3, 2))
