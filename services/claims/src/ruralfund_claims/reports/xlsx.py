"""The execution report as a spreadsheet (openpyxl): sheets 总表, 资金, 绩效目标, 合同, 进度, 比例.

Yuan cells are numbers (so a reviewer can sum and check them), written as ``Decimal`` made
from integer fen by moving the decimal point (``Decimal(fen).scaleb(-2)``): exact, never a
float computed from money. They are formatted ``#,##0.00``; days are date cells shown as
``2026年10月13日``.

Subtotals: the tables that hold aggregate rows (总表's lines, 资金's lines and items) end with a
行类型 column saying 明细, 小计 or 合计 for every row, and the 小计/合计 rows are bold on a grey
fill; in 资金 the detail rows are an outline level below their line's 小计 (collapsible).
A column's sum over the 明细 rows (a filter on 行类型, or SUMIF(…,"明细",…)) is the 合计:
a plain column sum would count every item twice, once in its line's 小计. The subtotals are
values, not SUBTOTAL() formulas: the workbook never holds a formula (names in it are typed by
other people, see ``_text_never_formula``), and a value reads the same in every program,
openpyxl and pandas included, which read no formula's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from ruralfund_common.text import FORMULA_STARTS

from . import XLSX_MEDIA_TYPE
from .model import ExecutionReport, Figures

__all__ = [
    "DATE_FORMAT",
    "DETAIL",
    "ROW_KIND_HEADING",
    "SHEETS",
    "SUBTOTAL",
    "TOTAL",
    "XLSX_MEDIA_TYPE",
    "YUAN_FORMAT",
    "render_xlsx",
    "yuan",
]

SHEETS: Final = ("总表", "资金", "绩效目标", "合同", "进度", "比例")
YUAN_FORMAT: Final = "#,##0.00"
PERCENT_FORMAT: Final = "0.00%"
DATE_FORMAT: Final = 'yyyy"年"m"月"d"日"'
ROW_KIND_HEADING: Final = "行类型"
DETAIL, SUBTOTAL, TOTAL = "明细", "小计", "合计"
_BOLD: Final = Font(bold=True)
_TITLE: Final = Font(bold=True, size=14)
_HEAD_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL: Final = PatternFill("solid", fgColor="F2F2F2")
_THIN: Final = Side(style="thin", color="999999")
_BORDER: Final = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FIGURE_HEADINGS: Final = ("预算（元）", "承诺（元）", "已支付奖补（元）", "已支付合同款（元）",
                           "已支付合计（元）", "剩余（预算-已支付，元）", "未承诺（元）")  # fmt: skip


class Yuan(Decimal):
    """Marks a cell as money (formatted as yuan)."""


class Percent(Decimal):
    """Marks a cell as a share (formatted as percent)."""


def yuan(fen: int) -> Yuan:
    """Integer fen as exact yuan: 246900 -> Decimal('2469.00')."""
    return Yuan(Decimal(fen).scaleb(-2))


def _percent(text: str) -> Percent:
    return Percent(Decimal(text).scaleb(-2))


def _figures(f: Figures) -> list[Any]:
    return [
        yuan(f.budget_fen),
        yuan(f.committed_fen),
        yuan(f.paid_awards_fen),
        yuan(f.paid_contracts_fen),
        yuan(f.paid_fen),
        yuan(f.remaining_fen),
        yuan(f.uncommitted_fen),
    ]


def _write_row(
    ws: Worksheet, values: Sequence[Any], *, style: str = "", outline_level: int = 0
) -> int:
    ws.append(list(values))
    row = ws.max_row
    if outline_level:
        ws.row_dimensions[row].outline_level = outline_level
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, Yuan):
            cell.number_format = YUAN_FORMAT
        elif isinstance(value, Percent):
            cell.number_format = PERCENT_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        if style in ("head", "total"):
            cell.font = _BOLD
            cell.fill = _HEAD_FILL if style == "head" else _TOTAL_FILL
        if style != "plain":
            cell.border = _BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(value, str))
    return row


def _table(ws: Worksheet, headings: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    row = _write_row(ws, headings, style="head")
    ws.freeze_panes = f"A{row + 1}"  # a text reference: ws.cell() would create an empty row
    for values in rows:
        _write_row(ws, values)


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def _summary(ws: Worksheet, report: ExecutionReport) -> None:
    h = report.header
    ws.append([h.title])
    ws.cell(row=1, column=1).font = _TITLE
    for label, value in (
        ("项目名称", h.program_name),
        ("系统内项目编号", h.program_code),
        ("县（行政区划代码）", f"{h.county_name}（{h.county_code}）"),
        ("年度 / 期次", f"{h.year}年 {h.phase_zh}"),
        ("依据文件", h.document or "—"),
        ("统计截至", h.as_of),
        ("导出人", h.generated_by),
        ("编制单位", h.compiled_by),
        ("中央财政资金（元）", yuan(h.total_fen)),
    ):
        row = _write_row(ws, [label, value], style="plain")
        ws.cell(row=row, column=1).font = _BOLD
    ws.append([])
    _write_row(ws, ["方向", *_FIGURE_HEADINGS, ROW_KIND_HEADING], style="head")
    for line in report.lines:
        _write_row(ws, [line.name, *_figures(line.figures), DETAIL])
    _write_row(ws, ["合计", *_figures(report.totals), TOTAL], style="total")
    ws.append([])
    counts = (
        ("绩效目标已达成", _count(report.targets, "met"), len(report.targets)),
        ("合同交付物已达成", _count(report.deliverables, "met"), len(report.deliverables)),
        ("进度节点已完成", sum(1 for m in report.milestones if m.accepted_on), len(report.milestones)),
        ("进度节点已逾期未完成", sum(1 for m in report.milestones if m.status == "overdue"), len(report.milestones)),
    )  # fmt: skip
    _write_row(ws, ["事项", "数量", "总数"], style="head")
    for label, n, total in counts:
        _write_row(ws, [label, n, total])
    if report.clawbacks:  # Xinping §六: a defaulter's clawback, in figures
        ws.append([])
        _write_row(ws, ["违约收回（违约方）", "认定文件", "已退回财政（元）", "应收违约方（元）",
                        "已收回（元）", "尚欠（元）"], style="head")  # fmt: skip
        for c in report.clawbacks:
            _write_row(ws, [f"{c.name}（{c.credit_code}）", c.resolution_no, yuan(c.returned_fen),
                            yuan(c.receivable_fen), yuan(c.repaid_fen), yuan(c.outstanding_fen)])
    ws.append([])
    _write_row(ws, ["说明"], style="head")
    for i, note in enumerate(report.notes, start=1):
        _write_row(ws, [f"{i}. {note}"], style="plain")
    _widths(ws, [28, 22, 18, 18, 18, 18, 22, 18, 10])


def _count(rows: Sequence[Any], status: str) -> int:
    return sum(1 for r in rows if r.status == status)


def _money(ws: Worksheet, report: ExecutionReport) -> None:
    _table(ws, ["方向", "项目", "实施方式", *_FIGURE_HEADINGS, ROW_KIND_HEADING], [])
    for line in report.lines:  # the line's 小计 first, its items an outline level below
        _write_row(ws, [line.name, SUBTOTAL, "", *_figures(line.figures), SUBTOTAL], style="total")
        for item in line.items:
            _write_row(ws, [line.name, item.name, item.mode_zh, *_figures(item.figures), DETAIL],
                       outline_level=1)  # fmt: skip
    _write_row(ws, ["合计", "", "", *_figures(report.totals), TOTAL], style="total")
    ws.sheet_properties.outlinePr.summaryBelow = False  # the 小计 row is above its items
    ws.auto_filter.ref = f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    _widths(ws, [26, 34, 10, 16, 16, 16, 16, 16, 18, 16, 10])


def _targets(ws: Worksheet, report: ExecutionReport) -> None:
    _table(
        ws,
        ["指标编码", "绩效目标", "单位", "指标值", "实际值", "完成情况", "数据来源"],
        [[t.code, t.name, t.unit, t.target, t.actual, t.status_zh, t.source] for t in report.targets],
    )  # fmt: skip
    ws.append([])
    _write_row(ws, ["合同交付物"], style="plain")
    ws.cell(row=ws.max_row, column=1).font = _BOLD
    _write_row(ws, ["合同编号", "服务商", "交付物", "单位", "指标值", "实际值", "完成情况", "可替代"], style="head")  # fmt: skip
    names = {(d.contract_no, d.code): d.name for d in report.deliverables}
    for d in report.deliverables:  # 可替代: the other deliverable by its name, not its code
        alternative = names.get((d.contract_no, d.alternative_to or ""), d.alternative_to)
        _write_row(ws, [d.contract_no, d.provider_name, d.name, d.unit, d.target, d.actual,
                        d.status_zh, alternative or ""])  # fmt: skip
    _widths(ws, [22, 36, 10, 16, 14, 16, 40, 14])


def _contracts(ws: Worksheet, report: ExecutionReport) -> None:
    _table(
        ws,
        ["合同编号", "包组", "项目", "服务商", "统一社会信用代码", "采购方式", "签订日期", "截止日期",
         "合同金额（元）", "已支付（元）", "未支付（元）", "状态", "交付物达成", "节点验收"],
        [[c.contract_no, c.package_code or "", c.item_name, c.provider_name, c.provider_credit_code,
          c.procurement or "", c.signed_on, c.ends_on, yuan(c.amount_fen), yuan(c.paid_fen),
          yuan(c.unpaid_fen), c.status_zh, f"{c.deliverables_met}/{c.deliverables_total}",
          f"{c.milestones_accepted}/{c.milestones_total}"] for c in report.contracts],
    )  # fmt: skip
    ws.append([])
    _write_row(ws, ["采购包组"], style="plain")
    ws.cell(row=ws.max_row, column=1).font = _BOLD
    _write_row(ws, ["包组编号", "包组名称", "方向", "项目", "采购方式", "中标单位", "中标日期",
                    "采购编号", "包组预算（元）", "已签合同（元）", "未签合同（元）"], style="head")  # fmt: skip
    for p in report.packages:
        _write_row(ws, [p.code, p.name, p.line_name, p.item_names,
                        p.method_zh + (f"（续签：{p.renews}）" if p.renews else ""), p.winner_name,
                        p.awarded_on, p.tender_ref or "", yuan(p.budget_fen), yuan(p.contracted_fen),
                        yuan(p.uncontracted_fen)])  # fmt: skip
    ws.append([])
    _write_row(ws, ["付款计划"], style="plain")
    ws.cell(row=ws.max_row, column=1).font = _BOLD
    _write_row(ws, ["合同编号", "服务商", "分期", "付款条件", "对应节点", "支出类别", "金额（元）",
                    "已支付（元）", "状态", "支付日期"], style="head")  # fmt: skip
    for t in report.tranches:
        _write_row(ws, [t.contract_no, t.provider_name, f"第{t.number}期", t.kind_zh, t.milestone_name or "",
                        t.spending_category_zh or "", yuan(t.amount_fen), yuan(t.paid_fen),
                        t.status_zh, t.paid_on or ""])  # fmt: skip
    _widths(ws, [18, 30, 30, 30, 22, 14, 14, 14, 16, 16, 16, 16, 10, 10])


def _milestones(ws: Worksheet, report: ExecutionReport) -> None:
    _table(
        ws,
        ["计划", "阶段", "工作名称", "责任单位", "时间节点", "完成（验收）日期", "完成情况", "逾期天数"],
        [[m.plan, m.stage_zh, m.name, m.responsible, m.due_on, m.accepted_on or "", m.status_zh,
          m.days_late or ""] for m in report.milestones],
    )  # fmt: skip
    _widths(ws, [20, 14, 32, 30, 12, 16, 14, 10])


def _ratios(ws: Worksheet, report: ExecutionReport) -> None:
    _table(
        ws,
        ["规则", "原文", "限值", "计划占比", "计划情况", "本期已支付（元）", "累计实际金额（元）",
         "累计资金（元）", "实际占比", "实际情况", "未记录数据的期次", "领导小组决定（偏离原则上比例）"],
        [[r.name, r.wording or "", r.limit_text, _percent(r.plan.share_percent), r.plan.status_zh,
          yuan(r.paid_this_phase_fen), yuan(r.actual.numerator_fen), yuan(r.actual.denominator_fen),
          _percent(r.actual.share_percent), r.actual.status_zh, "；".join(r.actual.missing),
          r.decisions_zh]
         for r in report.ratios],
    )  # fmt: skip
    _widths(ws, [36, 40, 10, 10, 14, 16, 18, 16, 10, 16, 20, 60])


def _text_never_formula(ws: Worksheet) -> None:
    """Names, notes and codes come from users (program files, enterprises, providers): openpyxl
    stores any str starting with "=" as a formula, so "=HYPERLINK(...)" in a provider's name
    would run in the reviewer's Excel. We never write a formula: every text cell is a string."""
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            cell.data_type = "s"
            # Text a spreadsheet would take for a formula when the cell is edited or the sheet
            # saved as CSV also gets Excel's quote prefix, so it stays text then too.
            if cell.value.startswith(FORMULA_STARTS):
                cell.quotePrefix = True


def render_xlsx(report: ExecutionReport) -> bytes:
    wb = Workbook()
    sheets = [wb.active] + [wb.create_sheet() for _ in SHEETS[1:]]
    for ws, title in zip(sheets, SHEETS, strict=True):
        assert ws is not None
        ws.title = title
    _summary(sheets[0], report)  # type: ignore[arg-type]
    _money(sheets[1], report)  # type: ignore[arg-type]
    _targets(sheets[2], report)  # type: ignore[arg-type]
    _contracts(sheets[3], report)  # type: ignore[arg-type]
    _milestones(sheets[4], report)  # type: ignore[arg-type]
    _ratios(sheets[5], report)  # type: ignore[arg-type]
    for ws in sheets:  # printed for the review: landscape A4, as wide as the page
        assert ws is not None
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"
        _text_never_formula(ws)
    wb.properties.title = report.header.title
    wb.properties.creator = report.header.generated_by
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
