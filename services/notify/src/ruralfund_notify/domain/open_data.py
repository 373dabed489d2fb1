"""Open data (政务公开): every paid award, masked exactly like the publicity page.

A paid award is recorded from ``funds.evt.payment_executed.v1``. What the public gets is a
flat record with the awardee masked (natural persons), no bank account and no person who
signed the payment: only what 公示 already showed, plus the amount paid and the day.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ruralfund_common.money import format_yuan
from ruralfund_common.text import spreadsheet_safe

from .masking import public_awardee_name, public_credit_code, redact_text

__all__ = [
    "CSV_BOM",
    "CSV_HEADER_ZH",
    "FIELDS_ZH",
    "PaidAward",
    "PublicPaidAward",
    "csv_lines",
    "csv_safe",
]

# Excel, which most county staff and citizens open CSV with, reads a CSV without a BOM in
# the system code page (GBK on Chinese Windows) and garbles every Chinese character.
CSV_BOM: Final = "\ufeff"

# The JSON keys (stable, English) with what each means, in the order of the CSV columns.
FIELDS_ZH: Final = {
    "payment_id": "付款编号",
    "program_code": "示范项目代码",
    "program_name": "示范项目",
    "item_code": "建设内容代码",
    "item_name": "建设内容",
    "awardee": "奖补对象",
    "credit_code": "统一社会信用代码",
    "amount_yuan": "奖补金额（元）",
    "amount_fen": "奖补金额（分）",
    "paid_on": "拨付日期",
    "notice_url": "公示网址",
    "notice_no": "公示编号",
}
CSV_HEADER_ZH: Final = tuple(FIELDS_ZH.values())


@dataclass(frozen=True, slots=True)
class PaidAward:
    """A payment as notify stores it (unmasked: staff may need it)."""

    payment_id: str
    award_id: str
    claim_id: str
    program_code: str
    item_code: str
    credit_code: str
    payee_name: str
    amount_fen: int
    executed_at: datetime
    paid_on: date  # the county day of executed_at

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or self.amount_fen <= 0:
            raise ValueError(f"a paid amount is positive fen, got {self.amount_fen!r}")
        if self.executed_at.tzinfo is None:
            raise ValueError("executed_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class PublicPaidAward:
    payment_id: str
    program_code: str
    program_name: str
    item_code: str
    item_name: str
    awardee: str
    credit_code: str
    amount_yuan: str
    amount_fen: int
    paid_on: date
    notice_url: str | None
    notice_no: str | None = None  # 公示编号 (XINPING-2021-0013) of the award's notice

    @classmethod
    def of(
        cls,
        paid: PaidAward,
        *,
        program_name: str | None,
        item_name: str | None,
        notice_url: str | None,
        notice_no: str | None = None,
    ) -> PublicPaidAward:
        return cls(
            payment_id=paid.payment_id,
            program_code=paid.program_code,
            program_name=redact_text(program_name or paid.program_code),
            item_code=paid.item_code,
            item_name=redact_text(item_name or paid.item_code),
            awardee=public_awardee_name(paid.payee_name, paid.credit_code),
            credit_code=public_credit_code(paid.payee_name, paid.credit_code),
            amount_yuan=format_yuan(paid.amount_fen),
            amount_fen=paid.amount_fen,
            paid_on=paid.paid_on,
            notice_url=notice_url,
            notice_no=notice_no,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "payment_id": self.payment_id,
            "program_code": self.program_code,
            "program_name": self.program_name,
            "item_code": self.item_code,
            "item_name": self.item_name,
            "awardee": self.awardee,
            "credit_code": self.credit_code,
            "amount_yuan": self.amount_yuan,
            "amount_fen": self.amount_fen,
            "paid_on": self.paid_on.isoformat(),
            "notice_url": self.notice_url,
            "notice_no": self.notice_no,
        }

    def csv_row(self) -> list[str]:
        values = self.as_json()
        return [csv_safe("" if values[k] is None else str(values[k])) for k in FIELDS_ZH]


# A cell starting with "=", "+", "-", "@", a control or a full-width form is run as a formula by
# spreadsheet programs (CSV injection, OWASP); one helper for every export (ruralfund_common).
csv_safe = spreadsheet_safe


def csv_lines(rows: Iterable[list[str]]) -> str:
    """Rows as CSV text (RFC 4180: CRLF, quoted where needed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()
