"""Funds use cases: load → domain decision → save + outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from ruralfund_common.auth import Principal
from ruralfund_common.calendar import CalendarYearUnknown, local_date
from ruralfund_common.contracts import (
    AwardReserved, BankInstruction, ClaimApproved, FundsReleased, PaymentApproval, PaymentExecuted,
    ProgramActivated, PublicityPublished, PublicityWindowOpened, ReservationRefused,
)
from ruralfund_common.errors import Conflict, DomainError, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx

from .adapters import repository as repo
from .domain import ledger
from .domain.payments import Approval, PaymentContent, check_can_approve, check_payable, is_fully_approved

__all__ = [
    "open_program", "release_funds", "reserve_award", "record_publication", "request_payment",
    "approve_payment", "ProgramNotOpenYet",
]


class ProgramNotOpenYet(Exception):
    """An award arrived before its program's activation (different streams): retry later."""


async def open_program(tx: Tx, ev: ProgramActivated) -> None:
    if await tx.conn.fetchval("SELECT 1 FROM programs WHERE program_code=$1", ev.program_code):
        return  # re-activation of the same program is a no-op; budgets change only by adjustment
    now = tx.clock.now()
    await tx.conn.execute(
        "INSERT INTO programs (program_code, name, county_code, total_fen, contractor_credit_code, contractor_name, "
        "joint_account_bank, joint_account_no, opened_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        ev.program_code, ev.name, ev.county_code, ev.total_fen, ev.contractor_credit_code, ev.contractor_name,
        ev.joint_account_bank, ev.joint_account_no, now,
    )
    budgets: dict[tuple[str, str], int] = {}
    for line in ev.lines:
        for item in line.items:
            budgets[(line.code, item.code)] = item.budget_fen
            await tx.conn.execute(
                "INSERT INTO items (program_code, line_code, line_name, item_code, item_name, mode, budget_fen) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7)",
                ev.program_code, line.code, line.name, item.code, item.name, item.mode, item.budget_fen,
            )
    entry = ledger.open_program_entry(ev.total_fen, budgets)
    await _post(tx, ev.program_code, entry, reference=ev.program_code)


async def _post(tx: Tx, program_code: str, entry: ledger.Entry, *, reference: str) -> dict[str, int]:
    current = await repo.lock_balances(tx.conn, program_code, (l.account for l in entry.lines))
    after = ledger.check_balances(entry, current)
    await repo.write_entry(tx.conn, program_code, entry, reference=reference, posted_at=tx.clock.now())
    return after


async def release_funds(tx: Tx, program_code: str, amount_fen: int, approval_reference: str, by: Principal) -> dict:
    await _program(tx, program_code)
    release_id = new_id()
    now = tx.clock.now()
    await _post(tx, program_code, ledger.release_entry(amount_fen), reference=release_id)
    await tx.conn.execute(
        "INSERT INTO releases (release_id, program_code, amount_fen, approval_reference, released_by, released_at) "
        "VALUES ($1,$2,$3,$4,$5,$6)", release_id, program_code, amount_fen, approval_reference, by.subject, now,
    )
    total = await tx.conn.fetchval("SELECT coalesce(sum(amount_fen),0)::bigint FROM releases WHERE program_code=$1", program_code)
    await tx.emit(FundsReleased(
        release_id=release_id, program_code=program_code, amount_fen=amount_fen, released_total_fen=total,
        approval_reference=approval_reference, released_by=by.subject, released_at=now,
    ), aggregate_id=program_code)
    return {"release_id": release_id, "amount_fen": amount_fen, "released_total_fen": total}


async def _program(tx: Tx, program_code: str):
    row = await tx.conn.fetchrow("SELECT * FROM programs WHERE program_code=$1", program_code)
    if row is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {program_code}", field="program_code")
    return row


async def reserve_award(tx: Tx, ev: ClaimApproved) -> None:
    if await tx.conn.fetchval("SELECT 1 FROM awards WHERE award_id=$1", ev.award_id):
        return
    if not await tx.conn.fetchval("SELECT 1 FROM programs WHERE program_code=$1", ev.program_code):
        raise ProgramNotOpenYet(ev.program_code)
    item = await tx.conn.fetchrow("SELECT line_code FROM items WHERE program_code=$1 AND item_code=$2",
                                  ev.program_code, ev.item_code)
    if item is None or item["line_code"] != ev.line_code:
        raise DomainError("ITEM_NOT_FOUND", f"{ev.program_code} has no item {ev.line_code}/{ev.item_code}")
    now = tx.clock.now()
    status, refusal = "reserved", None
    try:
        after = await _post(tx, ev.program_code, ledger.reserve_entry(ev.line_code, ev.item_code, ev.amount_fen),
                            reference=ev.award_id)
    except ledger.InsufficientBalance as refused:
        status, refusal, after = "refused", refused, {}
    await tx.conn.execute(
        "INSERT INTO awards (award_id, claim_id, program_code, line_code, item_code, payee_credit_code, payee_name, "
        "payee_bank_name, payee_bank_account, amount_fen, requires_publicity, status, refusal_code, reserved_at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
        ev.award_id, ev.claim_id, ev.program_code, ev.line_code, ev.item_code, ev.credit_code, ev.enterprise_name,
        ev.payee_bank_name, ev.payee_bank_account, ev.amount_fen, ev.requires_publicity, status,
        refusal.code if refusal else None, now,
    )
    if refusal is not None:
        await tx.emit(ReservationRefused(
            award_id=ev.award_id, claim_id=ev.claim_id, program_code=ev.program_code, item_code=ev.item_code,
            amount_fen=ev.amount_fen, code=refusal.code, reason=refusal.message, refused_at=now,
        ), aggregate_id=ev.award_id)
        return
    available = after[ledger.account_budget(ev.line_code, ev.item_code)]
    await tx.emit(AwardReserved(
        award_id=ev.award_id, claim_id=ev.claim_id, program_code=ev.program_code, item_code=ev.item_code,
        amount_fen=ev.amount_fen, item_available_fen=available, reserved_at=now,
    ), aggregate_id=ev.award_id)
    await _open_window_if_published(tx, ev.award_id)


async def record_publication(tx: Tx, ev: PublicityPublished) -> None:
    await tx.conn.execute(
        "INSERT INTO publications (award_id, notice_id, published_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
        ev.award_id, ev.notice_id, ev.published_at,
    )
    await _open_window_if_published(tx, ev.award_id)


async def _open_window_if_published(tx: Tx, award_id: str) -> None:
    row = await tx.conn.fetchrow(
        "SELECT a.*, p.published_at AS pub_at FROM awards a JOIN publications p USING (award_id) "
        "WHERE a.award_id=$1 FOR UPDATE OF a", award_id)
    if row is None or row["status"] != "reserved" or row["payable_from"] is not None:
        return  # not both known yet, or already opened
    try:
        window = tx.ctx.calendar.publicity_window_for_instant(row["pub_at"])
    except CalendarYearUnknown as exc:
        # Refuse to guess a deadline; the award stays reserved until the year is loaded.
        await tx.conn.execute("UPDATE awards SET window_error=$2 WHERE award_id=$1", award_id, exc.code)
        return
    await tx.conn.execute(
        "UPDATE awards SET status='in_publicity', published_at=$2, starts_on=$3, ends_on=$4, payable_from=$5, "
        "window_error=NULL WHERE award_id=$1",
        award_id, row["pub_at"], window.starts_on, window.ends_on, window.payable_from,
    )
    await tx.emit(PublicityWindowOpened(
        award_id=award_id, claim_id=row["claim_id"], program_code=row["program_code"], published_at=row["pub_at"],
        starts_on=window.starts_on, ends_on=window.ends_on, payable_from=window.payable_from,
    ), aggregate_id=award_id)


def _content(award) -> PaymentContent:
    return PaymentContent(
        program_code=award["program_code"], award_id=award["award_id"], payee_credit_code=award["payee_credit_code"],
        payee_name=award["payee_name"], payee_bank_name=award["payee_bank_name"],
        payee_bank_account=award["payee_bank_account"], amount_fen=award["amount_fen"],
    )


async def _award_for_update(tx: Tx, award_id: str):
    award = await tx.conn.fetchrow("SELECT * FROM awards WHERE award_id=$1 FOR UPDATE", award_id)
    if award is None:
        raise NotFound("AWARD_NOT_FOUND", f"no award {award_id}", field="award_id")
    return award


def _check_award_payable(tx: Tx, award) -> None:
    check_payable(status=award["status"], requires_publicity=award["requires_publicity"],
                  payable_from=award["payable_from"], today_local=local_date(tx.clock.now()))


async def request_payment(tx: Tx, award_id: str, by: Principal) -> dict:
    award = await _award_for_update(tx, award_id)
    _check_award_payable(tx, award)
    live = await tx.conn.fetchrow("SELECT payment_id, status FROM payments WHERE award_id=$1 AND status <> 'cancelled'", award_id)
    if live is not None:
        code = "ALREADY_PAID" if live["status"] == "executed" else "PAYMENT_ALREADY_REQUESTED"
        raise Conflict(code, "a payment for this award already exists", details={"payment_id": str(live["payment_id"])})
    content = _content(award)
    payment_id = new_id()
    await tx.conn.execute(
        "INSERT INTO payments (payment_id, award_id, content, content_sha256, status, requested_by, requested_at) "
        "VALUES ($1,$2,$3,$4,'awaiting_approval',$5,$6)",
        payment_id, award_id, _content_dict(content), content.sha256(), by.subject, tx.clock.now(),
    )
    return await payment_view(tx, payment_id)


def _content_dict(c: PaymentContent) -> dict:
    import dataclasses
    return dataclasses.asdict(c)


async def approve_payment(tx: Tx, payment_id: str, by: Principal, content_sha256: str) -> dict:
    pay = await tx.conn.fetchrow("SELECT * FROM payments WHERE payment_id=$1 FOR UPDATE", payment_id)
    if pay is None:
        raise NotFound("PAYMENT_NOT_FOUND", f"no payment {payment_id}")
    if pay["status"] == "executed":
        raise Conflict("ALREADY_PAID", "this payment was already executed")
    award = await _award_for_update(tx, pay["award_id"])
    content = _content(award)  # current content: a change since the request invalidates old approvals
    existing = [Approval(r["person"], r["name"], r["role"], r["content_sha256"], r["approved_at"])
                for r in await tx.conn.fetch("SELECT * FROM approvals WHERE payment_id=$1", payment_id)]
    role = check_can_approve(content, existing, person=by.subject, roles=frozenset(by.roles), signed_sha256=content_sha256)
    now = tx.clock.now()
    await tx.conn.execute(
        "INSERT INTO approvals (payment_id, person, name, role, content_sha256, approved_at) VALUES ($1,$2,$3,$4,$5,$6)",
        payment_id, by.subject, by.name, role, content_sha256, now,
    )
    await repo.append_audit(tx.conn, "approval", {"payment_id": str(payment_id), "person": by.subject, "role": role,
                                                  "content_sha256": content_sha256, "at": now.isoformat()}, now)
    approvals = existing + [Approval(by.subject, by.name, role, content_sha256, now)]
    if is_fully_approved(content, approvals):
        await _execute(tx, pay, award, content, approvals, now)
    return await payment_view(tx, payment_id)


async def _execute(tx: Tx, pay, award, content: PaymentContent, approvals: list[Approval], now: datetime) -> None:
    _check_award_payable(tx, award)  # re-checked at execution: the window or status may have changed
    program = await _program(tx, award["program_code"])
    entry = ledger.payment_entries(award["line_code"], award["item_code"], award["payee_credit_code"], award["amount_fen"])
    await _post(tx, award["program_code"], entry, reference=str(pay["payment_id"]))
    await tx.conn.execute("UPDATE payments SET status='executed', executed_at=$2 WHERE payment_id=$1", pay["payment_id"], now)
    await tx.conn.execute("UPDATE awards SET status='paid' WHERE award_id=$1", award["award_id"])
    valid = [a for a in approvals if a.content_sha256 == content.sha256()]
    await tx.emit(PaymentExecuted(
        payment_id=str(pay["payment_id"]), award_id=award["award_id"], claim_id=award["claim_id"],
        program_code=award["program_code"], item_code=award["item_code"], payee_credit_code=award["payee_credit_code"],
        payee_name=award["payee_name"], amount_fen=award["amount_fen"], content_sha256=content.sha256(),
        approvals=[PaymentApproval(person=a.person, name=a.name, role=a.role, content_sha256=a.content_sha256,
                                   approved_at=a.approved_at) for a in valid],
        bank_instruction=BankInstruction(
            from_account=program["joint_account_no"] or "", to_account=award["payee_bank_account"],
            to_bank_name=award["payee_bank_name"], to_name=award["payee_name"], amount_fen=award["amount_fen"],
            reference=f"RF-{str(pay['payment_id'])[:8]}",
        ),
        executed_at=now,
    ), aggregate_id=award["award_id"])


async def payment_view(tx: Tx, payment_id: str) -> dict:
    pay = await tx.conn.fetchrow("SELECT * FROM payments WHERE payment_id=$1", payment_id)
    approvals = await tx.conn.fetch("SELECT person, name, role, content_sha256, approved_at FROM approvals "
                                    "WHERE payment_id=$1 ORDER BY approved_at", payment_id)
    return {
        "payment_id": str(pay["payment_id"]), "award_id": pay["award_id"], "status": pay["status"],
        "content": pay["content"], "content_sha256": pay["content_sha256"],
        "approvals": [{**dict(a), "approved_at": a["approved_at"].isoformat()} for a in approvals],
        "executed_at": pay["executed_at"].isoformat() if pay["executed_at"] else None,
    }
