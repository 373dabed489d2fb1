"""The journal (序时账) for accountants: CSV (UTF-8 with BOM, Chinese headings), xlsx and a
beancount file that ``bean-check`` accepts. Pure: bytes and text in memory, from
``domain.journal.JournalExport``.

Amounts are yuan written from integer fen by moving the decimal point (never a float): CSV and
beancount as Decimal text ("2469.00"), xlsx as number cells (``#,##0.00``).

People open the CSV and the workbook in a spreadsheet, and names, references and reasons in
them are typed by other people: no text becomes a formula. In the workbook every text cell is
stored as a string, exactly as typed; in the CSV a
text starting like a formula gets a leading apostrophe (``ruralfund_common.text.
spreadsheet_safe``: the OWASP rule, full-width forms too).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from ruralfund_common.text import spreadsheet_safe

from ..domain.journal import ChartAccount, JournalExport, JournalRow, chart_account, yuan_text

__all__ = [
    "CHART_HEADINGS",
    "EXTENSIONS",
    "FORMATS",
    "HEADINGS",
    "MEDIA_TYPES",
    "file_name",
    "render",
    "render_beancount",
    "render_csv",
    "render_xlsx",
]

FORMATS: Final = ("csv", "xlsx", "beancount")
PROGRESS_EVERY_ROWS: Final = 1_000
Progress = Callable[[int, int], None]  # (rows written, rows)
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "beancount": "text/plain; charset=utf-8",
}
EXTENSIONS: Final = {"csv": "csv", "xlsx": "xlsx", "beancount": "beancount"}

HEADINGS: Final = (
    "分录编号", "业务类型", "业务类型名称", "记账日期", "凭证号", "摘要", "科目编码",
    "科目名称", "科目类型", "账簿", "借方金额（元）", "贷方金额（元）", "项目编码",
    "业务编号", "记账时间（UTC）",
)  # fmt: skip
CHART_HEADINGS: Final = ("科目编码", "科目名称", "科目类型", "账簿", "beancount科目")
BOM: Final = "\ufeff"


def _cells(row: JournalRow) -> list[Any]:
    """A row's values: dates as date, yuan as Decimal, everything else text."""
    a = row.account
    return [
        row.entry_id,
        row.kind,
        row.kind_zh,
        row.accounting_date,
        row.voucher_no,
        row.summary,
        a.account,
        a.name_zh,
        a.type.value,
        a.book,
        Decimal(row.debit_fen).scaleb(-2),
        Decimal(row.credit_fen).scaleb(-2),
        row.program_code,
        row.reference,
        row.posted_at.isoformat().replace("+00:00", "Z"),
    ]


def _csv_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return spreadsheet_safe(str(value))


def render_csv(export: JournalExport) -> bytes:
    """One line per posting; UTF-8 with a BOM so that Excel reads the Chinese headings."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(HEADINGS)
    for row in export.rows:
        out.writerow([_csv_text(v) for v in _cells(row)])
    return (BOM + buf.getvalue()).encode("utf-8")


# --- xlsx -----------------------------------------------------------------------------------------
YUAN_FORMAT: Final = "#,##0.00"
DATE_FORMAT: Final = "yyyy-mm-dd"


def _chart(export: JournalExport) -> list[ChartAccount]:
    seen: dict[str, ChartAccount] = {r.account.account: r.account for r in export.rows}
    for account in (*export.opening_fen, *export.closing_fen):
        if account not in seen:
            seen[account] = chart_account(account, export.names)
    return [seen[k] for k in sorted(seen)]


def render_xlsx(export: JournalExport, progress: Progress | None = None) -> bytes:
    """Sheets 序时账 (one row per posting) and 科目表 (the chart of accounts used).

    XlsxWriter, row by row in constant memory: openpyxl took 90 s for 80,000 postings."""
    import xlsxwriter  # imported on the first download: funds rarely needs it

    buf = io.BytesIO()
    # every text is written with write_string: never a formula, a number or a link
    wb = xlsxwriter.Workbook(
        buf,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7"}),
        "yuan": wb.add_format({"num_format": YUAN_FORMAT}),
        "date": wb.add_format({"num_format": DATE_FORMAT}),
    }
    journal = wb.add_worksheet("序时账")
    journal.freeze_panes(1, 0)
    for col, width in enumerate((38, 18, 14, 12, 18, 44, 40, 44, 8, 6, 16, 16, 14, 38, 28)):
        journal.set_column(col, col, width)
    _write_row(journal, 0, HEADINGS, formats, head=True)
    for n, row in enumerate(export.rows, start=1):
        _write_row(journal, n, _cells(row), formats)
        if progress and n % PROGRESS_EVERY_ROWS == 0:
            progress(n, len(export.rows))
    chart = wb.add_worksheet("科目表")
    _write_row(chart, 0, CHART_HEADINGS, formats, head=True)
    for n, a in enumerate(_chart(export), start=1):
        _write_row(chart, n, (a.account, a.name_zh, a.type.value, a.book, a.beancount), formats)
    wb.close()
    return buf.getvalue()


def _write_row(
    sheet: Any, row: int, values: Iterable[Any], formats: Mapping[str, Any], *, head: bool = False
) -> None:
    for col, value in enumerate(values):
        if isinstance(value, Decimal):
            sheet.write_number(row, col, value, formats["yuan"])  # exact: at most 2 decimals of fen
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, formats["date"])
        else:
            # (XlsxWriter escapes the control characters XML cannot hold as _xHHHH_)
            sheet.write_string(row, col, str(value), formats["head"] if head else None)


# --- beancount ------------------------------------------------------------------------------------
CURRENCY: Final = "CNY"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def _q(text: str) -> str:
    """A beancount string: one line, backslash and quote escaped."""
    return '"' + _CONTROL.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(fen: int) -> str:
    return f"{yuan_text(fen)} {CURRENCY}"


def render_beancount(export: JournalExport) -> str:
    """Open directives (first use), the opening balances, one transaction per entry (dated on the
    county day, debits positive, credits negative) and balance assertions at the end of the
    range with the database's own sums: bean-check then proves the rows add up to them."""
    rows_by_entry: dict[str, list[JournalRow]] = {}
    for r in export.rows:
        rows_by_entry.setdefault(r.entry_id, []).append(r)
    opening = {a: v for a, v in sorted(export.opening_fen.items()) if v}
    # (opening balances that do not add up to zero are written as they are: bean-check then
    # reports the opening transaction, which is what an auditor needs to see, not a 500)
    start = export.first_day or (export.rows[0].accounting_date if export.rows else None)
    first_use = _opened(export, opening, start)
    _check_injective(a for _, a in first_use.values())

    out = [
        f"; 序时账 {export.program_code} {export.program_name}".rstrip(),
        "; exported from ruralfund funds; dates are accounting days in Asia/Shanghai",
        f'option "title" {_q(f"{export.program_name or export.program_code} 序时账")}',
        f'option "operating_currency" "{CURRENCY}"',
        "",
    ]
    for account, (day, a) in sorted(
        first_use.items(), key=lambda kv: (kv[1][0], kv[1][1].beancount)
    ):
        out += [
            f"{day.isoformat()} open {a.beancount} {CURRENCY}",
            f"  name: {_q(a.name_zh)}",
            f"  ledger-account: {_q(account)}",
            f"  type: {_q(a.type.value)}",
            f"  book: {_q(a.book)}",
        ]
    out.append("")
    if opening and start is not None:
        out.append(f'{start.isoformat()} * "期初余额" {_q(f"{start.isoformat()} 之前各科目余额")}')
        out += [f"  {first_use[a][1].beancount}  {_amount(v)}" for a, v in opening.items()]
        out.append("")
    for lines in rows_by_entry.values():
        out += _transaction(lines)
    out += _balances(export, first_use)
    return "\n".join(out) + "\n"


def _opened(
    export: JournalExport, opening: Mapping[str, int], start: date | None
) -> dict[str, tuple[date, ChartAccount]]:
    """Every account the file touches, with the day it is first used: those with an opening
    balance, those posted to, and those the closing balances say are not zero (an account no
    row explains is then asserted, and bean-check reports it)."""
    first_use: dict[str, tuple[date, ChartAccount]] = {}
    if start is not None:
        for account in opening:
            first_use[account] = (start, chart_account(account, export.names))
    for r in export.rows:
        first_use.setdefault(r.account.account, (r.accounting_date, r.account))
    day = start or export.last_day
    for account, net in sorted(export.closing_fen.items()):
        if net and account not in first_use and day is not None:
            first_use[account] = (day, chart_account(account, export.names))
    return first_use


def _transaction(lines: Sequence[JournalRow]) -> list[str]:
    head = lines[0]
    title = f"{_q(head.payee)} {_q(head.summary)}" if head.payee else _q(head.summary)
    out = [
        f"{head.accounting_date.isoformat()} * {title}",
        f"  voucher: {_q(head.voucher_no)}",
        f"  entry-id: {_q(head.entry_id)}",
        f"  kind: {_q(head.kind)}",
        f"  reference: {_q(head.reference)}",
        f"  program: {_q(head.program_code)}",
    ]
    out += [f"  {r.account.beancount}  {_amount(r.debit_fen - r.credit_fen)}" for r in lines]
    return [*out, ""]


def _balances(export: JournalExport, opened: Mapping[str, tuple[date, ChartAccount]]) -> list[str]:
    """Balance assertions on the day after the range (checked at the start of their day)."""
    if not opened:
        return []
    if export.last_day is not None:
        last = export.last_day
    elif export.rows:
        last = max(r.accounting_date for r in export.rows)
    else:
        last = max(day for day, _ in opened.values())
    day = (last + timedelta(days=1)).isoformat()
    return [
        f"{day} balance {a.beancount}  {_amount(export.closing_fen.get(account, 0))}"
        for account, (_, a) in sorted(opened.items(), key=lambda kv: kv[1][1].beancount)
    ]


def _check_injective(accounts: Iterable[ChartAccount]) -> None:
    by_name: dict[str, str] = {}
    for a in accounts:
        other = by_name.setdefault(a.beancount, a.account)
        assert other == a.account, f"{other} and {a.account} would merge into {a.beancount}"


def render(export: JournalExport, fmt: str, progress: Progress | None = None) -> bytes:
    """The file in one of ``FORMATS``."""
    if fmt == "xlsx":
        return render_xlsx(export, progress)
    if fmt == "beancount":
        return render_beancount(export).encode("utf-8")
    assert fmt == "csv", fmt
    return render_csv(export)


def file_name(program_code: str, first_day: date | None, last_day: date | None, fmt: str) -> str:
    """xinping-2021-journal-2026-10-01-2026-10-31.xlsx"""
    span = "".join(f"-{d.isoformat()}" for d in (first_day, last_day) if d)
    return f"{program_code}-journal{span}.{EXTENSIONS[fmt]}"
