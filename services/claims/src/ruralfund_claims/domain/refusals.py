"""Chinese for the claimant: every refusal of a claim gets a title and a detail with the
figures that decided it (money as 150,000.00 元, dates as 2022年10月23日)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ruralfund_common.calendar import date_zh

from .rules import Reason

__all__ = ["ACTION_ZH", "STATUS_ZH", "TITLES_ZH", "date_zh", "reason_zh", "reasons_zh"]

TITLES_ZH: Final[Mapping[str, str]] = {
    "ITEM_NOT_CLAIMABLE": "该项目为购买服务，企业不能申报",
    "ITEM_NOT_ACTIVE": "该项目是示例，方案未启用",
    "EVIDENCE_INVALID": "申报数据有误",
    "EVIDENCE_TOO_LARGE": "申报数据过大",
    "PERIOD_MISMATCH": "申报期间与数据不一致",
    "CLAIM_INELIGIBLE": "不符合奖补条件",
    "CLAIM_OUTSIDE_PROGRAM_PERIOD": "申报期间不在方案期间内",
    "STORE_NOT_NEW": "店铺不是方案公布后新开设的",
    "PRODUCT_NOT_NEW": "产品不是方案公布后上市的新品",
    "DUPLICATE_CLAIM": "已申报过",
    "MONTHS_ALREADY_CLAIMED": "店铺的这些月份已申报过",
    "ALREADY_CLAIMED": "一次性奖励已申报过",
    "ENTERPRISE_NOT_REGISTERED": "企业尚未登记",
    "STATION_AMBIGUOUS": "请指明站点",
    "CLAIM_STATE_INVALID": "申报当前状态不允许此操作",
    "CLAIM_NOT_FOUND": "未找到该申报",
    "NOTE_REQUIRED": "请说明需要企业更正的内容",
    "REASON_REQUIRED": "驳回须说明理由",
    "ITEM_NOT_FOUND": "方案中没有该项目",
    "PROGRAM_NOT_FOUND": "未找到该方案",
}

# Claim statuses and actions as people read them (CLAIM_STATE_INVALID).
STATUS_ZH: Final[Mapping[str, str]] = {
    "submitted": "已提交", "returned": "已退回", "awaiting_decision": "待领导小组审批",
    "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回", "reserved": "已预留资金",
    "reservation_refused": "资金预留被拒", "in_publicity": "公示中", "paid": "已拨付",
    "revoked": "已撤销",
}
ACTION_ZH: Final[Mapping[str, str]] = {
    "complete_review": "审核完成", "return": "退回", "resubmit": "重新提交", "approve": "批准",
    "reject": "驳回", "withdraw": "撤回", "reserve": "预留资金", "refuse_reservation": "拒绝预留",
    "open_publicity": "公示", "pay": "拨付", "revoke": "撤销",
}  # fmt: skip

# Chinese names of the checks whose labels the rules write in English.
_LABELS_ZH: Final[Mapping[str, str]] = {
    "registered_in_county": "企业注册地（须在方案所在县注册）",
    "within_program_period": "申报期间（须在方案期间内）",
    "platform": "店铺所在平台",
    "store_opened_after_publication": "开店日期（新开设店铺：方案公布之日起）",
    "consecutive_months": "连续销售月数",
    "min_total": "累计销售额",
    "min_units": "使用数量",
    "launched_after_publication": "上市日期（方案公布之日起研发上市）",
    "online_sales_first_months": "上市起线上累计销售额",
    "min_investment": "投资额",
}
_MONEY_CHECKS: Final = frozenset({"min_total", "online_sales_first_months", "min_investment"})


def _label(r: Reason) -> str:
    if r.check.startswith("tier_"):
        return f"年交易额（{r.label.rsplit(' ', 1)[-1]} 元一档）"
    return _LABELS_ZH.get(r.check, r.label)


def _figure(text: str, money: bool) -> str:
    text = text.replace(">= ", "不低于 ").replace("<= ", "不高于 ")
    if money:
        head, _, tail = text.partition(" (")
        return f"{head} 元" + (f"（{tail.rstrip(')')}）" if tail else "")
    return text


def reason_zh(r: Reason) -> str:
    if r.check == "within_program_period":
        where = "在" if r.passed else "不在"  # a claim's page lists the met conditions too
        return f"申报的 {r.actual.removesuffix(' outside')} {where}{r.label}内"
    money = r.check in _MONEY_CHECKS or "（元）" in r.label
    required = {"yes": "是"}.get(r.required, _figure(r.required, money))
    actual = {"yes": "是", "no": "否"}.get(r.actual, _figure(r.actual, money))
    return f"{_label(r)}：{actual}，要求{required}"


def reasons_zh(reasons: list[Reason]) -> str:
    """The failed conditions, one after another: what decided the refusal."""
    return "；".join(reason_zh(r) for r in reasons if not r.passed) + "。"
