"""Double-entry ledger of one program's central fund and its joint account (共管账户).

Two books share one journal:
- cash: the allocation (fund:allocation) is receivable (fund:receivable) until the finance
  bureau releases it into the joint account (bank:joint); payments leave bank:joint to the
  payee (payee:<credit code>);
- budget: each item's budget (budget:<line>/<item>) is appropriated from budget:control;
  an approved award moves from budget to reserved (pending, two-phase); a payment posts the
  reservation to spent; a revocation voids it back to budget.
Every account has a normal side and may never go below zero on it: that single invariant
makes "no over-reservation", "never release above the total" and "never pay below zero" hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ruralfund_common.errors import Conflict

__all__ = [
    "Side", "Line", "Entry", "Balance", "normal_side", "account_budget", "account_reserved",
    "account_spent", "account_payee", "FUND_ALLOCATION", "FUND_RECEIVABLE", "BANK_JOINT",
    "BUDGET_CONTROL", "open_program_entry", "release_entry", "reserve_entry", "void_entry",
    "payment_entries", "check_balances", "InsufficientBalance", "MAX_ENTRY_LINES",
]

MAX_ENTRY_LINES = 64
FUND_ALLOCATION = "fund:allocation"
FUND_RECEIVABLE = "fund:receivable"
BANK_JOINT = "bank:joint"
BUDGET_CONTROL = "budget:control"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def account_budget(line: str, item: str) -> str:
    return f"budget:{line}/{item}"


def account_reserved(line: str, item: str) -> str:
    return f"reserved:{line}/{item}"


def account_spent(line: str, item: str) -> str:
    return f"spent:{line}/{item}"


def account_payee(credit_code: str) -> str:
    return f"payee:{credit_code}"


_CREDIT_NORMAL_PREFIXES = ("fund:allocation", "budget:", "reserved:", "spent:")


def normal_side(account: str) -> Side:
    if account == BUDGET_CONTROL:
        return Side.DEBIT
    return Side.CREDIT if account.startswith(_CREDIT_NORMAL_PREFIXES) else Side.DEBIT


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
    memo: str = ""

    def __post_init__(self) -> None:
        assert 2 <= len(self.lines) <= MAX_ENTRY_LINES
        assert sum(l.debit_fen for l in self.lines) == sum(l.credit_fen for l in self.lines), "unbalanced entry"

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


def _transfer(debit: str, credit: str, amount_fen: int) -> tuple[Line, Line]:
    assert amount_fen > 0
    return Line(debit, debit_fen=amount_fen), Line(credit, credit_fen=amount_fen)


def open_program_entry(total_fen: int, item_budgets: Mapping[tuple[str, str], int]) -> Entry:
    """Allocation receivable + appropriation of every item budget; budgets must add up."""
    if sum(item_budgets.values()) != total_fen:
        raise Conflict("PROGRAM_BUDGET_MISMATCH", "item budgets do not add up to the program total",
                       details={"total_fen": total_fen, "items_fen": sum(item_budgets.values())})
    lines = list(_transfer(FUND_RECEIVABLE, FUND_ALLOCATION, total_fen))
    lines.append(Line(BUDGET_CONTROL, debit_fen=total_fen))
    for (line_code, item_code), budget_fen in item_budgets.items():
        if budget_fen > 0:
            lines.append(Line(account_budget(line_code, item_code), credit_fen=budget_fen))
    return Entry("program_opened", tuple(lines))


def release_entry(amount_fen: int) -> Entry:
    return Entry("funds_released", _transfer(BANK_JOINT, FUND_RECEIVABLE, amount_fen))


def reserve_entry(line: str, item: str, amount_fen: int) -> Entry:
    return Entry("award_reserved", _transfer(account_budget(line, item), account_reserved(line, item), amount_fen))


def void_entry(line: str, item: str, amount_fen: int) -> Entry:
    return Entry("reservation_voided", _transfer(account_reserved(line, item), account_budget(line, item), amount_fen))


def payment_entries(line: str, item: str, payee_credit_code: str, amount_fen: int) -> Entry:
    """Post the reservation (budget book) and pay out of the joint account (cash book)."""
    budget = _transfer(account_reserved(line, item), account_spent(line, item), amount_fen)
    cash = _transfer(account_payee(payee_credit_code), BANK_JOINT, amount_fen)
    return Entry("payment_executed", budget + cash)


# Refusal codes for an account that would go below zero, by account family.
_REFUSALS = {
    "budget:": "ITEM_BUDGET_EXCEEDED",
    "bank:": "INSUFFICIENT_FUNDS",
    "fund:receivable": "RELEASE_EXCEEDS_PROGRAM_TOTAL",
    "reserved:": "RESERVATION_NOT_FOUND",
}


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
            )
        after[account] = new
    return after
