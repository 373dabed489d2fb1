"""The accountant's journal: chart of accounts, county days, voucher numbers, 摘要, and the CSV,
xlsx and beancount renderings, with the seed figures (12,345 boxes × 0.20 = 2,469.00 yuan)."""

from __future__ import annotations

import csv
import inspect
import io
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from ruralfund_common.calendar import COUNTY_TZ
from ruralfund_funds.domain import ledger as L
from ruralfund_funds.domain.journal import (
    AccountType,
    AdjustmentInfo,
    AwardInfo,
    ItemName,
    JournalExport,
    Names,
    PostedEntry,
    RepaymentInfo,
    beancount_component,
    chart_account,
    journal_rows,
    summary,
    voucher_numbers,
    yuan_text,
)
from ruralfund_funds.reports.journal import HEADINGS, render_beancount, render_csv, render_xlsx

CC = "91530427MA6K0B0Q1Y"
NAMES = Names(
    program_name="新平县2021年电子商务进农村综合示范项目后续",
    lines={"brand": "农产品品牌推广建设体系"},
    items={
        "brand-packaging": ItemName("brand", "农产品品牌推广建设体系", "品牌包装", "reward"),
        "new-product": ItemName("brand", "农产品品牌推广建设体系", "新品研发奖励", "reward"),
        "anchor-training": ItemName(
            "brand", "农产品品牌推广建设体系", "带货主播孵化培训", "service"
        ),
    },
    payees={CC: "新平某某公司"},
    awards={
        "award-1": AwardInfo("award", "brand-packaging", CC, "新平某某公司"),
        "pre-1": AwardInfo("preallocation", "anchor-training", CC, "新平某某公司"),
    },
    payments={"pay-1": "award-1", "pay-2": "pre-1"},
    releases={"rel-1": "领导小组〔2026〕1号"},
    adjustments={"adj-1": AdjustmentInfo("new-product", "brand-packaging", "新电商领〔2026〕3号")},
    defaults={CC: "新电商领〔2026〕4号"},
    repayments={"rep-1": RepaymentInfo(CC, "T-778")},
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def entry(entry_id: str, ledger_entry: L.Entry, posted_at: str) -> PostedEntry:
    return PostedEntry(
        entry_id, ledger_entry.kind, ledger_entry.reference, at(posted_at), ledger_entry.lines
    )


def payment(entry_id: str, posted_at: str, amount_fen: int = 246_900) -> PostedEntry:
    e = L.payment_entry(
        "brand",
        "brand-packaging",
        "award-1",
        CC,
        amount_fen,
        from_payable=False,
        payment_id="pay-1",
    )
    return entry(entry_id, e, posted_at)


def test_yuan_are_decimal_text_from_integer_fen():
    assert yuan_text(246_900) == "2469.00"
    assert yuan_text(1) == "0.01" and yuan_text(0) == "0.00" and yuan_text(-246_900) == "-2469.00"
    assert yuan_text(2**63 - 1) == "92233720368547758.07"  # the largest bigint, exactly
    with pytest.raises(AssertionError):
        yuan_text(2469.0)  # type: ignore[arg-type]


def test_a_2100z_posting_is_on_the_next_county_day_and_vouchers_restart_each_day():
    entries = [
        payment("e-3", "2026-10-13T21:00:00"),  # 05:00 on 10-14 in Shanghai
        payment("e-1", "2026-10-13T02:00:00"),
        payment("e-2", "2026-10-13T15:59:59"),  # 23:59:59 on 10-13
        payment("e-4", "2026-10-14T03:00:00"),
    ]
    assert voucher_numbers(entries) == {
        "e-1": "记-20261013-0001",
        "e-2": "记-20261013-0002",
        "e-3": "记-20261014-0001",
        "e-4": "记-20261014-0002",
    }
    rows = journal_rows("xinping-2021", entries, NAMES)
    assert [r.accounting_date for r in rows[::4]] == [
        date(2026, 10, 13),
        date(2026, 10, 13),
        date(2026, 10, 14),
        date(2026, 10, 14),
    ]
    # same instant: the entry id decides, so the numbers are stable across exports
    tie = [payment("b", "2026-10-13T02:00:00"), payment("a", "2026-10-13T02:00:00")]
    assert voucher_numbers(tie) == {"a": "记-20261013-0001", "b": "记-20261013-0002"}


def test_summary_names_the_payee_and_the_item_from_what_funds_holds():
    pay = payment("e-1", "2026-10-13T02:00:00")
    assert summary(pay, NAMES) == ("支付 新平某某公司 品牌包装奖补", "新平某某公司")
    reserve = entry(
        "e-2", L.reserve_entry("brand", "new-product", "award-1", 100), "2026-10-13T02:00:00"
    )
    assert summary(reserve, NAMES)[0] == "预留 新平某某公司 品牌包装奖补"
    pre = entry(
        "e-3",
        L.payment_entry(
            "brand", "anchor-training", "pre-1", CC, 100, from_payable=False, payment_id="pay-2"
        ),
        "2026-10-13T02:00:00",
    )
    assert summary(pre, NAMES)[0] == "预拨 新平某某公司 带货主播孵化培训预拨款"
    again = entry(
        "e-9",
        L.payment_entry(
            "brand", "brand-packaging", "award-1", CC, 100, from_payable=True, payment_id="pay-1"
        ),
        "2026-10-13T02:00:00",
    )
    assert summary(again, NAMES)[0] == "重新支付 新平某某公司 品牌包装奖补"
    reversed_ = entry(
        "e-10",
        L.reversal_entry("brand", "brand-packaging", CC, 100, payment_id="pay-1"),
        "2026-10-13T02:00:00",
    )
    assert summary(reversed_, NAMES)[0] == "冲回支付（银行未成功） 新平某某公司 品牌包装奖补"
    release = entry("e-4", L.release_entry(100, "rel-1"), "2026-10-13T02:00:00")
    assert summary(release, NAMES)[0] == "中央财政资金拨入共管账户（领导小组〔2026〕1号）"
    adjust = entry(
        "e-5",
        L.adjustment_entry(("brand", "new-product"), ("brand", "brand-packaging"), 100, "adj-1"),
        "2026-10-13T02:00:00",
    )
    assert summary(adjust, NAMES)[0] == "预算调整 新品研发奖励 调入 品牌包装（新电商领〔2026〕3号）"
    default = entry("e-6", L.default_entry(CC, 100, f"default:{CC}"), "2026-10-13T02:00:00")
    assert (
        summary(default, NAMES)[0]
        == "新平某某公司 违约，已付款项转应收追回款（新电商领〔2026〕4号）"
    )
    returned = entry("e-11", L.return_entry(100, f"default:{CC}"), "2026-10-13T02:00:00")
    assert summary(returned, NAMES)[0] == (
        "共管账户资金缴回县财政局（新平某某公司 违约，新电商领〔2026〕4号）"
    )
    repaid = entry("e-7", L.repayment_entry(CC, 100, "rep-1"), "2026-10-13T02:00:00")
    assert summary(repaid, NAMES)[0] == "收回 新平某某公司 追回款（T-778）"
    # an award funds does not know (never in this program): the reference, not a guess
    unknown = entry(
        "e-8", L.void_entry("brand", "new-product", "award-x", 100), "2026-10-13T02:00:00"
    )
    assert summary(unknown, NAMES) == ("预留撤销 award-x", "")


def _ledger_kinds() -> set[str]:
    return set(re.findall(r'Entry\(\s*"([a-z_]+)"', inspect.getsource(L)))


def test_every_entry_kind_the_ledger_posts_has_a_chinese_name_and_a_summary():
    from ruralfund_funds.domain.journal import KIND_NAMES

    kinds = _ledger_kinds()
    assert {"program_opened", "payment_executed", "clawback_repaid"} <= kinds  # the scan finds them
    assert kinds <= set(KIND_NAMES), (
        f"name these kinds in domain/journal.py: {kinds - set(KIND_NAMES)}"
    )


def _ledger_accounts() -> list[str]:
    """One account of every kind the ledger module defines (constants and account_* builders)."""
    out = [v for k, v in vars(L).items() if k.isupper() and isinstance(v, str) and ":" in v]
    for name in L.__all__:
        if name.startswith("account_"):
            fn = getattr(L, name)
            out.append(fn(*[f"x{i}" for i in range(len(inspect.signature(fn).parameters))]))
    return out


_NATURAL_SIDE = {
    AccountType.ASSET: L.Side.DEBIT,
    AccountType.EXPENSE: L.Side.DEBIT,
    AccountType.LIABILITY: L.Side.CREDIT,
    AccountType.INCOME: L.Side.CREDIT,
    AccountType.EQUITY: L.Side.CREDIT,
}


def test_every_account_kind_the_ledger_defines_maps_to_a_type_on_its_natural_side():
    accounts = _ledger_accounts()
    assert len(accounts) >= 10, accounts
    for account in accounts:
        a = chart_account(account, NAMES)
        assert a.known, f"{account} is not in the chart of accounts (domain/journal.py)"
        assert a.beancount.split(":")[0] == a.type.root
        if account != L.BUDGET_CONTROL:  # the budget total is the contra account of the earmarks
            assert L.normal_side(account) is _NATURAL_SIDE[a.type], (account, a.type)


def test_chart_names_and_types():
    a = chart_account("budget:brand/brand-packaging", NAMES)
    assert (a.type, a.name_zh, a.beancount, a.book) == (
        AccountType.EQUITY,
        "可用预算-农产品品牌推广建设体系-品牌包装",
        "Equity:Budget:Available:Brand:Brand-packaging",
        "预算",
    )
    assert chart_account(f"payee:{CC}", NAMES).name_zh == "已支付-新平某某公司"
    assert chart_account(f"payee:{CC}", NAMES).beancount == f"Expenses:Payee:{CC}"
    assert chart_account(L.FUND_ALLOCATION).type is AccountType.INCOME
    assert chart_account(f"payable:brand/brand-packaging/{CC}", NAMES).type is AccountType.LIABILITY
    # a family a newer ledger may add: still mapped, by its normal side, and flagged
    odd = chart_account("escrow:brand/x")
    assert (odd.known, odd.type, odd.beancount) == (
        False,
        AccountType.ASSET,
        "Assets:Other:Escrow:Brand:X",
    )


def test_beancount_components_are_valid_and_never_merge_two_accounts():
    valid = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")
    samples = [
        "brand-packaging",
        CC,
        "award-1",
        "Award-1",
        "award.1",
        "award_1",
        "A",
        "-x",
        "新平",
        "a b",
        "a1",
        "A1",
        "a",
        "",
    ]
    out = [beancount_component(s) for s in samples]
    assert all(valid.fullmatch(c) for c in out), out
    assert len(set(out)) == len(samples), out
    assert beancount_component("brand-packaging") == "Brand-packaging"


def _flow() -> list[PostedEntry]:
    """Open 1,000,000.00 on three items, release, reserve and pay 2,469.00 (a day later in
    Shanghai: 21:00Z), a second award voided."""
    items = {
        ("brand", "brand-packaging"): 600_000_00,
        ("brand", "new-product"): 300_000_00,
        ("brand", "anchor-training"): 100_000_00,
    }
    return [
        entry(
            "e-1", L.open_program_entry(1_000_000_00, items, "xinping-2021"), "2026-10-12T02:00:00"
        ),
        entry("e-2", L.release_entry(500_000_00, "rel-1"), "2026-10-12T03:00:00"),
        entry(
            "e-3",
            L.reserve_entry("brand", "brand-packaging", "award-1", 246_900),
            "2026-10-13T02:00:00",
        ),
        entry(
            "e-4",
            L.reserve_entry("brand", "new-product", "award-2", 5_000_00),
            "2026-10-13T03:00:00",
        ),
        entry(
            "e-5", L.void_entry("brand", "new-product", "award-2", 5_000_00), "2026-10-13T04:00:00"
        ),
        payment("e-6", "2026-10-13T21:00:00"),
    ]


def _export(entries: list[PostedEntry], **kw) -> JournalExport:
    closing: dict[str, int] = {}
    for e in entries:
        for ln in e.lines:
            closing[ln.account] = closing.get(ln.account, 0) + ln.debit_fen - ln.credit_fen
    return JournalExport(
        "xinping-2021",
        NAMES.program_name,
        journal_rows("xinping-2021", entries, NAMES),
        closing_fen=kw.pop("closing_fen", closing),
        names=NAMES,
        **kw,
    )


def test_csv_has_a_bom_chinese_headings_and_yuan_text():
    body = render_csv(_export(_flow()))
    assert body.startswith("\ufeff分录编号,".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADINGS
    paid = [r for r in rows if r[0] == "e-6"]
    assert [(r[3], r[4], r[6], r[8], r[10], r[11]) for r in paid] == [
        (
            "2026-10-14",
            "记-20261014-0001",
            "reserved:brand/brand-packaging/award-1",
            "净资产",
            "2469.00",
            "0.00",
        ),
        (
            "2026-10-14",
            "记-20261014-0001",
            "spent:brand/brand-packaging",
            "净资产",
            "0.00",
            "2469.00",
        ),
        ("2026-10-14", "记-20261014-0001", f"payee:{CC}", "支出", "2469.00", "0.00"),
        ("2026-10-14", "记-20261014-0001", "bank:joint", "资产", "0.00", "2469.00"),
    ]
    assert {r[5] for r in paid} == {"支付 新平某某公司 品牌包装奖补"}
    assert {r[1:3] == ["payment_executed", "支付"] and r[12] == "xinping-2021" for r in paid} == {
        True
    }
    debits = sum(Decimal(r[10]) for r in rows[1:])
    assert (
        debits
        == sum(Decimal(r[11]) for r in rows[1:])
        == Decimal("1000000.00") * 2
        + Decimal("500000.00")
        + Decimal("2469.00") * 3
        + Decimal("5000.00") * 2
    )


def _hostile_names() -> Names:
    evil = '=HYPERLINK("http://x","点我")\n"\\'
    return Names(
        NAMES.program_name,
        NAMES.lines,
        NAMES.items,
        {CC: evil},
        {"award-1": AwardInfo("award", "brand-packaging", CC, evil)},
        NAMES.payments,
    )


def test_user_text_never_becomes_a_formula():
    """An award id, a payee name typed by someone else: text in both files, never a formula."""
    names = _hostile_names()
    reserved = entry(
        "e-1", L.reserve_entry("brand", "brand-packaging", "=1+1", 100), "2026-10-13T02:00:00"
    )
    export = JournalExport(
        "xinping-2021", "x", journal_rows("xinping-2021", [reserved], names), names=names
    )
    rows = list(csv.reader(io.StringIO(render_csv(export).decode("utf-8-sig"))))
    assert {r[13] for r in rows[1:]} == {"'=1+1"}  # 业务编号: the apostrophe keeps it text
    assert {r[7] for r in rows[1:]} >= {"已预留预算-农产品品牌推广建设体系-品牌包装-=1+1"}
    raw = render_xlsx(export)
    ws = load_workbook(io.BytesIO(raw))["序时账"]
    refs = [row[13] for row in ws.iter_rows(min_row=2)]
    assert {(c.value, c.data_type) for c in refs} == {("=1+1", "s")}
    import zipfile

    sheet_xml = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_xlsx_has_number_cells_for_yuan_and_date_cells():
    wb = load_workbook(io.BytesIO(render_xlsx(_export(_flow()))))
    assert wb.sheetnames == ["序时账", "科目表"]
    ws = wb["序时账"]
    assert tuple(c.value for c in ws[1]) == HEADINGS
    paid = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[0] == "e-6"]
    assert paid[0][10] == 2469 and isinstance(paid[0][10], (int, float, Decimal))
    assert ws.cell(row=2, column=11).number_format == "#,##0.00"
    assert paid[0][3].date() == date(2026, 10, 14)
    chart = {r[0]: r for r in wb["科目表"].iter_rows(min_row=2, values_only=True)}
    assert chart["bank:joint"][1:] == ("银行存款-共管账户", "资产", "资金", "Assets:Bank:Joint")


def _bean_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "journal.beancount"
    path.write_text(text, encoding="utf-8")
    exe = shutil.which("bean-check", path=str(Path(sys.executable).parent))
    assert exe, "bean-check comes with the dev dependency beancount"
    return subprocess.run(
        [exe, str(path)], check=False, capture_output=True, text=True, timeout=120
    )


def test_beancount_export_passes_bean_check(tmp_path):
    text = render_beancount(_export(_flow()))
    assert "2026-10-12 open Assets:Bank:Joint CNY" in text
    assert '2026-10-14 * "新平某某公司" "支付 新平某某公司 品牌包装奖补"' in text
    assert "  Expenses:Payee:91530427MA6K0B0Q1Y  2469.00 CNY" in text
    assert "2026-10-15 balance Assets:Bank:Joint  497531.00 CNY" in text  # 500,000.00 − 2,469.00
    result = _bean_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bean_check_catches_a_row_missing_from_the_export(tmp_path):
    """The balance assertions come from the database's own sums: a lost row cannot pass."""
    flow = _flow()
    closing = _export(flow).closing_fen
    text = render_beancount(_export(flow[:-1], closing_fen=closing))
    result = _bean_check(tmp_path, text)
    assert result.returncode != 0 and "Balance failed" in result.stdout + result.stderr


def test_a_range_starts_with_the_opening_balances(tmp_path):
    flow = _flow()
    before, inside = flow[:2], flow[2:]
    opening = _export(before).closing_fen
    export = _export(
        inside,
        first_day=date(2026, 10, 13),
        last_day=date(2026, 10, 14),
        opening_fen=opening,
        closing_fen=_export(flow).closing_fen,
    )
    text = render_beancount(export)
    assert '2026-10-13 * "期初余额"' in text and "2026-10-15 balance" in text
    assert _bean_check(tmp_path, text).returncode == 0, text


def test_hostile_names_stay_inside_beancount_strings(tmp_path):
    names = _hostile_names()
    flow = _flow()
    export = JournalExport(
        "xinping-2021",
        'x"\n',
        journal_rows("xinping-2021", flow, names),
        closing_fen=_export(flow).closing_fen,
        names=names,
    )
    result = _bean_check(tmp_path, render_beancount(export))
    assert result.returncode == 0, result.stdout + result.stderr


# --- properties ----------------------------------------------------------------------------------
_INSTANT = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 4), timezones=st.just(UTC)
)
_AWARD = st.sampled_from(["award-1", "Award.2", "a_3"])


@st.composite
def _entries(draw) -> list[PostedEntry]:
    """Random postings of every kind the ledger builds, at random instants around midnight."""
    builders = [
        lambda n: L.release_entry(n, "rel-1"),
        lambda n: L.reserve_entry("brand", "brand-packaging", draw(_AWARD), n),
        lambda n: L.void_entry("brand", "new-product", draw(_AWARD), n),
        lambda n: L.payment_entry(
            "brand",
            "brand-packaging",
            draw(_AWARD),
            CC,
            n,
            from_payable=draw(st.booleans()),
            payment_id="pay-1",
        ),
        lambda n: L.reversal_entry("brand", "brand-packaging", CC, n, payment_id="pay-1"),
        lambda n: L.default_entry(CC, n, f"default:{CC}"),
        lambda n: L.repayment_entry(CC, n, "rep-1"),
    ]
    out = []
    for i in range(draw(st.integers(1, 25))):
        build = draw(st.sampled_from(builders))
        e = build(draw(st.integers(1, 10**12)))
        out.append(PostedEntry(f"e-{i:03d}", e.kind, e.reference, draw(_INSTANT), e.lines))
    return out


@settings(max_examples=40, deadline=None)
@given(_entries(), st.randoms())
def test_vouchers_number_each_county_day_from_one_whatever_the_order(entries, rnd):
    numbers = voucher_numbers(entries)
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert voucher_numbers(shuffled) == numbers
    by_day: dict[str, list[int]] = {}
    for e in entries:
        word, day, n = numbers[e.entry_id].split("-")
        assert word == "记" and day == f"{e.posted_at.astimezone(COUNTY_TZ):%Y%m%d}"
        by_day.setdefault(day, []).append(int(n))
    assert all(sorted(ns) == list(range(1, len(ns) + 1)) for ns in by_day.values())


@settings(max_examples=25, deadline=None)
@given(_entries())
def test_any_journal_loads_in_beancount_without_errors(entries):
    from beancount import loader

    export = _export(entries)
    _, errors, _ = loader.load_string(render_beancount(export))
    assert errors == [], (errors, render_beancount(export))
    csv_rows = list(csv.reader(io.StringIO(render_csv(export).decode("utf-8-sig"))))[1:]
    assert sum(Decimal(r[10]) for r in csv_rows) == sum(Decimal(r[11]) for r in csv_rows)


_CODE_TEXT = st.text(alphabet="aAzZ019-._新", max_size=6)


@settings(max_examples=300, deadline=None)
@given(_CODE_TEXT, _CODE_TEXT)
def test_two_ledger_codes_never_share_a_beancount_component(text, other):
    """Codes that differ only in case are the likely collisions: always among the candidates."""
    valid = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")
    codes = {text, other, text.lower(), text.upper(), text.capitalize(), text.swapcase()}
    components = {beancount_component(c) for c in codes}
    assert len(components) == len(codes), codes
    assert all(valid.fullmatch(c) for c in components)


def test_a_balance_no_row_explains_or_unbalanced_opening_is_written_for_bean_check_to_refuse():
    """Tampered figures are evidence: the file is still written, and beancount reports them."""
    from beancount import loader

    flow = _flow()
    closing = {**_export(flow).closing_fen, f"clawback:{CC}": 100}  # kept, but never posted
    _, errors, _ = loader.load_string(render_beancount(_export(flow, closing_fen=closing)))
    assert [e.message for e in errors if "Clawback" in e.message], errors
    opening = {"bank:joint": 100, "fund:receivable": -99}  # does not add up
    text = render_beancount(_export(flow[2:], first_day=date(2026, 10, 13), opening_fen=opening))
    _, errors, _ = loader.load_string(text)
    assert any("does not balance" in e.message for e in errors), errors
