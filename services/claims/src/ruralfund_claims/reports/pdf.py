"""The execution report as a PDF in Chinese (reportlab): title, header, tables, page numbers
and the sign-off block (编制单位、负责人、日期).

Font: WenQuanYi Micro Hei (文泉驿微米黑, Apache-2.0) from the ``paperang-p2-fonts-cjk`` package,
a dependency of claims: ``uv sync`` and the service image bring it, nothing is installed by
hand. reportlab embeds a subset of it (only the glyphs the report uses, as ``ABCDEF+`` subset
fonts with a ToUnicode map, so the text can be searched and copied): every reader shows the
Chinese, one without any Chinese font of its own too. The built-in ``STSong-Light`` used
before is never embedded, and such a reader showed every character as a box. The font must
have TrueType outlines: reportlab cannot embed CFF-based OpenType, which the Noto/Source Han
CJK fonts on PyPI are.

Money in tables is the figure under a "（元）" heading (2,200,000.00), in running text
"97,531.00 元"; days are "2026年10月13日" (``ruralfund_common``'s ``yuan_zh``/``date_zh``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from importlib.resources import as_file, files
from io import BytesIO
from typing import Any, Final

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from ruralfund_common.calendar import date_zh
from ruralfund_common.money import format_yuan, yuan_zh

from . import PDF_MEDIA_TYPE
from .model import ExecutionReport, Figures

__all__ = ["FONT", "FONT_FILE", "FONT_PACKAGE", "PDF_MEDIA_TYPE", "font_covers", "render_pdf"]

FONT: Final = "WenQuanYiMicroHei"
FONT_PACKAGE: Final = "paperang_p2_fonts_cjk"
FONT_FILE: Final = "fonts/wqy-microhei.ttc"  # a collection: face 0 is Micro Hei, 1 its Mono
PAGE: Final = landscape(A4)
MARGIN: Final = 12 * mm
WIDTH: Final = PAGE[0] - 2 * MARGIN



def _register_font() -> TTFont:
    # TTFont reads the whole file when it is made: the path is needed only until then.
    with as_file(files(FONT_PACKAGE).joinpath(FONT_FILE)) as path:
        font = TTFont(FONT, path, subfontIndex=0)
    pdfmetrics.registerFont(font)
    return font


_FONT: Final = _register_font()
# reportlab subsets a TrueType font by seeking in the one parsed copy that every document
# shares: two PDFs built at once (the API renders in a thread pool) corrupt each other's subset
# (KeyError in makeSubset, seen with 6 threads). One build at a time; a report takes well under
# a second.
_BUILD_LOCK: Final = threading.Lock()


def font_covers(char: str) -> bool:
    """The embedded font has a glyph for ``char`` (a reader shows a box for one it has not)."""
    return ord(char) in _FONT.face.charToGlyph
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=8, leading=10.5, wordWrap="CJK")
_NUM = ParagraphStyle("num", parent=_BODY, alignment=TA_RIGHT)
_HEAD = ParagraphStyle("head", parent=_BODY, fontSize=8)
_TITLE = ParagraphStyle(
    "title", fontName=FONT, fontSize=16, leading=22, alignment=TA_CENTER, wordWrap="CJK"
)
_SUBTITLE = ParagraphStyle("subtitle", parent=_TITLE, fontSize=10, leading=14)
_SECTION = ParagraphStyle(
    "section",
    fontName=FONT,
    fontSize=11,
    leading=15,
    spaceBefore=8,
    spaceAfter=4,
    keepWithNext=True,  # a heading never ends a page without its table
)
# A table sets its cells' font even where a Paragraph draws the text: ours, not Helvetica.
_CELL_FONT: Final = ("FONTNAME", (0, 0), (-1, -1), FONT)
_SIGN = ParagraphStyle("sign", parent=_BODY, fontSize=10.5, leading=14)
_NOTE = ParagraphStyle("note", parent=_BODY, fontSize=8.5, leading=12)


class _NumberedCanvas(Canvas):
    """Draws "第 n 页 / 共 m 页" once the page count is known (pages are kept until save)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.drawCentredString(PAGE[0] / 2, 7 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
            super().showPage()
        super().save()


# Symbols the font has no glyph for, as the nearest one it has: a reader shows a missing
# glyph as a box, which looks like a defect in the figures.
_GB_SAFE: Final = str.maketrans({"−": "-", "‐": "-", "‑": "-", "–": "-", "•": "·", "\u00a0": " "})


def _p(text: object, style: ParagraphStyle = _BODY) -> Paragraph:
    shown = "—" if text is None or text == "" else str(text).translate(_GB_SAFE)
    escaped = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, style)


def _y(fen: int) -> Paragraph:
    return _p(format_yuan(fen), _NUM)


def _table(
    headings: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    bold_rows: Sequence[int] = (),
) -> Table:
    assert abs(sum(widths) - 1) < 1e-9, "column widths are fractions of the page width"
    data = [[_p(h, _HEAD) for h in headings]]
    data += [[c if isinstance(c, Paragraph) else _p(c) for c in row] for row in rows]
    table = Table(data, colWidths=[w * WIDTH for w in widths], repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    style += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F2F2F2")) for r in bold_rows]
    table.setStyle(TableStyle([_CELL_FONT, *style]))
    return table


def _figures(f: Figures) -> list[Paragraph]:
    return [
        _y(f.budget_fen),
        _y(f.committed_fen),
        _y(f.paid_fen),
        _y(f.remaining_fen),
        _y(f.uncommitted_fen),
    ]


_FIGURES = ("预算（元）", "承诺（元）", "已支付（元）", "剩余（元）", "未承诺（元）")


def _header(report: ExecutionReport) -> list[Any]:
    h = report.header
    rows = [
        ["项目名称", h.program_name, "县（行政区划代码）", f"{h.county_name}（{h.county_code}）"],
        ["年度 / 期次", f"{h.year}年 {h.phase_zh}", "中央财政资金", yuan_zh(h.total_fen)],
        ["依据文件", h.document or "—", "统计截至", _date(h.as_of)],
        ["系统内项目编号", h.program_code, "导出人", h.generated_by],
    ]
    table = Table(
        [[_p(c) for c in row] for row in rows],
        colWidths=[w * WIDTH for w in (0.12, 0.48, 0.14, 0.26)],
    )
    table.setStyle(TableStyle([_CELL_FONT, ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
                               ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#F2F2F2"))]))  # fmt: skip
    # Names from the program file are text, never reportlab markup (<img src=...> reads files).
    return [_p(h.title, _TITLE), _p(h.program_name, _SUBTITLE), Spacer(1, 4), table]


def _date(d: date | None) -> str:
    return date_zh(d) if d else "—"


def _money(report: ExecutionReport) -> list[Any]:
    by_line = [[line.name, *_figures(line.figures)] for line in report.lines]
    by_line.append(["合计", *_figures(report.totals)])
    rows: list[list[Any]] = []
    subtotals: list[int] = []
    for line in report.lines:
        subtotals.append(len(rows) + 1)
        rows.append([f"{line.name}（小计）", "", *_figures(line.figures)])
        rows += [[f"　{i.name}", i.mode_zh, *_figures(i.figures)] for i in line.items]
    rows.append(["合计", "", *_figures(report.totals)])
    return [
        Paragraph("一、资金执行情况（按方向）", _SECTION),
        _table(["方向", *_FIGURES], by_line, (0.30, 0.14, 0.14, 0.14, 0.14, 0.14),
               bold_rows=[len(by_line)]),
        Paragraph("二、资金执行情况（按项目）", _SECTION),
        _table(["方向 / 项目", "实施方式", *_FIGURES], rows,
               (0.30, 0.08, 0.124, 0.124, 0.124, 0.124, 0.124),
               bold_rows=[*subtotals, len(rows)]),
    ]  # fmt: skip


def _targets(report: ExecutionReport) -> list[Any]:
    targets = [[t.name, t.unit, t.target, t.actual, t.status_zh, t.source] for t in report.targets]
    out: list[Any] = [Paragraph("三、绩效目标完成情况", _SECTION)]
    out.append(_table(["绩效目标", "单位", "指标值", "实际值", "完成情况", "数据来源"], targets,
                      (0.30, 0.07, 0.12, 0.12, 0.11, 0.28)))  # fmt: skip
    return out


def _contracts(report: ExecutionReport) -> list[Any]:
    contracts = [
        [c.contract_no, c.item_name, c.provider_name, c.procurement, f"{_date(c.signed_on)}至{_date(c.ends_on)}",
         _y(c.amount_fen), _y(c.paid_fen), c.status_zh,
         f"{c.deliverables_met}/{c.deliverables_total}", f"{c.milestones_accepted}/{c.milestones_total}"]
        for c in report.contracts
    ]  # fmt: skip
    deliverables = [
        [d.contract_no, d.name, d.unit, d.target, d.actual, d.status_zh]
        for d in report.deliverables
    ]
    out: list[Any] = [Paragraph("四、采购包组、购买服务合同及交付物", _SECTION)]
    if report.packages:
        packages = [
            # the tender's own number, not the system's code of the package
            [p.tender_ref, p.name, p.item_names, p.method_zh, p.winner_name, _date(p.awarded_on),
             _y(p.budget_fen), _y(p.contracted_fen), _y(p.uncontracted_fen)]
            for p in report.packages
        ]  # fmt: skip
        out.append(_table(["采购项目编号", "包组名称", "项目", "采购方式", "中标单位", "中标日期",
                           "包组预算（元）", "已签合同（元）", "未签合同（元）"], packages,
                          (0.09, 0.17, 0.16, 0.08, 0.16, 0.10, 0.08, 0.08, 0.08)))  # fmt: skip
        out.append(Spacer(1, 6))
    if not contracts:
        return [*out, _p("尚无已签订的购买服务合同。", _NOTE)]
    out.append(_table(
        ["合同编号", "项目", "服务商", "采购方式", "合同期限", "合同金额（元）", "已支付（元）", "状态",
         "交付物达成", "节点验收"], contracts,
        (0.10, 0.16, 0.16, 0.09, 0.12, 0.09, 0.09, 0.07, 0.06, 0.06)))  # fmt: skip
    out.append(Spacer(1, 6))
    out.append(_table(["合同编号", "交付物", "单位", "指标值", "实际值", "完成情况"], deliverables,
                      (0.14, 0.36, 0.08, 0.14, 0.14, 0.14)))  # fmt: skip
    if report.tranches:
        tranches = [
            [t.contract_no, f"第{t.number}期", t.kind_zh, t.milestone_name, t.spending_category_zh,
             _y(t.amount_fen), _y(t.paid_fen), t.status_zh, _date(t.paid_on)]
            for t in report.tranches
        ]  # fmt: skip
        out.append(Spacer(1, 6))
        out.append(_table(["合同编号", "分期", "付款条件", "对应节点", "支出类别", "金额（元）",
                           "已支付（元）", "状态", "支付日期"], tranches,
                          (0.13, 0.06, 0.14, 0.15, 0.10, 0.10, 0.10, 0.12, 0.10)))  # fmt: skip
    return out


def _milestones(report: ExecutionReport) -> list[Any]:
    rows = [
        [m.plan, m.stage_zh, m.name, m.responsible, _date(m.due_on), _date(m.accepted_on),
         m.status_zh, m.days_late or ""]
        for m in report.milestones
    ]  # fmt: skip
    return [
        Paragraph("五、实施进度", _SECTION),
        _table(["计划", "阶段", "工作名称", "责任单位", "时间节点", "完成日期", "完成情况", "逾期天数"],
               rows, (0.12, 0.10, 0.22, 0.18, 0.10, 0.10, 0.10, 0.08)),
    ]  # fmt: skip


def _ratios(report: ExecutionReport) -> list[Any]:
    rows = [
        [r.name, r.limit_text, f"{r.plan.share_percent}%", r.plan.status_zh,
         _y(r.paid_this_phase_fen), _y(r.actual.numerator_fen), _y(r.actual.denominator_fen),
         f"{r.actual.share_percent}%", r.actual.status_zh, "；".join(r.actual.missing)]
        for r in report.ratios
    ]  # fmt: skip
    out: list[Any] = [Paragraph("六、资金使用比例", _SECTION)]
    if not rows:
        return [*out, _p("本项目未规定资金使用比例。", _NOTE)]
    out.append(_table(
        ["规则", "限值", "计划占比", "计划情况", "本期已支付（元）", "累计实际（元）", "累计资金（元）",
         "实际占比", "实际情况", "未记录数据的期次"], rows,
        (0.22, 0.06, 0.07, 0.08, 0.10, 0.10, 0.10, 0.07, 0.10, 0.10)))  # fmt: skip
    for r in report.ratios:  # 原则上 rules departed from: the leading group's decisions
        out += [_p(f"「{r.name}」领导小组决定：{d.text_zh}", _NOTE) for d in r.decisions]
    return out


def _notes(report: ExecutionReport) -> list[Any]:
    out: list[Any] = [Paragraph("七、说明", _SECTION)]
    out += [_p(f"{i}. {note}", _NOTE) for i, note in enumerate(report.notes, start=1)]
    return out


def _sign_off(report: ExecutionReport) -> list[Any]:
    """编制单位 (the program's 主管部门, stamped), 负责人 and 经办人 signing by hand, and the
    report's day; kept on one page so the signatures stay with the block's heading."""
    h = report.header
    rows = [
        [_p("编制单位（盖章）：", _SIGN), _p(h.compiled_by, _SIGN)],
        [_p("负责人（签字）：", _SIGN), ""],
        [_p("经办人（签字）：", _SIGN), ""],
        [_p("日期：", _SIGN), _p(_date(h.as_of), _SIGN)],
    ]
    table = Table(rows, colWidths=[0.14 * WIDTH, 0.30 * WIDTH], hAlign="RIGHT")
    table.setStyle(TableStyle([_CELL_FONT, ("TOPPADDING", (0, 0), (-1, -1), 12),
                               ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               # the lines a person signs on
                               ("LINEBELOW", (1, 1), (1, 2), 0.6, colors.black)]))  # fmt: skip
    return [Spacer(1, 14), KeepTogether([Paragraph("八、编制与签字", _SECTION), table])]


def render_pdf(report: ExecutionReport) -> bytes:
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=14 * mm,
        title=report.header.title,
        author=report.header.generated_by,
        subject=report.header.program_name,
        lang="zh-CN",
        # Not reportlab's default Helvetica: every font the PDF names is the embedded one.
        initialFontName=FONT,
    )
    story = [
        *_header(report),
        *_money(report),
        *_targets(report),
        *_contracts(report),
        *_milestones(report),
        *_ratios(report),
        *_notes(report),
        *_sign_off(report),
    ]
    with _BUILD_LOCK:
        doc.build(story, canvasmaker=_NumberedCanvas)
    return out.getvalue()
