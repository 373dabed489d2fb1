"""What the bureau reads of a claim: its evidence under the form's labels, its period and
calculation in Chinese (pure functions, no service)."""

from __future__ import annotations

import pytest
from ruralfund_console.evidence_view import evidence_entries
from ruralfund_console.formatting import calculation_zh, file_kind_zh, flag_zh, period_zh

FORM = {"fields": [  # as claims describes the sales-reward item (abridged)
    {"name": "platform", "label_zh": "电商平台", "input": "text", "required": True,
     "choices": [{"value": "taobao", "label_zh": "淘宝"}]},
    {"name": "opened_on", "label_zh": "开店日期", "input": "date", "required": True},
    {"name": "months", "label_zh": "逐月销售额", "input": "rows", "required": True,
     "columns": [{"name": "month", "label_zh": "月份", "input": "month"},
                 {"name": "sales_yuan", "label_zh": "销售额", "input": "yuan", "unit_zh": "元"}]},
    {"name": "figures.storage_area_m2", "label_zh": "仓储面积", "input": "integer", "unit_zh": "平方米",
     "required": True},
    {"name": "figures.has_office", "label_zh": "有固定办公场所", "input": "boolean", "required": True},
]}  # fmt: skip


def test_lists_are_tables_and_figures_read_in_chinese() -> None:
    evidence = {"platform": "taobao", "opened_on": "2026-10-13",
                "months": [{"month": "2026-10", "sales_yuan": "97531"}, {"month": "2026-11", "sales_yuan": "0.5"}],
                "figures": {"storage_area_m2": 1200, "has_office": True}, "extra": {"a": [1, 2]}}
    entries = evidence_entries(evidence, FORM)
    by_label = {e.label or e.key: e for e in entries}
    assert by_label["电商平台"].text == "淘宝" and by_label["开店日期"].text == "2026年10月13日"
    months = by_label["逐月销售额"]
    assert months.columns == ["月份", "销售额"] and months.figures == [False, True]
    assert months.rows == [["2026年10月", "97,531.00 元"], ["2026年11月", "0.50 元"]]
    assert by_label["仓储面积"].text == "1,200 平方米" and by_label["有固定办公场所"].text == "是"
    assert by_label["extra.a"].text == "[1, 2]"  # what the form does not name: by its key, as text
    assert evidence_entries({"units": 5}, None)[0].key == "units"


@pytest.mark.parametrize(("period", "text"), [
    ("2023Q3", "2023年第3季度"), ("2023", "2023年"), ("一次性", "一次性"),
    ("taobao:66880001/2023-01..2023-03", "淘宝店铺 66880001 2023年1月至2023年3月"),
    ("2023/product:新平橙礼盒", "2023年 产品“新平橙礼盒”"), ("station:XP-07", "站点 XP-07"),
])  # fmt: skip
def test_a_period_reads_in_chinese(period: str, text: str) -> None:
    assert period_zh(period) == text


@pytest.mark.parametrize(("calculation", "text"), [
    ("12,345 x 0.20 = 2,469.00", "12,345 × 0.20 = 2,469.00"),
    ("5% x 180,000.00 = 9,000.00 (half up)", "5% × 180,000.00 = 9,000.00（四舍五入到分）"),
    ("fixed 20,000.00 when all 3 conditions are met", "3 项条件均满足，定额奖励 20,000.00 元"),
    ("fixed 50,000.00 once per product; first 3 month(s) 160,000.00; 2 later month(s) not counted",
     "每个产品定额奖励 50,000.00 元（一次性）；计入前 3 个月累计 160,000.00 元，其后 2 个月不计"),
    ("highest tier reached: >= 1,000,000.00 -> 30,000.00", "达到最高档：不低于 1,000,000.00 元，奖励 30,000.00 元"),
    ("400,000.00 is below the lowest tier (500,000.00)", "400,000.00 元低于最低档（500,000.00 元），不予奖励"),
    ("min(30% x 1,000,000.00 = 300,000.00, cap for cold 200,000.00) = 200,000.00",
     "取较小者（30% × 1,000,000.00 = 300,000.00, cold上限 200,000.00）= 200,000.00"),
])  # fmt: skip
def test_a_calculation_reads_in_chinese(calculation: str, text: str) -> None:
    assert calculation_zh(calculation) == text


def test_flags_and_file_kinds_read_in_chinese() -> None:
    assert flag_zh("PLATFORM_UNLISTED: 平台 youzan 不在方案列举的平台之中，请审核") == "平台 youzan 不在方案列举的平台之中，请审核"
    assert file_kind_zh("application/pdf") == "PDF" and file_kind_zh("text/csv") == "CSV 表格"
