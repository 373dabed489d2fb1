"""The ledger as an accountant reads it (序时账): a chart of accounts, accounting days, voucher
numbers and a 摘要 for every entry. Pure: the service layer loads entries and names, the
renderers (``ruralfund_funds.reports.journal``) write CSV, xlsx and beancount from these rows.

Chart of accounts: the ledger keeps two books in one journal (``domain.ledger``), and each
account is classified by what it holds:

- cash book: the central allocation is income (收入, ``fund:allocation``) that is receivable
  (资产, ``fund:receivable``) until released into the joint account (资产, ``bank:joint``);
  money paid to a payee is spending (支出, ``payee:<credit code>``); what a contractor in
  default must give back is a receivable (资产, ``clawback:<credit code>``);
- budget book (预算备查账): the program total appropriated (``budget:control``) and the item
  budgets, reservations and spent budget carved from it are net assets earmarked for a purpose
  (净资产): they always net to zero, so they never change the balance sheet. The total is
  their contra account (debit-normal). What is owed to a payee again after the bank failed a
  payment is a liability (负债, ``payable:<line>/<item>/<credit code>``).

An account family this module does not know (a newer ledger) still maps: by its normal side to
资产 (debit) or 负债 (credit), named 其他科目, flagged ``known=False``; a unit test fails for
every family the ledger defines that is not mapped explicitly.

Accounting day: the county day (Asia/Shanghai) of the entry's instant: 21:00Z is the next day.
Voucher number (凭证号): 记-YYYYMMDD-NNNN, sequential within the county day in the order
(posted instant, entry id), so a day's numbers are the same in every export that covers it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ruralfund_common.calendar import local_date

from . import ledger as L

__all__ = [
    "KIND_NAMES",
    "VOUCHER_WORD",
    "AccountType",
    "AdjustmentInfo",
    "AwardInfo",
    "ChartAccount",
    "ItemName",
    "JournalExport",
    "JournalRow",
    "Names",
    "PostedEntry",
    "RepaymentInfo",
    "beancount_component",
    "chart_account",
    "journal_rows",
    "kind_name",
    "summary",
    "voucher_numbers",
    "yuan_text",
]

VOUCHER_WORD = "记"  # 记账凭证: one general voucher per ledger entry


class AccountType(StrEnum):
    """The five elements; the Chinese name and the beancount root of each."""

    ASSET = "资产"
    LIABILITY = "负债"
    EQUITY = "净资产"
    INCOME = "收入"
    EXPENSE = "支出"

    @property
    def root(self) -> str:
        return _ROOTS[self]


_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}
CASH_BOOK, BUDGET_BOOK = "资金", "预算"


@dataclass(frozen=True)
class _Family:
    type: AccountType
    name_zh: str
    path: tuple[str, ...]  # beancount components below the root
    book: str


# Accounts with a fixed name, then families (the part before ":"), then the fallback.
_EXACT: Mapping[str, _Family] = {
    L.FUND_ALLOCATION: _Family(
        AccountType.INCOME, "中央财政资金拨款", ("Fund", "Allocation"), CASH_BOOK
    ),
    L.FUND_RECEIVABLE: _Family(
        AccountType.ASSET, "应收中央财政资金", ("Fund", "Receivable"), CASH_BOOK
    ),
    L.BANK_JOINT: _Family(AccountType.ASSET, "银行存款-共管账户", ("Bank", "Joint"), CASH_BOOK),
    L.BUDGET_CONTROL: _Family(
        AccountType.EQUITY, "预算指标总额", ("Budget", "Control"), BUDGET_BOOK
    ),
    # money the program gave back (a defaulted joint account's balance, clawback repayments):
    # it left the program like a payment, so it is spending of the program (缴回财政)
    L.FINANCE_BUREAU: _Family(
        AccountType.EXPENSE, "缴回县财政局资金", ("Finance", "Returned"), CASH_BOOK
    ),
}
_FAMILIES: Mapping[str, _Family] = {
    "bank": _Family(AccountType.ASSET, "银行存款", ("Bank",), CASH_BOOK),
    "payee": _Family(AccountType.EXPENSE, "已支付", ("Payee",), CASH_BOOK),
    "clawback": _Family(AccountType.ASSET, "应收追回款", ("Clawback",), CASH_BOOK),
    "budget": _Family(AccountType.EQUITY, "可用预算", ("Budget", "Available"), BUDGET_BOOK),
    "reserved": _Family(AccountType.EQUITY, "已预留预算", ("Budget", "Reserved"), BUDGET_BOOK),
    "spent": _Family(AccountType.EQUITY, "已执行预算", ("Budget", "Spent"), BUDGET_BOOK),
    "payable": _Family(
        AccountType.LIABILITY, "应付收款人（支付失败待重付）", ("Payable",), BUDGET_BOOK
    ),
}


@dataclass(frozen=True)
class ChartAccount:
    account: str  # the ledger's own code, e.g. "budget:brand/brand-packaging"
    type: AccountType
    name_zh: str
    beancount: str  # e.g. "Equity:Budget:Available:Brand:Brand-packaging"
    book: str
    known: bool = True  # False: a family this chart does not know (mapped by normal side)


# --- names the service layer gathers from what funds stores -------------------------------------
@dataclass(frozen=True)
class ItemName:
    line_code: str
    line_name: str
    name: str
    mode: str  # reward | service


@dataclass(frozen=True)
class AwardInfo:
    kind: str  # award | preallocation | contract_payment
    item_code: str
    payee_credit_code: str
    payee_name: str


@dataclass(frozen=True)
class AdjustmentInfo:
    from_item: str
    to_item: str
    resolution_no: str


@dataclass(frozen=True)
class RepaymentInfo:
    credit_code: str
    bank_reference: str


@dataclass(frozen=True)
class Names:
    """What funds holds about the things an entry refers to (all optional: a missing name falls
    back to the code)."""

    program_name: str = ""
    lines: Mapping[str, str] = field(default_factory=dict)  # line code → name
    items: Mapping[str, ItemName] = field(default_factory=dict)  # item code → item
    payees: Mapping[str, str] = field(default_factory=dict)  # credit code → name
    awards: Mapping[str, AwardInfo] = field(default_factory=dict)  # award id → award
    payments: Mapping[str, str] = field(default_factory=dict)  # payment id → award id
    releases: Mapping[str, str] = field(default_factory=dict)  # release id → approval reference
    adjustments: Mapping[str, AdjustmentInfo] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)  # credit code → resolution number
    repayments: Mapping[str, RepaymentInfo] = field(default_factory=dict)

    def item_name(self, item_code: str) -> str:
        item = self.items.get(item_code)
        return item.name if item else item_code

    def line_name(self, line_code: str) -> str:
        return self.lines.get(line_code, line_code)

    def payee_name(self, credit_code: str) -> str:
        return self.payees.get(credit_code, credit_code)


# --- chart of accounts --------------------------------------------------------------------------
_PLAIN_CODE = re.compile(r"[a-z0-9][a-z0-9-]*")
_UPPER_CODE = re.compile(r"[0-9A-Z]+")  # credit codes


def beancount_component(text: str) -> str:
    """One ledger code as a beancount account component ([A-Z0-9][A-Za-z0-9-]*), injectively.

    Lowercase codes ("brand-packaging") and credit codes keep their text (first letter upper);
    anything else (an award id with dots or capitals) becomes X + its lowercased letters and
    digits + -H + a hash: the capital H can never come out of the first rule, so two ledger
    accounts never merge into one beancount account."""
    if _PLAIN_CODE.fullmatch(text):
        return text[0].upper() + text[1:]
    if _UPPER_CODE.fullmatch(text) and any("A" <= c <= "Z" for c in text[1:]):
        return text  # a capital after the first character: the first rule never makes one
    readable = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10].upper()
    return f"X{readable}-H{digest}"


def chart_account(account: str, names: Names | None = None) -> ChartAccount:
    names = names or Names()
    family_code, _, rest = account.partition(":")
    parts = tuple(p for p in rest.split("/") if p)
    if account in _EXACT:
        fam = _EXACT[account]
        return ChartAccount(
            account, fam.type, fam.name_zh, ":".join((fam.type.root, *fam.path)), fam.book
        )
    fam = _FAMILIES.get(family_code)
    known = fam is not None and bool(parts)
    if not known:
        debit = L.normal_side(account) is L.Side.DEBIT
        fam = _Family(
            AccountType.ASSET if debit else AccountType.LIABILITY,
            "其他科目",
            ("Other", beancount_component(family_code or "unnamed")),
            CASH_BOOK,
        )
        detail = [account]
    else:
        detail = _detail(family_code, parts, names)
    assert fam is not None
    path = (fam.type.root, *fam.path, *(beancount_component(p) for p in parts))
    return ChartAccount(
        account, fam.type, "-".join((fam.name_zh, *detail)), ":".join(path), fam.book, known
    )


def _detail(family: str, parts: tuple[str, ...], names: Names) -> list[str]:
    """The Chinese name's detail: line and item names, the award, the payee."""
    if family in ("payee", "clawback"):
        return [names.payee_name(parts[0])]
    if family in ("budget", "reserved", "spent", "payable") and len(parts) >= 2:
        out = [names.line_name(parts[0]), names.item_name(parts[1])]
        if family == "payable" and len(parts) >= 3:
            out.append(names.payee_name(parts[2]))
        elif len(parts) >= 3:
            out.extend(parts[2:])
        return out
    return list(parts)


# --- entries --------------------------------------------------------------------------------------
KIND_NAMES: Mapping[str, str] = {
    "program_opened": "项目资金下达",
    "funds_released": "资金拨入共管账户",
    "award_reserved": "资金预留",
    "reservation_voided": "预留撤销",
    "payment_executed": "支付",
    "payment_reversed": "支付冲回",
    "budget_adjusted": "预算调整",
    "contractor_defaulted": "违约转应收",
    "clawback_repaid": "追回款收回",
    "funds_returned": "共管账户结余资金缴回县财政局",
}


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


@dataclass(frozen=True)
class PostedEntry:
    entry_id: str
    kind: str
    reference: str
    posted_at: datetime  # aware, UTC in the database
    lines: tuple[L.Line, ...]
    memo: str = ""


@dataclass(frozen=True)
class JournalRow:
    """One posting line as a journal row."""

    entry_id: str
    kind: str
    kind_zh: str
    accounting_date: date
    voucher_no: str
    summary: str
    account: ChartAccount
    debit_fen: int
    credit_fen: int
    program_code: str
    reference: str
    posted_at: datetime
    payee: str = ""  # the counterparty's name where the entry has one (beancount's payee)


@dataclass(frozen=True)
class JournalExport:
    """What a renderer needs: the rows of whole county days, and the balances around them
    (debits − credits per ledger account) summed by the database on their own, so a renderer
    that states them (beancount ``balance``) cross-checks the rows."""

    program_code: str
    program_name: str
    rows: Sequence[JournalRow]
    first_day: date | None = None  # the range asked for (None: from the first entry)
    last_day: date | None = None  # (None: up to the last entry)
    opening_fen: Mapping[str, int] = field(default_factory=dict)  # before first_day
    closing_fen: Mapping[str, int] = field(default_factory=dict)  # at the end of the range
    names: Names = field(default_factory=Names)


def voucher_numbers(entries: Iterable[PostedEntry]) -> dict[str, str]:
    """entry id → 记-YYYYMMDD-NNNN, numbered from 1 within each county day.

    Give it whole days (every entry of each day it covers), or the numbers shift."""
    ordered = sorted(entries, key=lambda e: (e.posted_at, e.entry_id))
    out: dict[str, str] = {}
    day: date | None = None
    n = 0
    for e in ordered:
        d = local_date(e.posted_at)
        n = n + 1 if d == day else 1
        day = d
        out[e.entry_id] = f"{VOUCHER_WORD}-{d:%Y%m%d}-{n:04d}"
    return out


def journal_rows(
    program_code: str, entries: Sequence[PostedEntry], names: Names
) -> list[JournalRow]:
    """Every posting line of ``entries``, in voucher order, debits before credits in an entry."""
    vouchers = voucher_numbers(entries)
    chart: dict[str, ChartAccount] = {}
    rows: list[JournalRow] = []
    for e in sorted(entries, key=lambda e: (e.posted_at, e.entry_id)):
        text, payee = summary(e, names)
        for ln in e.lines:
            acct = chart.get(ln.account) or chart.setdefault(
                ln.account, chart_account(ln.account, names)
            )
            rows.append(
                JournalRow(
                    e.entry_id,
                    e.kind,
                    kind_name(e.kind),
                    local_date(e.posted_at),
                    vouchers[e.entry_id],
                    text,
                    acct,
                    ln.debit_fen,
                    ln.credit_fen,
                    program_code,
                    e.reference,
                    e.posted_at,
                    payee,
                )
            )
    return rows


# --- 摘要 -----------------------------------------------------------------------------------------
_NOUN_SUFFIX = {"award": "奖补", "preallocation": "预拨款", "contract_payment": "合同款"}
_ALREADY_A_NOUN = ("奖补", "奖励", "补助", "补贴")


def _what(award: AwardInfo, names: Names) -> str:
    """品牌包装奖补 / 带货主播孵化培训预拨款 / …合同款: the item and what the money is."""
    item = names.item_name(award.item_code)
    suffix = _NOUN_SUFFIX.get(award.kind, "款项")
    if award.kind == "award" and item.endswith(_ALREADY_A_NOUN):
        suffix = ""
    return item + suffix


def _award_of(entry: PostedEntry, names: Names) -> AwardInfo | None:
    award_id = names.payments.get(entry.reference, entry.reference)
    return names.awards.get(award_id)


def summary(entry: PostedEntry, names: Names) -> tuple[str, str]:
    """(摘要, payee name or "") from the entry's kind and what it refers to."""
    ref = entry.reference
    if entry.kind in (
        "award_reserved",
        "reservation_voided",
        "payment_executed",
        "payment_reversed",
    ):
        award = _award_of(entry, names)
        if award is None:
            return f"{kind_name(entry.kind)} {ref}", ""
        verb = {
            "award_reserved": "预留",
            "reservation_voided": "撤销预留",
            "payment_executed": "支付",
            "payment_reversed": "冲回支付（银行未成功）",
        }[entry.kind]
        if entry.kind == "payment_executed" and award.kind == "preallocation":
            verb = "预拨"
        if entry.kind == "payment_executed" and any(
            ln.account.startswith("payable:") for ln in entry.lines
        ):
            verb = "重新支付"  # what was owed again after the bank failed the first payment
        return f"{verb} {award.payee_name} {_what(award, names)}", award.payee_name
    if entry.kind == "program_opened":
        return f"下达中央财政资金 {names.program_name or ref}，预算分解到项目", ""
    if entry.kind == "funds_released":
        basis = names.releases.get(ref)
        return "中央财政资金拨入共管账户" + (f"（{basis}）" if basis else ""), ""
    if entry.kind == "budget_adjusted" and (adj := names.adjustments.get(ref)):
        return (
            f"预算调整 {names.item_name(adj.from_item)} 调入 {names.item_name(adj.to_item)}"
            f"（{adj.resolution_no}）"
        ), ""
    if entry.kind == "contractor_defaulted":
        credit_code = ref.removeprefix("default:")
        who = names.payee_name(credit_code)
        resolution = names.defaults.get(credit_code)
        return f"{who} 违约，已付款项转应收追回款" + (
            f"（{resolution}）" if resolution else ""
        ), who
    if entry.kind == "funds_returned":
        why = ref
        if ref.startswith(
            "default:"
        ):  # the joint account's holder defaulted: its balance goes back
            credit_code = ref.removeprefix("default:")
            resolution = names.defaults.get(credit_code)
            why = f"{names.payee_name(credit_code)} 违约" + (
                f"，{resolution}" if resolution else ""
            )
        return f"共管账户资金缴回县财政局（{why}）", ""
    if entry.kind == "clawback_repaid" and (rep := names.repayments.get(ref)):
        who = names.payee_name(rep.credit_code)
        return f"收回 {who} 追回款" + (
            f"（{rep.bank_reference}）" if rep.bank_reference else ""
        ), who
    return " ".join(x for x in (kind_name(entry.kind), ref, entry.memo) if x), ""


def yuan_text(fen: int) -> str:
    """Integer fen as a plain yuan Decimal string: 246900 → "2469.00" (no separators, no float)."""
    assert isinstance(fen, int) and not isinstance(fen, bool)
    return str(Decimal(fen).scaleb(-2))
