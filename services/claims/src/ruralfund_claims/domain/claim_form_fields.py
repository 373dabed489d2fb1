"""A claim form in Chinese for an item's rule: one entry per evidence field with its label, unit,
threshold and the periods on offer, so a client (the console) renders the form without knowing
the rule kinds. Names are the evidence's own paths (``figures.annual_sales``); ``rows`` fields
are lists of objects (month by month sales), one row per line.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from .program import Program
from .rules import (
    PLATFORM_ZH,
    FixedIfAllParams,
    NewProductParams,
    PercentOfAmountParams,
    PercentOfInvestmentCappedParams,
    PerUnitParams,
    Rule,
    Threshold,
    TiersParams,
)

__all__ = ["PLATFORM_ZH", "claim_form"]

MAX_PERIOD_CHOICES: Final = 40  # ten years of quarters: older ones are typed, not listed
_PER_ZH: Final = {"quarter": "每季度申报一次", "year": "每年度申报一次", "product": "每个产品奖励一次",
                  "enterprise": "每户企业奖励一次", "station": "每个站点奖励一次"}  # fmt: skip


def _field(name: str, label_zh: str, input_: str, *, required: bool = True, **more: Any) -> dict[str, Any]:
    return {"name": name, "label_zh": label_zh, "input": input_, "required": required,
            **{k: v for k, v in more.items() if v is not None}}  # fmt: skip


def _quarters(start: date | None, today: date | None) -> list[dict[str, str]] | None:
    if start is None or today is None or today < start:
        return None
    out, year, q = [], today.year, (today.month - 1) // 3 + 1
    while (year, q) >= (start.year, (start.month - 1) // 3 + 1) and len(out) < MAX_PERIOD_CHOICES:
        out.append({"value": f"{year}Q{q}", "label_zh": f"{year}年第{q}季度"})
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out


def _years(start: date | None, today: date | None) -> list[dict[str, Any]] | None:
    if start is None or today is None or today < start:
        return None
    return [{"value": y, "label_zh": f"{y}年"} for y in range(today.year, start.year - 1, -1)]


def _threshold_field(t: Threshold) -> dict[str, Any]:
    name = f"figures.{t.key}"
    if t.must_be_true is not None:
        return _field(name, t.label, "boolean", threshold_zh="须为“是”")
    if t.min_count is not None:
        return _field(name, t.label, "integer", min=0, threshold_zh=f"不低于 {t.min_count:,}")
    return _field(name, t.label, "yuan", unit_zh="元", threshold_zh=f"不低于 {t.min_yuan} 元")


def _rows(name: str, label_zh: str, amount: str, amount_zh: str, threshold_zh: str) -> dict[str, Any]:
    return _field(
        name, label_zh, "rows", threshold_zh=threshold_zh,
        hint_zh=f"每行一个月：月份（如 2023-01）与{amount_zh}（元），以空格分隔，按时间先后",
        columns=[{"name": "month", "label_zh": "月份", "input": "month"},
                 {"name": amount, "label_zh": amount_zh, "input": "yuan", "unit_zh": "元"}],
    )  # fmt: skip


def claim_form(program: Program, rule: Rule, today: date | None) -> dict[str, Any]:
    start = program.claim_starts_on or program.published_on
    quarter = _field("quarter", "申报季度", "quarter", choices=_quarters(start, today),
                     hint_zh="如 2023Q3（2023年第3季度）")  # fmt: skip
    year = _field("year", "申报年度", "year", choices=_years(start, today), hint_zh="如 2023")
    published = program.published_on.isoformat() if program.published_on else None
    after_publication = f"不早于方案公布日 {published}" if published else "须在方案公布之后"
    p, fields = rule.params, []
    if isinstance(p, PerUnitParams):
        fields = [quarter, _field(
            "units", f"本季度使用{p.unit}的数量", "integer", unit_zh="个", min=0,
            threshold_zh=f"不低于 {p.min_units:,} 个（每个补助 {p.rate_yuan} 元）")]  # fmt: skip
    elif isinstance(p, PercentOfAmountParams):
        choices = [{"value": k, "label_zh": PLATFORM_ZH.get(k, k)} for k in p.platforms]
        fields = [
            _field("platform", "电商平台", "choice" if choices and not p.platforms_open else "text",
                   choices=choices or None,
                   hint_zh="可选列出的平台；其他平台请填写其英文或拼音代码（如 youzan），由主管部门审核"
                   if p.platforms_open else None),
            _field("store_id", "店铺ID（平台上的店铺编号）", "text"),
            _field("store_name", "店铺名称", "text", required=False),
            *([_field("opened_on", "开店日期", "date", threshold_zh=after_publication)] if p.new_store else []),
            _rows("months", "逐月销售额", "sales_yuan", "销售额",
                  f"连续 {p.min_consecutive_months} 个月以上，累计不低于 {p.min_total_yuan} 元，"
                  f"按实际销售额 {p.percent}% 奖励"),
        ]  # fmt: skip
    elif isinstance(p, FixedIfAllParams):
        period = {"year": [year], "quarter": [quarter], "enterprise": [year],
                  "product": [_field("product", "产品名称", "text")]}[p.per]  # fmt: skip
        identity = [_field("identity", p.identity_label, "text")] if p.identity_label else []
        fields = [*period, *identity, *(_threshold_field(t) for t in p.thresholds)]
    elif isinstance(p, TiersParams):
        tiers = "；".join(f"达到 {t.min_yuan} 元奖励 {t.award_yuan} 元" for t in p.tiers)
        fields = [
            year,
            _field("station_id", "站点编号", "text", required=False),
            _field("annual_volume_yuan", "年交易额", "yuan", unit_zh="元", required=False,
                   threshold_zh=tiers, hint_zh="物流服务已报送该站点年交易额的，可不填"),
            *(_threshold_field(c) for c in p.conditions),
        ]  # fmt: skip
    elif isinstance(p, NewProductParams):
        fields = [
            _field("product_name", "新产品名称", "text"),
            _field("product_code", "产品编码（如商品条码）", "text", required=False),
            _field("launched_on", "上市日期", "date", threshold_zh=after_publication),
            _rows("months", "上市后逐月线上销售额", "online_sales_yuan", "线上销售额",
                  f"自上市当月起 {p.months_counted} 个月累计不低于 {p.min_online_sales_yuan} 元，"
                  f"奖励 {p.amount_yuan} 元（一次性）"),
        ]  # fmt: skip
    else:
        assert isinstance(p, PercentOfInvestmentCappedParams)
        cap = (f"最高 {p.cap_yuan} 元" if p.cap_yuan else "；".join(
            f"{c.label or c.category}最高 {c.cap_yuan} 元" for c in p.caps or []))
        fields = [
            year,
            *([_field("product", "产品名称", "text")] if p.per == "product" else []),
            *([_field("station_id", "站点编号", "text")] if p.per == "station" else []),
            *([_field("category", "类别", "choice", choices=[
                {"value": c.category, "label_zh": c.label or c.category} for c in p.caps])] if p.caps else []),
            _field("investment_yuan", "符合条件的投资额", "yuan", unit_zh="元",
                   threshold_zh=f"不低于 {p.min_investment_yuan} 元，按 {p.percent}% 补助，{cap}"),
        ]  # fmt: skip
    return {"fields": fields, "per_zh": _per_zh(p), "period_zh": _period_zh(program)}


def _per_zh(p: Any) -> str:
    """How often the item pays, as the claimant reads it."""
    if isinstance(p, PercentOfAmountParams):
        return "同一店铺的每个月只奖励一次"
    if isinstance(p, NewProductParams):
        return "每个产品一次性奖励"
    return _PER_ZH.get(getattr(p, "per", ""), "")


def _period_zh(program: Program) -> str:
    start = program.claim_starts_on or program.published_on
    until = program.claim_ends_on
    if start and until:
        return f"申报所涉期间须在 {start.isoformat()} 至 {until.isoformat()} 之间"
    if start:
        return f"申报所涉期间须在 {start.isoformat()} 之后（截止日期未载明）"
    return "申报所涉期间不限"
