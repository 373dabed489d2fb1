"""Chinese for the claimant: every refusal of a claim gets a title and a detail with the
figures that decided it (money as 150,000.00 元, dates as 2022年10月23日)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ruralfund_common.calendar import date_zh

from .rules import PLATFORM_ZH, Reason

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
    "ENTERPRISE_EXISTS": "企业已登记",
    "ENTERPRISE_NOT_FOUND": "未找到该企业",
    "ENTERPRISE_NOT_IN_COUNTY": "企业不在本县注册",
    "NOTHING_TO_CHANGE": "没有要修改的内容",
    "PROGRAM_EXISTS": "方案已启用",
    "PROGRAM_INVALID": "方案不能启用",
    "PROGRAM_DOCUMENT_TOO_LARGE": "方案文件过大",
    "PROGRAM_DOCUMENT_INVALID": "方案文件无法读取",
    "AMOUNT_INVALID": "金额有误",
    "DUPLICATE_CODE": "编码重复",
    "VALUE_INVALID": "实际完成值有误",
    "ITEM_NOT_SERVICE": "该项目不是购买服务项目",
    "ITEM_NOT_IN_LINE": "项目不属于该建设内容",
    "LINE_NOT_FOUND": "方案中没有该建设内容",
    "RENEWAL_NEEDS_PREDECESSOR": "续签须注明所续合同",
    "RENEWS_ONLY_FOR_RENEWAL": "只有续签采购可注明所续合同",
    "PACKAGE_EXISTS": "采购包已登记",
    "PACKAGE_NOT_FOUND": "未找到该采购包",
    "PACKAGE_EXCEEDS_BUDGET": "采购包预算超过项目可安排金额",
    "ITEM_NOT_IN_PACKAGE": "项目不在该采购包内",
    "PROVIDER_NOT_WINNER": "服务商不是该采购包的中标单位",
    "CONTRACT_EXISTS": "合同已登记",
    "CONTRACT_EXCEEDS_BUDGET": "合同金额超过项目剩余预算",
    "CONTRACT_EXCEEDS_PACKAGE": "合同金额超过采购包剩余预算",
    "NOT_THE_PROVIDER": "只有签约服务商或商务局可以办理",
    "NOT_THE_CLAIMANT": "只有申报企业或商务局可以上传",
    "SCHEDULE_TOO_LONG": "付款计划笔数过多",
    "SCHEDULE_SUM_MISMATCH": "付款计划合计与合同金额不符",
    "INSTALMENT_NEEDS_MILESTONE": "分期付款须对应合同节点",
    "UNKNOWN_MILESTONE": "合同中没有该节点",
    "MILESTONE_PAID_TWICE": "一个节点只能对应一笔分期付款",
    "MILESTONE_ONLY_FOR_INSTALMENT": "只有分期付款按节点支付",
    "TRANCHE_STATE": "该笔付款当前状态不允许此操作",
    "TRANCHE_NOT_FOUND": "未找到该笔合同付款",
    "TRANCHE_MISMATCH": "付款与合同不对应",
    "AWARD_MISMATCH": "奖补与申报不对应",
    "FILENAME_INVALID": "文件名有误",
    "EVIDENCE_FILE_TOO_LARGE": "证明文件过大",
    "EVIDENCE_FILE_EMPTY": "证明文件为空",
    "EVIDENCE_FILE_EXISTS": "该文件已上传",
    "EVIDENCE_CLOSED": "申报已不能补充证明文件",
    "TOO_MANY_FILES": "证明文件数量已达上限",
    "FILE_NOT_FOUND": "未找到该文件",
    "UNSUPPORTED_MEDIA_TYPE": "方案文件格式不支持",
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


_ISO_DAY: Final = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_SPAN: Final = re.compile(r"\s*[(（](\d{4})-(\d{2})\.\.(\d{4})-(\d{2})[)）]")
# the few English words the rules write into a reason's figures (stored with the assessment)
_WORDS_ZH: Final = (("not stated", "未填写"), ("the plan's publication date", "方案公布日"))


def _words_zh(text: str) -> str:
    """A reason's figure as people read it: days 2023年6月18日, month spans （2023年7月至2023年9月）."""
    for english, chinese in _WORDS_ZH:
        text = text.replace(english, chinese)
    text = _MONTH_SPAN.sub(lambda m: f"（{m[1]}年{int(m[2])}月至{m[3]}年{int(m[4])}月）", text)
    return _ISO_DAY.sub(lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)


def _platforms_zh(r: Reason) -> str:
    """``douyin (not listed)`` against ``taobao | tmall | 等 (others flagged)``, in Chinese."""
    listed = [PLATFORM_ZH.get(p, p) for p in r.required.removesuffix(" | 等 (others flagged)").split(" | ")]
    open_list = r.required.endswith("(others flagged)")
    actual = r.actual.removesuffix(" (not listed)")
    shown = PLATFORM_ZH.get(actual, actual) + ("（不在列举的平台之中，提请审核）" if r.actual != actual else "")
    required = "、".join(listed) + ("等平台（其他平台提请审核）" if open_list else "之一")
    return f"{_label(r)}：{shown}，要求为{required}"


def reason_zh(r: Reason) -> str:
    if r.check == "platform":
        return _platforms_zh(r)
    if r.check == "within_program_period":
        where = "在" if r.passed else "不在"  # a claim's page lists the met conditions too
        return f"申报的 {r.actual.removesuffix(' outside')} {where}{r.label}内"
    money = r.check in _MONEY_CHECKS or "（元）" in r.label
    required = {"yes": "是"}.get(r.required, _words_zh(_figure(r.required, money)))
    actual = {"yes": "是", "no": "否"}.get(r.actual, _words_zh(_figure(r.actual, money)))
    return f"{_label(r)}：{actual}，要求{required}"


def reasons_zh(reasons: list[Reason]) -> str:
    """The failed conditions, one after another: what decided the refusal."""
    return "；".join(reason_zh(r) for r in reasons if not r.passed) + "。"
