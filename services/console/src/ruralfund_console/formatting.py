"""How people read figures and dates on the console: 97,531.00 元 and 2026年10月13日."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from ruralfund_common.calendar import local_date
from ruralfund_common.money import format_yuan

__all__ = ["CLAIM_STATUS_ZH", "PAYMENT_STATUS_ZH", "ROLE_ZH", "date_zh", "status_zh", "yuan_zh"]

CLAIM_STATUS_ZH: Final = {
    "submitted": "已提交，待审核", "returned": "已退回，待补正", "awaiting_decision": "待领导小组决定",
    "approved": "已批准", "rejected": "未批准", "withdrawn": "已撤回", "reserved": "资金已预留",
    "reservation_refused": "资金预留被拒", "in_publicity": "公示中", "paid": "已拨付", "revoked": "已撤销",
}
PAYMENT_STATUS_ZH: Final = {"awaiting_approval": "待签批", "executed": "已执行", "cancelled": "已取消"}
ROLE_ZH: Final = {
    "enterprise": "企业", "bureau_admin": "商务局", "leading_group": "领导小组成员",
    "contractor_signatory": "承办方签字人", "finance_bureau": "财政局", "auditor": "审计", "system": "系统",
}


def yuan_zh(fen: int) -> str:
    """Integer fen as people read money: ``9753100`` → ``97,531.00 元``."""
    return f"{format_yuan(fen)} 元"


def date_zh(value: date | datetime | str | None) -> str:
    """A day as ``2026年10月13日``; an instant is the county's day (Asia/Shanghai) it falls on."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def status_zh(status: str) -> str:
    """A claim's or payment order's status in Chinese (the code itself when unknown)."""
    return CLAIM_STATUS_ZH.get(status) or PAYMENT_STATUS_ZH.get(status) or status
