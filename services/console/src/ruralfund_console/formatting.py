"""How people read figures and dates on the console: 97,531.00 元 and 2026年10月13日."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from ruralfund_common.calendar import date_zh as _date_zh
from ruralfund_common.money import yuan_zh

__all__ = [
    "CLAIM_STATUS_ZH", "FILE_KIND_ZH", "PAYMENT_STATUS_ZH", "PLATFORM_ZH", "ROLE_ZH", "calculation_zh", "date_zh",
    "file_kind_zh", "flag_zh", "period_zh", "status_zh", "yuan_zh",
]  # fmt: skip

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


# the e-commerce platforms a claim names by code (claims' rule parameters use these codes)
PLATFORM_ZH: Final = {
    "taobao": "淘宝", "tmall": "天猫", "jd": "京东", "pinduoduo": "拼多多", "douyin": "抖音",
    "kuaishou": "快手", "wechat": "微信",
}  # fmt: skip
FILE_KIND_ZH: Final = {
    "application/pdf": "PDF", "image/png": "PNG 图片", "image/jpeg": "JPEG 图片", "image/webp": "WebP 图片",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel 表格（xlsx）",
    "application/vnd.ms-excel": "Excel 表格（xls）", "text/csv": "CSV 表格",
}  # fmt: skip


def file_kind_zh(content_type: str) -> str:
    return FILE_KIND_ZH.get(content_type, content_type)


def _period_part(part: str) -> str:
    if m := re.fullmatch(r"(\d{4})Q([1-4])", part):
        return f"{m[1]}年第{m[2]}季度"
    if re.fullmatch(r"\d{4}", part):
        return f"{part}年"
    if m := re.fullmatch(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})", part):
        return f"{m[1]}年{int(m[2])}月至{m[3]}年{int(m[4])}月"
    if m := re.fullmatch(r"product:(.+)", part):
        return f"产品“{m[1]}”"
    if m := re.fullmatch(r"station:(.+)", part):
        return f"站点 {m[1]}"
    if m := re.fullmatch(r"([a-z][a-z0-9_-]*):(.+)", part):
        return f"{PLATFORM_ZH.get(m[1], m[1])}店铺 {m[2]}"
    return part


def period_zh(period: str | None) -> str:
    """A claim's period as claims keys it (``2023Q3``, ``taobao:66880001/2023-01..2023-03``,
    ``2023/product:新平橙礼盒``) as people read it: 2023年第3季度, 淘宝店铺 66880001 2023年1月至2023年3月."""
    if not period:
        return ""
    return " ".join(_period_part(p) for p in period.split("/"))


# claims writes a claim's calculation as a formula with a few English words (it is stored with
# the assessment, so it is translated where people read it, not rewritten)
_CALCULATION_ZH: Final = (
    (re.compile(r"^fixed (\S+) when all (\d+) conditions are met$"), r"\2 项条件均满足，定额奖励 \1 元"),
    (re.compile(r"^fixed (\S+) once per product; first (\d+) month\(s\) (\S+); (\d+) later month\(s\) not counted$"),
     r"每个产品定额奖励 \1 元（一次性）；计入前 \2 个月累计 \3 元，其后 \4 个月不计"),
    (re.compile(r"^fixed (\S+) once per product; first (\d+) month\(s\) (\S+)$"),
     r"每个产品定额奖励 \1 元（一次性）；计入前 \2 个月累计 \3 元"),
    (re.compile(r"^highest tier reached: >= (\S+) -> (\S+)$"), r"达到最高档：不低于 \1 元，奖励 \2 元"),
    (re.compile(r"^(\S+) is below the lowest tier \((\S+)\)$"), r"\1 元低于最低档（\2 元），不予奖励"),
    (re.compile(r" x "), " × "),
    (re.compile(r" \(half up\)$"), "（四舍五入到分）"),
    (re.compile(r"^min\((.*)\) = (\S+)$"), r"取较小者（\1）= \2"),
    (re.compile(r"cap for (\S+) "), r"\1上限 "),
    (re.compile(r"cap "), "上限 "),
)  # fmt: skip


def calculation_zh(calculation: str | None) -> str:
    """``12,345 x 0.20 = 2,469.00`` → ``12,345 × 0.20 = 2,469.00``; the English words of a
    calculation in Chinese (an unknown form is shown as claims wrote it)."""
    text = calculation or ""
    for pattern, replacement in _CALCULATION_ZH:
        text = pattern.sub(replacement, text)
    return text


def flag_zh(flag: str) -> str:
    """A claim's flag for the bureau (``PLATFORM_UNLISTED: 平台 youzan …``) without its code."""
    return re.sub(r"^[A-Z][A-Z0-9_]+:\s*", "", flag)
