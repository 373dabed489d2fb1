"""Double-entry ledger of one program's central fund and its joint account (共管账户).

Two books share one journal:
- cash: the allocation (fund:allocation) is receivable (fund:receivable) until the finance
  bureau releases it into the joint account (bank:joint); payments leave bank:joint to the
  payee (payee:<credit code>); when the leading group declares a contractor in default, what
  was paid to it becomes a clawback receivable (clawback:<credit code>); repayments go to the
  finance bureau (finance:bureau), never back into the joint account the contractor holds, and
  when the defaulter holds the joint account its unspent money is returned there too
  (Xinping §六 收回全部项目建设资金);
- budget: each item's budget (budget:<line>/<item>) is appropriated from budget:control;
  an approved award moves from budget to its own reservation (reserved:<line>/<item>/<award>,
  pending, two-phase; a contract tranche under a package covering several items has one
  reservation per item it is split across); a payment posts the reservation to spent (spent:<line>/<item>); a
  revocation voids it back to budget. A payment the bank fails moves spent back to what is
  owed to the payee (payable:<line>/<item>/<credit code>) until it is paid again.
Every account has a normal side and may never go below zero on it: that single invariant
makes "no over-reservation", "never release above the total", "never pay below zero" and
"a reservation resolves exactly once" hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from ruralfund_common.errors import Conflict
from ruralfund_common.money import yuan_zh

__all__ = [
    "ACCOUNT_FAMILIES",
    "BANK_JOINT",
    "BUDGET_CONTROL",
    "FINANCE_BUREAU",
    "FUND_ALLOCATION",
    "FUND_RECEIVABLE",
    "MAX_ENTRY_LINES",
    "Balance",
    "Books",
    "Entry",
    "InsufficientBalance",
    "Line",
    "Part",
    "Side",
    "account_budget",
    "account_clawback",
    "account_payable",
    "account_payee",
    "account_reserved",
    "account_spent",
    "adjustment_entry",
    "check_balances",
    "default_entry",
    "item_of",
    "line_of",
    "normal_side",
    "open_program_entry",
    "payee_of",
    "payment_entry",
    "payment_parts_entry",
    "release_entry",
    "repayment_entry",
    "reserve_entry",
    "reserve_parts_entry",
    "return_entry",
    "reversal_entry",
    "reversal_parts_entry",
    "void_entry",
    "void_parts_entry",
]

MAX_ENTRY_LINES = 64
FUND_ALLOCATION = "fund:allocation"
FUND_RECEIVABLE = "fund:receivable"
BANK_JOINT = "bank:joint"
BUDGET_CONTROL = "budget:control"
# Money given back to the finance bureau (县财政局): the unspent joint account of a defaulted
# contractor and every clawback repayment. Debit-normal: what the program has returned.
FINANCE_BUREAU = "finance:bureau"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def account_budget(line: str, item: str) -> str:
    return f"budget:{line}/{item}"


def account_reserved(line: str, item: str, award_id: str) -> str:
    # one reservation account per award: "resolves exactly once" is then a balance going to zero
    return f"reserved:{line}/{item}/{award_id}"


def account_spent(line: str, item: str) -> str:
    return f"spent:{line}/{item}"


def account_payable(line: str, item: str, credit_code: str) -> str:
    return f"payable:{line}/{item}/{credit_code}"


def account_payee(credit_code: str) -> str:
    return f"payee:{credit_code}"


def account_clawback(credit_code: str) -> str:
    return f"clawback:{credit_code}"


def line_of(account: str) -> str | None:
    """The budget line an account belongs to (budget, reserved, spent, payable accounts)."""
    family, _, rest = account.partition(":")
    if family in ("budget", "reserved", "spent", "payable") and "/" in rest:
        return rest.split("/")[0]
    return None


def item_of(account: str) -> tuple[str, str] | None:
    family, _, rest = account.partition(":")
    if family in ("budget", "reserved", "spent", "payable") and "/" in rest:
        parts = rest.split("/")
        return parts[0], parts[1]
    return None


def payee_of(account: str) -> str | None:
    family, _, rest = account.partition(":")
    if family in ("payee", "clawback"):
        return rest
    if family == "payable":
        return rest.split("/")[-1]
    return None


# Every account family the books know, with its normal side. The books never post to another
# family (asserted when posting), the balances table refuses one (CHECK) and ``ledger verify``
# reports one; readers of a newer ledger (the journal export) still get a side for it.
ACCOUNT_FAMILIES: dict[str, Side] = {
    "fund:allocation": Side.CREDIT, "fund:receivable": Side.DEBIT, "bank:joint": Side.DEBIT,
    "budget:control": Side.DEBIT, "finance:bureau": Side.DEBIT,
    "budget:": Side.CREDIT, "reserved:": Side.CREDIT, "spent:": Side.CREDIT, "payable:": Side.CREDIT,
    "payee:": Side.DEBIT, "clawback:": Side.DEBIT,
}


def family_of(account: str) -> str | None:
    """The family an account belongs to (an exact name or a prefix), None if unknown."""
    if account in ACCOUNT_FAMILIES and not account.endswith(":"):
        return account
    prefix = account.split(":", 1)[0] + ":"
    return prefix if prefix in ACCOUNT_FAMILIES and account != prefix else None


def normal_side(account: str) -> Side:
    family = family_of(account)
    return ACCOUNT_FAMILIES[family] if family is not None else Side.DEBIT


@dataclass(frozen=True)
class Line:
    account: str
    debit_fen: int = 0
    credit_fen: int = 0

    def __post_init__(self) -> None:
        assert isinstance(self.debit_fen, int) and isinstance(self.credit_fen, int), "fen are integers"
        assert (self.debit_fen > 0) != (self.credit_fen > 0), "a line is either a debit or a credit"
        assert self.debit_fen >= 0 and self.credit_fen >= 0

    def effect_on(self, side: Side) -> int:
        """Change of this account's balance measured on its normal side."""
        return self.debit_fen - self.credit_fen if side is Side.DEBIT else self.credit_fen - self.debit_fen


@dataclass(frozen=True)
class Entry:
    kind: str
    lines: tuple[Line, ...]
    reference: str = ""  # the command or aggregate it belongs to; one entry per (kind, reference)
    memo: str = ""

    def __post_init__(self) -> None:
        assert 2 <= len(self.lines) <= MAX_ENTRY_LINES
        assert sum(ln.debit_fen for ln in self.lines) == sum(ln.credit_fen for ln in self.lines), "unbalanced entry"

    @property
    def total_fen(self) -> int:
        return sum(ln.debit_fen for ln in self.lines)

    def deltas(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.account] = out.get(line.account, 0) + line.effect_on(normal_side(line.account))
        return out


@dataclass(frozen=True)
class Balance:
    account: str
    debits_fen: int
    credits_fen: int

    @property
    def balance_fen(self) -> int:
        side = normal_side(self.account)
        return self.debits_fen - self.credits_fen if side is Side.DEBIT else self.credits_fen - self.debits_fen


class InsufficientBalance(Conflict):
    pass


@dataclass(frozen=True)
class Part:
    """The share of an award on one item: a contract tranche under a package covering several
    items is split across them (its parts add up to the tranche to the fen)."""

    line_code: str
    item_code: str
    amount_fen: int

    def __post_init__(self) -> None:
        assert isinstance(self.amount_fen, int) and self.amount_fen > 0, "a part is a positive number of fen"


def _transfer(debit: str, credit: str, amount_fen: int) -> tuple[Line, Line]:
    assert amount_fen > 0
    return Line(debit, debit_fen=amount_fen), Line(credit, credit_fen=amount_fen)


def open_program_entry(total_fen: int, item_budgets: Mapping[tuple[str, str], int], reference: str = "") -> Entry:
    """Allocation receivable + appropriation of every item budget; budgets must add up."""
    if sum(item_budgets.values()) != total_fen:
        raise Conflict("PROGRAM_BUDGET_MISMATCH", "item budgets do not add up to the program total",
                       details={"total_fen": total_fen, "items_fen": sum(item_budgets.values())},
                           detail_zh=f"各项目预算合计 {yuan_zh(sum(item_budgets.values()))}，与方案总额 {yuan_zh(total_fen)} 不符。",
                       )
    lines = list(_transfer(FUND_RECEIVABLE, FUND_ALLOCATION, total_fen))
    lines.append(Line(BUDGET_CONTROL, debit_fen=total_fen))
    for (line_code, item_code), budget_fen in item_budgets.items():
        if budget_fen > 0:
            lines.append(Line(account_budget(line_code, item_code), credit_fen=budget_fen))
    return Entry("program_opened", tuple(lines), reference)


def release_entry(amount_fen: int, reference: str = "") -> Entry:
    return Entry("funds_released", _transfer(BANK_JOINT, FUND_RECEIVABLE, amount_fen), reference)


def _sum(parts: tuple[Part, ...]) -> int:
    assert parts, "an award has at least one part"
    return sum(p.amount_fen for p in parts)


def reserve_entry(line: str, item: str, award_id: str, amount_fen: int) -> Entry:
    return reserve_parts_entry((Part(line, item, amount_fen),), award_id)


def void_entry(line: str, item: str, award_id: str, amount_fen: int) -> Entry:
    return void_parts_entry((Part(line, item, amount_fen),), award_id)


def payment_entry(line: str, item: str, award_id: str, payee_credit_code: str, amount_fen: int, *,
                  from_payable: bool, payment_id: str) -> Entry:
    return payment_parts_entry((Part(line, item, amount_fen),), award_id, payee_credit_code,
                               from_payable=from_payable, payment_id=payment_id)


def reversal_entry(line: str, item: str, payee_credit_code: str, amount_fen: int, *, payment_id: str) -> Entry:
    return reversal_parts_entry((Part(line, item, amount_fen),), payee_credit_code, payment_id=payment_id)


def reserve_parts_entry(parts: tuple[Part, ...], award_id: str) -> Entry:
    lines = [ln for p in parts for ln in _transfer(account_budget(p.line_code, p.item_code),
                                                    account_reserved(p.line_code, p.item_code, award_id), p.amount_fen)]
    return Entry("award_reserved", tuple(lines), award_id)


def void_parts_entry(parts: tuple[Part, ...], award_id: str) -> Entry:
    lines = [ln for p in parts for ln in _transfer(account_reserved(p.line_code, p.item_code, award_id),
                                                    account_budget(p.line_code, p.item_code), p.amount_fen)]
    return Entry("reservation_voided", tuple(lines), award_id)


def payment_parts_entry(parts: tuple[Part, ...], award_id: str, payee_credit_code: str, *,
                  from_payable: bool, payment_id: str) -> Entry:
    """Post each item's reservation (or what was owed after a failed payment) to spent, and pay
    out of the joint account to the payee, in one entry."""
    budget: list[Line] = []
    for p in parts:
        li = (p.line_code, p.item_code)
        owed = account_payable(*li, payee_credit_code) if from_payable else account_reserved(*li, award_id)
        budget += _transfer(owed, account_spent(*li), p.amount_fen)
    cash = _transfer(account_payee(payee_credit_code), BANK_JOINT, _sum(parts))
    return Entry("payment_executed", (*budget, *cash), payment_id)


def reversal_parts_entry(parts: tuple[Part, ...], payee_credit_code: str, *, payment_id: str) -> Entry:
    """Compensating postings for a payment the bank failed: cash back in the joint account, the
    amount owed to the payee again (never un-spends a reservation: it resolved once)."""
    budget: list[Line] = []
    for p in parts:
        li = (p.line_code, p.item_code)
        budget += _transfer(account_spent(*li), account_payable(*li, payee_credit_code), p.amount_fen)
    cash = _transfer(BANK_JOINT, account_payee(payee_credit_code), _sum(parts))
    return Entry("payment_reversed", (*budget, *cash), payment_id)


def adjustment_entry(from_item: tuple[str, str], to_item: tuple[str, str], amount_fen: int, reference: str) -> Entry:
    return Entry("budget_adjusted", _transfer(account_budget(*from_item), account_budget(*to_item), amount_fen),
                 reference)


def default_entry(credit_code: str, amount_fen: int, reference: str) -> Entry:
    """Everything paid to a contractor in default becomes a receivable."""
    return Entry("contractor_defaulted", _transfer(account_clawback(credit_code), account_payee(credit_code),
                                                   amount_fen), reference)


def return_entry(amount_fen: int, reference: str) -> Entry:
    """The joint account's unspent money goes back to the finance bureau (收回)."""
    return Entry("funds_returned", _transfer(FINANCE_BUREAU, BANK_JOINT, amount_fen), reference)


def repayment_entry(credit_code: str, amount_fen: int, reference: str) -> Entry:
    """A defaulted contractor repays to the finance bureau: the joint account it holds is not
    where recovered money goes (it would be the defaulter's to spend again)."""
    return Entry("clawback_repaid", _transfer(FINANCE_BUREAU, account_clawback(credit_code), amount_fen), reference)


# Refusal codes for an account that would go below zero, by account family.
_REFUSALS = {
    "budget:": "ITEM_BUDGET_EXCEEDED",
    "bank:": "INSUFFICIENT_FUNDS",
    "fund:receivable": "RELEASE_EXCEEDS_PROGRAM_TOTAL",
    "reserved:": "RESERVATION_NOT_FOUND",
    "clawback:": "REPAYMENT_EXCEEDS_RECEIVABLE",
    "payable:": "NOTHING_PAYABLE",
}


TITLES_ZH_BY_ACCOUNT: Final[Mapping[str, str]] = {
    "ITEM_BUDGET_EXCEEDED": "项目预算不足",
    "INSUFFICIENT_FUNDS": "共管账户余额不足",
    "RELEASE_EXCEEDS_PROGRAM_TOTAL": "拨付超过方案总额",
    "RESERVATION_NOT_FOUND": "没有可用的资金预留",
    "REPAYMENT_EXCEEDS_RECEIVABLE": "还款超过应收回余额",
    "NOTHING_PAYABLE": "没有可支付的金额",
    "ACCOUNT_BELOW_ZERO": "账户余额不足",
}


def below_zero_zh(code: str, account: str, balance_fen: int, change_fen: int) -> str:
    """Why ``account`` cannot move by ``change_fen``, with both figures, as people read it."""
    have, need = yuan_zh(balance_fen), yuan_zh(abs(change_fen))
    item = account.split(":", 1)[-1]
    return {
        "ITEM_BUDGET_EXCEEDED": f"项目 {item} 可用预算为 {have}，本次需要 {need}，预算不足。",
        "INSUFFICIENT_FUNDS": f"共管账户余额为 {have}，本次付款需要 {need}，余额不足；请先由县财政局拨入资金（预拨）。",
        "RELEASE_EXCEEDS_PROGRAM_TOTAL": f"方案总额中尚未拨付的为 {have}，本次拨付 {need}，超过方案总额。",
        "RESERVATION_NOT_FOUND": f"该笔奖补的资金预留余额为 {have}，本次需要 {need}，没有可用的预留。",
        "REPAYMENT_EXCEEDS_RECEIVABLE": f"应收回余额为 {have}，本次还款 {need}，超过应收回余额。",
        "NOTHING_PAYABLE": f"应付余额为 {have}，本次需要 {need}，没有可支付的金额。",
    }.get(code, f"账户 {account} 余额为 {have}，本次变动 {need} 后将小于零。")


def check_balances(entry: Entry, current: Mapping[str, int]) -> dict[str, int]:
    """Balances after ``entry``; refuses with a stable code if any would go below zero."""
    after: dict[str, int] = {}
    for account, delta in entry.deltas().items():
        new = current.get(account, 0) + delta
        if new < 0:
            code = next((c for p, c in _REFUSALS.items() if account.startswith(p)), "ACCOUNT_BELOW_ZERO")
            raise InsufficientBalance(
                code, f"{account} would go below zero",
                details={"account": account, "balance_fen": current.get(account, 0), "change_fen": delta},
                title_zh=TITLES_ZH_BY_ACCOUNT.get(code), detail_zh=below_zero_zh(code, account, current.get(account, 0), delta),
            )
        after[account] = new
    return after


@dataclass
class Books:
    """Balances of the accounts one command may touch, and the entries it posted.

    The service layer locks those accounts' rows and builds this; tests build it with every
    account (``complete=True``). Posting an account that was not loaded is a programming error
    (its row would not be locked), so it is asserted rather than silently read as zero.
    """

    balances: dict[str, int] = field(default_factory=dict)
    complete: bool = False
    posted: list[Entry] = field(default_factory=list)

    def balance(self, account: str) -> int:
        assert self.complete or account in self.balances, f"account {account} was not loaded"
        return self.balances.get(account, 0)

    def post(self, entry: Entry) -> dict[str, int]:
        for account in entry.deltas():
            assert family_of(account) is not None, f"unknown account family: {account}"
            self.balance(account)
        after = check_balances(entry, self.balances)
        self.balances.update(after)
        self.posted.append(entry)
        return after

    def sum_prefix(self, prefix: str) -> int:
        return sum(v for k, v in self.balances.items() if k.startswith(prefix))

    @staticmethod
    def accounts(entries: Iterable[Entry]) -> set[str]:
        return {ln.account for e in entries for ln in e.lines}
