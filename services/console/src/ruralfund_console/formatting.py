"""How people read figures and dates on the console: 97,531.00 元 and 2026年10月13日."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from ruralfund_common.calendar import date_zh as _date_zh
from ruralfund_common.money import yuan_zh

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


def date_zh(value: date | datetime | str | None) -> str:
    """A day as ``2026年10月13日``; an instant is the county's day (Asia/Shanghai) it falls on."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # as the services' JSON carries it
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return _date_zh(value)


def status_zh(status: str) -> str:
    """A claim's or payment order's status in Chinese (the code itself when unknown)."""
    return CLAIM_STATUS_ZH.get(status) or PAYMENT_STATUS_ZH.get(status) or status
