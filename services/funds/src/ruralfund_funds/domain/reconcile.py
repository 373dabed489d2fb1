"""Three-way reconciliation: the bank statement, the ledger and the approved awards must tell
the same story. Every disagreement is one mismatch with a stable kind:

- PAID_NOT_APPROVED: money left the joint account (statement) with no executed payment order
  behind it, or behind an order that lacks two distinct approvers or whose award is not approved;
- APPROVED_UNPAID_PAST_WINDOW: an approved award whose window has ended and that is not paid;
- AMOUNT_DIFFERS: statement amount ≠ payment amount, or payment amount ≠ award amount;
- EXECUTED_NOT_ON_STATEMENT: executed, but the bank has not reported it yet (in transit);
- LEDGER_DIFFERS: what the ledger says a payee received ≠ what its payment orders say;
- OBJECTION_UPHELD_AFTER_PAYMENT: an objection upheld after the award was paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date

__all__ = ["AwardRow", "Mismatch", "PaymentRow", "StatementRow", "reconcile"]


@dataclass(frozen=True)
class StatementRow:
    bank_txn_id: str
    direction: str
    status: str
    amount_fen: int
    reference: str
    payment_id: str | None


@dataclass(frozen=True)
class PaymentRow:
    payment_id: str
    award_id: str
    status: str
    amount_fen: int
    approvers: int  # distinct people whose approval is on the executed content
    roles: int  # distinct roles among them


@dataclass(frozen=True)
class AwardRow:
    award_id: str
    status: str
    amount_fen: int
    payee_credit_code: str
    requires_publicity: bool
    payable_from: date | None
    held: bool
    objection_after_payment: bool


@dataclass(frozen=True)
class Mismatch:
    kind: str
    award_id: str | None = None
    payment_id: str | None = None
    bank_txn_id: str | None = None
    expected_fen: int | None = None
    actual_fen: int | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}


_EXECUTED = ("executed", "settled")


def reconcile(statement: Iterable[StatementRow], payments: Iterable[PaymentRow], awards: Iterable[AwardRow],
              ledger_paid_by_payee: Mapping[str, int], today: date) -> list[Mismatch]:
    statement, payments, awards = list(statement), list(payments), list(awards)
    pays = {p.payment_id: p for p in payments}
    award_by_id = {a.award_id: a for a in awards}
    out = _statement_side(statement, pays, award_by_id)
    on_statement = {s.payment_id for s in statement if s.payment_id}
    for p in payments:
        award = award_by_id.get(p.award_id)
        if p.status == "executed" and p.payment_id not in on_statement:
            out.append(Mismatch("EXECUTED_NOT_ON_STATEMENT", p.award_id, p.payment_id, note="in transit"))
        if p.status in _EXECUTED and award is not None and award.amount_fen != p.amount_fen:
            out.append(Mismatch("AMOUNT_DIFFERS", p.award_id, p.payment_id, expected_fen=award.amount_fen,
                                actual_fen=p.amount_fen, note="payment vs award"))
    paid_awards = {p.award_id for p in payments if p.status in _EXECUTED}
    for a in awards:
        if a.objection_after_payment:
            out.append(Mismatch("OBJECTION_UPHELD_AFTER_PAYMENT", a.award_id, note="decide a clawback"))
        due = a.status in ("reserved", "in_publicity", "payable") and (
            not a.requires_publicity or (a.payable_from is not None and a.payable_from <= today))
        if due and a.award_id not in paid_awards:
            out.append(Mismatch("APPROVED_UNPAID_PAST_WINDOW", a.award_id, expected_fen=a.amount_fen,
                                note="held by an objection" if a.held else ""))
    out += _ledger_side(payments, award_by_id, ledger_paid_by_payee)
    return out


def _statement_side(statement: list[StatementRow], pays: dict[str, PaymentRow],
                    awards: dict[str, AwardRow]) -> list[Mismatch]:
    out: list[Mismatch] = []
    for s in statement:
        if s.direction != "debit" or s.status != "ok":
            continue
        p = pays.get(s.payment_id or "")
        if p is None:
            out.append(Mismatch("PAID_NOT_APPROVED", bank_txn_id=s.bank_txn_id, actual_fen=s.amount_fen,
                                note=f"no payment order for reference {s.reference or '(none)'}"))
            continue
        award = awards.get(p.award_id)
        if p.status not in _EXECUTED or p.approvers < 2 or p.roles < 2 or award is None \
                or award.status in ("revoked", "refused"):
            out.append(Mismatch("PAID_NOT_APPROVED", p.award_id, p.payment_id, s.bank_txn_id, actual_fen=s.amount_fen,
                                note=f"order {p.status}, {p.approvers} approver(s)"))
        if s.amount_fen != p.amount_fen:
            out.append(Mismatch("AMOUNT_DIFFERS", p.award_id, p.payment_id, s.bank_txn_id, p.amount_fen, s.amount_fen,
                                note="statement vs payment"))
    return out


def _ledger_side(payments: list[PaymentRow], awards: dict[str, AwardRow],
                 ledger_paid_by_payee: Mapping[str, int]) -> list[Mismatch]:
    by_orders: dict[str, int] = {}
    for p in payments:
        award = awards.get(p.award_id)
        if p.status in _EXECUTED and award is not None:
            by_orders[award.payee_credit_code] = by_orders.get(award.payee_credit_code, 0) + p.amount_fen
    out = []
    for payee in sorted(set(by_orders) | set(ledger_paid_by_payee)):
        want, have = by_orders.get(payee, 0), ledger_paid_by_payee.get(payee, 0)
        if want != have:
            out.append(Mismatch("LEDGER_DIFFERS", expected_fen=want, actual_fen=have, note=f"payee {payee}"))
    return out
