"""Plumbing shared by the use cases: load a program, lock books, write what the domain posted,
turn the domain's facts into events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import asyncpg
from ruralfund_common.calendar import CalendarYearUnknown, local_date
from ruralfund_common.contracts import (
    AwardReserved,
    BankInstruction,
    PaymentApproval,
    PaymentExecuted,
    PublicityWindowOpened,
    ReservationRefused,
)
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.command_refused import CommandRefused
from ruralfund_common.contracts.funds.contract_payment_executed import (
    ContractPaymentExecuted,
    ContractPaymentRefused,
    RatioJustification,
)
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.contracts.funds.payment_settled import PaymentSettled
from ruralfund_common.contracts.funds.preallocation_executed import PreallocationExecuted
from ruralfund_common.errors import NotFound
from ruralfund_common.messaging import Event, Tx

from ..adapters import repository as repo
from ..domain import ledger as L
from ..domain.awards import Award, Fact, ProgramView, Window

__all__ = [
    "compute_window",
    "emit_all",
    "emit_facts",
    "lock_books",
    "program_or_404",
    "refusal_event",
    "today",
    "write_books",
]


def today(tx: Tx) -> date:
    return local_date(tx.clock.now())


async def program_or_404(tx: Tx, program_code: str) -> tuple[asyncpg.Record, ProgramView]:
    found = await repo.load_program(tx.conn, program_code)
    if found is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {program_code}", field="program_code",
            detail_zh=f"没有编码为 {program_code} 的方案。")
    return found


async def lock_books(tx: Tx, program_code: str, accounts: Iterable[str]) -> L.Books:
    return L.Books(await repo.lock_balances(tx.conn, program_code, accounts))


async def write_books(tx: Tx, program_code: str, books: L.Books, now: datetime,
                      audit: repo.AuditRecords | None = None) -> None:
    await repo.write_entries(tx.conn, program_code, books.posted, now, audit)
    books.posted.clear()


def compute_window(tx: Tx, published_at: datetime, working_days: int) -> tuple[Window | None, str | None]:
    """The publicity window of ``working_days`` (the program's ``publicity_working_days``) from
    the shared working-day calendar; never guessed."""
    try:
        w = tx.ctx.calendar.publicity_window_for_instant(published_at, working_days)
    except CalendarYearUnknown as unknown:
        return None, unknown.code
    return Window(w.starts_on, w.ends_on, w.payable_from), None


def refusal_event(command: str, code: str, reason: str, now: datetime, **ids: object) -> CommandRefused:
    details = ids.pop("details", None) or {}
    return CommandRefused(command=command, code=code, reason=reason, refused_at=now, details=details,
                          **{k: v for k, v in ids.items() if v is not None})


async def emit_facts(tx: Tx, award: Award, facts: list[Fact], books: L.Books | None, program: ProgramView | None,
                     now: datetime, pending: list[tuple[Event, str, dict[str, str] | None]] | None = None) -> None:
    """One event per fact, in order (claims applies them in its own state machine). With
    ``pending`` the events are collected for one ``emit_all`` at the end of a payment run."""
    trace_headers = await award_trace(tx, award.award_id)
    for f in facts:
        event = _event_for(award, f, books, program, now)
        if event is None:
            continue
        if pending is not None:
            pending.append((event, award.award_id, trace_headers))
        else:
            await tx.emit(event, aggregate_id=award.award_id, trace_headers=trace_headers)


async def award_trace(tx: Tx, award_id: str) -> dict[str, str] | None:
    """The approval's trace context stored with the award (None for awards from before it)."""
    stored = await tx.conn.fetchval("SELECT trace_context FROM awards WHERE award_id=$1", award_id)
    return stored or None


async def emit_all(tx: Tx, pending: list[tuple[Event, str, dict[str, str] | None]]) -> None:
    """Write the events a payment run collected in one pipelined statement."""
    await tx.emit_many(pending)
    pending.clear()


def _event_for(a: Award, f: Fact, books: L.Books | None, program: ProgramView | None, now: datetime):
    is_award = a.kind == "award" and a.claim_id is not None
    if f.kind == "reserved" and is_award:
        assert books is not None
        available = books.balance(L.account_budget(a.line_code, a.item_code))
        return AwardReserved(award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code,
                             item_code=a.item_code, amount_fen=a.amount_fen, item_available_fen=available, reserved_at=now,
                             requires_publicity=a.requires_publicity, **_notice_fields(a, program),
                             publicity_working_days=program.publicity_working_days if program else None)
    if f.kind == "reservation_refused" and a.kind == "contract_payment":
        assert a.tranche is not None
        return ContractPaymentRefused(payment_due_id=a.award_id, contract_id=a.tranche.contract_id,
                                      tranche_code=a.tranche.tranche_code, program_code=a.program_code,
                                      item_code=a.item_code, amount_fen=a.amount_fen, code=f.code, reason=f.reason,
                                      refused_at=now)
    if f.kind == "reservation_refused" and is_award:
        # the figures that decided it: what the item had left (only a budget refusal has one)
        available = books.balance(L.account_budget(a.line_code, a.item_code)) \
            if books is not None and f.code == "ITEM_BUDGET_EXCEEDED" else None
        return ReservationRefused(award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code,
                                  item_code=a.item_code, amount_fen=a.amount_fen, code=f.code, reason=f.reason,
                                  reason_zh=f.reason_zh or None, refused_at=now, item_available_fen=available,
                                  **_notice_fields(a, program))
    if f.kind == "window_opened" and is_award:
        assert a.window is not None and a.published_at is not None
        return PublicityWindowOpened(award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code,
                                     published_at=a.published_at, starts_on=a.window.starts_on,
                                     ends_on=a.window.ends_on, payable_from=a.window.payable_from)
    if f.kind == "window_refused":
        return refusal_event("open_publicity_window", f.code, f.reason, now, program_code=a.program_code,
                             award_id=a.award_id)
    if f.kind == "revoked" and a.kind == "contract_payment" and f.code == "CONTRACTOR_IN_DEFAULT":
        assert a.tranche is not None  # its reservation voided on the default: the tranche will not be paid
        return ContractPaymentRefused(payment_due_id=a.award_id, contract_id=a.tranche.contract_id,
                                      tranche_code=a.tranche.tranche_code, program_code=a.program_code,
                                      item_code=a.item_code, amount_fen=a.amount_fen, code=f.code, reason=f.reason,
                                      refused_at=now)
    if f.kind == "revoked" and is_award:
        return AwardRevoked(award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code,
                            item_code=a.item_code, amount_fen=a.amount_fen, code=f.code, reason=f.reason or f.code,
                            revoked_at=now)
    if f.kind == "executed":
        assert program is not None
        return _executed(a, program, now)
    if f.kind in ("settled", "failed"):
        return _bank_outcome(a, f, now)
    return None


def _notice_fields(a: Award, program: ProgramView | None) -> dict[str, str | None]:
    """What notify needs to publicise an award or tell the enterprise it was refused (issue 16)."""
    item_name = program.item_names.get(a.item_code) if program else None
    return {"line_code": a.line_code, "item_name": item_name, "credit_code": a.payee.credit_code,
            "enterprise_name": a.payee.name}


def _executed(a: Award, program: ProgramView, now: datetime):
    order = next(o for o in [a.payment] if o is not None)
    approvals = [PaymentApproval(person=x.person, name=x.name, role=x.role, content_sha256=x.content_sha256,
                                 approved_at=x.approved_at) for x in order.executed_approvals()]
    instruction = BankInstruction(from_account=program.joint_account_no, to_account=a.payee.bank_account,
                                  to_bank_name=a.payee.bank_name, to_name=a.payee.name, amount_fen=a.amount_fen,
                                  reference=order.bank_reference)
    justified = [RatioJustification(**j.as_dict()) for j in order.justifications]
    if a.kind == "contract_payment":
        assert a.tranche is not None
        return ContractPaymentExecuted(
            payment_id=order.payment_id, payment_due_id=a.award_id, contract_id=a.tranche.contract_id,
            tranche_code=a.tranche.tranche_code, program_code=a.program_code, line_code=a.line_code,
            item_code=a.item_code, provider_credit_code=a.payee.credit_code, provider_name=a.payee.name,
            amount_fen=a.amount_fen, spending_category=a.spending_category, content_sha256=order.content_sha256,
            approvals=approvals, ratio_justifications=justified,
            bank_instruction=instruction, executed_at=now)
    if a.kind == "preallocation":
        return PreallocationExecuted(
            payment_id=order.payment_id, preallocation_id=a.award_id, program_code=a.program_code,
            item_code=a.item_code, provider_credit_code=a.payee.credit_code, provider_name=a.payee.name,
            amount_fen=a.amount_fen, contract_reference=a.contract_reference or "", content_sha256=order.content_sha256,
            approvals=approvals, bank_instruction=instruction, executed_at=now, ratio_justifications=justified)
    return PaymentExecuted(
        payment_id=order.payment_id, award_id=a.award_id, claim_id=a.claim_id or "", program_code=a.program_code,
        item_code=a.item_code, payee_credit_code=a.payee.credit_code, payee_name=a.payee.name,
        amount_fen=a.amount_fen, content_sha256=order.content_sha256, approvals=approvals,
        bank_instruction=instruction, executed_at=now, ratio_justifications=justified)


def _bank_outcome(a: Award, f: Fact, now: datetime):
    order = next(o for o in [a.payment, *a.closed_payments] if o is not None and o.payment_id == f.payment_id)
    common = {
        "payment_id": order.payment_id, "award_id": a.award_id, "claim_id": a.claim_id,
        "program_code": a.program_code, "payee_credit_code": a.payee.credit_code, "amount_fen": a.amount_fen,
        "bank_reference": order.bank_reference, "source": f.source,
    }
    if f.kind == "settled":
        return PaymentSettled(**common, bank_txn_id=order.bank_txn_id or "", settled_at=now)
    return PaymentFailed(**common, code=f.code, reason=f.reason or f.code, failed_at=now)
