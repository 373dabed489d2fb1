"""Program-level commands: release, adjustment, pre-allocation, default (clawback), repayment."""

from __future__ import annotations

from datetime import date

from ruralfund_common.auth import Principal
from ruralfund_common.contracts import FundsReleased
from ruralfund_common.contracts.funds.budget_adjusted import BudgetAdjusted
from ruralfund_common.contracts.funds.clawback_repaid import ClawbackRepaid
from ruralfund_common.contracts.funds.contractor_defaulted import ContractorDefaulted
from ruralfund_common.errors import Conflict
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import require_no_conflict_of_interest

from ..adapters import repository as repo
from ..domain import ledger as L
from ..domain import program as P
from ..domain.awards import Payee
from ._base import emit_facts, lock_books, program_or_404, write_books

__all__ = ["adjust_budget", "declare_default", "preallocate", "record_repayment", "release_funds"]


async def _unused(tx: Tx, table: str, column: str, value: str) -> None:
    # client-supplied ids name the thing they create: reusing one for something else is refused
    if await tx.conn.fetchval(f"SELECT 1 FROM {table} WHERE {column}=$1", value):
        raise Conflict("DUPLICATE_ID", f"{column} {value} is already used", field=column,
            title_zh="编号已被使用", detail_zh=f"{column} {value} 已被使用，请换一个新编号。")


async def release_funds(tx: Tx, program_code: str, release_id: str, amount_fen: int, approval_reference: str,
                        by: Principal) -> dict:
    _, program = await program_or_404(tx, program_code)
    await _unused(tx, "releases", "release_id", release_id)
    now = tx.clock.now()
    books = await lock_books(tx, program_code, [L.BANK_JOINT, L.FUND_RECEIVABLE])
    P.release(books, release_id, amount_fen, program)
    await write_books(tx, program_code, books, now)
    await tx.conn.execute(
        "INSERT INTO releases (release_id, program_code, amount_fen, approval_reference, released_by, released_at) "
        "VALUES ($1,$2,$3,$4,$5,$6)", release_id, program_code, amount_fen, approval_reference, by.subject, now)
    total = await tx.conn.fetchval("SELECT coalesce(sum(amount_fen),0)::bigint FROM releases WHERE program_code=$1",
                                   program_code)
    await tx.emit(FundsReleased(release_id=release_id, program_code=program_code, amount_fen=amount_fen,
                                released_total_fen=total, approval_reference=approval_reference,
                                released_by=by.subject, released_at=now), aggregate_id=program_code)
    return {"release_id": release_id, "amount_fen": amount_fen, "released_total_fen": total}


async def adjust_budget(tx: Tx, program_code: str, adjustment_id: str, from_item: str, to_item: str, amount_fen: int,
                        resolution: P.Resolution | None, override: bool, reason: str, by: Principal) -> dict:
    _, program = await program_or_404(tx, program_code)
    await _unused(tx, "adjustments", "adjustment_id", adjustment_id)
    accounts = [L.account_budget(i.line_code, i.item_code) for c, i in program.items.items() if c in (from_item, to_item)]
    books = await lock_books(tx, program_code, accounts)
    adj = P.adjust(program, books, adjustment_id, from_item, to_item, amount_fen, resolution, override)
    assert resolution is not None
    now = tx.clock.now()
    await write_books(tx, program_code, books, now)
    await tx.conn.execute(
        "INSERT INTO adjustments (adjustment_id, program_code, from_item, to_item, amount_fen, resolution_no, "
        "resolution_date, override, reason, adjusted_by, adjusted_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        adjustment_id, program_code, from_item, to_item, amount_fen, resolution.number, resolution.dated,
        adj.override, reason, by.subject, now)
    await tx.emit(BudgetAdjusted(adjustment_id=adjustment_id, program_code=program_code, from_item=from_item,
                                 to_item=to_item, amount_fen=amount_fen, resolution_no=resolution.number,
                                 resolution_date=resolution.dated, override=adj.override, adjusted_by=by.subject,
                                 adjusted_at=now), aggregate_id=program_code)
    src, dst = program.items[from_item], program.items[to_item]
    return {"adjustment_id": adjustment_id, "override": adj.override,
            "from_available_fen": books.balance(L.account_budget(src.line_code, src.item_code)),
            "to_available_fen": books.balance(L.account_budget(dst.line_code, dst.item_code))}


async def preallocate(tx: Tx, program_code: str, preallocation_id: str, item_code: str, provider: Payee,
                      amount_fen: int, contract_reference: str, by: Principal) -> dict:
    require_no_conflict_of_interest(by, provider.credit_code, decision_zh="向该企业预拨资金")
    _, program = await program_or_404(tx, program_code)
    await _unused(tx, "awards", "award_id", preallocation_id)
    item = program.items.get(item_code)
    accounts = [L.account_budget(item.line_code, item_code),
                L.account_reserved(item.line_code, item_code, preallocation_id)] if item else []
    books = await lock_books(tx, program_code, accounts)
    now = tx.clock.now()
    award = P.preallocate(program, books, preallocation_id, item_code, provider, amount_fen, now, contract_reference)
    await repo.insert_awards(tx.conn, [award])
    await write_books(tx, program_code, books, now)
    return {"preallocation_id": preallocation_id, "award_id": award.award_id, "status": award.status.value,
            "amount_fen": amount_fen}


async def declare_default(tx: Tx, program_code: str, credit_code: str, resolution: P.Resolution, by: Principal) -> dict:
    require_no_conflict_of_interest(by, credit_code, decision_zh="认定该企业违约并追回资金")
    _, program = await program_or_404(tx, program_code)
    holder = credit_code == program.contractor_credit_code
    # the joint account first: every payment and reversal locks it, so none can be in flight
    # between the check below and the commit
    books = await lock_books(tx, program_code, [L.BANK_JOINT, L.FINANCE_BUREAU, L.account_payee(credit_code),
                                                L.account_clawback(credit_code)])
    ids = [r["award_id"] for r in await tx.conn.fetch(
        "SELECT DISTINCT a.award_id FROM awards a JOIN payments p ON p.award_id = a.award_id "
        "WHERE a.program_code=$1 AND ($3 OR a.payee_credit_code=$2) AND p.status='executed'",
        program_code, credit_code, holder)]
    in_flight = list((await repo.load_awards(tx.conn, ids)).values())
    unpaid_ids = [r["award_id"] for r in await tx.conn.fetch(
        "SELECT award_id FROM awards WHERE program_code=$1 AND payee_credit_code=$2 "
        "AND status IN ('reserved', 'in_publicity')", program_code, credit_code)]
    unpaid = list((await repo.load_awards(tx.conn, unpaid_ids)).values())
    books.balances.update(await repo.lock_balances(
        tx.conn, program_code, set().union(*(a.reservation_accounts() for a in unpaid))))
    d = P.declare_default(program, books, credit_code, resolution, in_flight, unpaid)
    now = tx.clock.now()
    await write_books(tx, program_code, books, now)
    await repo.save_awards(tx.conn, [a for a, _ in d.voided])
    for award, facts in d.voided:  # awards revoked, tranches refused: claims shows why
        await emit_facts(tx, award, list(facts), books, program, now)
    await tx.conn.execute(
        "INSERT INTO defaults (program_code, credit_code, resolution_no, resolution_date, receivable_fen, declared_by, "
        "declared_at, returned_fen, holds_joint_account) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)", program_code,
        credit_code, resolution.number, resolution.dated, d.receivable_fen, by.subject, now, d.returned_fen,
        d.holds_joint_account)
    await tx.emit(ContractorDefaulted(program_code=program_code, credit_code=credit_code,
                                      receivable_fen=d.receivable_fen, resolution_no=resolution.number,
                                      resolution_date=resolution.dated, declared_by=by.subject, declared_at=now,
                                      returned_fen=d.returned_fen, joint_account_frozen=d.holds_joint_account),
                  aggregate_id=program_code)
    return {"program_code": program_code, "credit_code": credit_code, "receivable_fen": d.receivable_fen,
            "returned_fen": d.returned_fen, "joint_account_frozen": d.holds_joint_account,
            "voided": [{"award_id": a.award_id, "amount_fen": a.amount_fen} for a, _ in d.voided]}


async def record_repayment(tx: Tx, program_code: str, repayment_id: str, credit_code: str, amount_fen: int,
                           bank_reference: str, by: Principal) -> dict:
    require_no_conflict_of_interest(by, credit_code, decision_zh="登记该企业退回的资金")
    _, program = await program_or_404(tx, program_code)
    await _unused(tx, "repayments", "repayment_id", repayment_id)
    books = await lock_books(tx, program_code, [L.FINANCE_BUREAU, L.account_clawback(credit_code)])
    outstanding = P.repay(program, books, repayment_id, credit_code, amount_fen)
    now = tx.clock.now()
    await write_books(tx, program_code, books, now)
    await tx.conn.execute(
        "INSERT INTO repayments (repayment_id, program_code, credit_code, amount_fen, bank_reference, recorded_by, "
        "recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7)", repayment_id, program_code, credit_code, amount_fen,
        bank_reference, by.subject, now)
    await tx.emit(ClawbackRepaid(repayment_id=repayment_id, program_code=program_code, credit_code=credit_code,
                                 amount_fen=amount_fen, outstanding_fen=outstanding, recorded_at=now,
                                 paid_to="finance_bureau"), aggregate_id=program_code)
    return {"repayment_id": repayment_id, "outstanding_fen": outstanding, "paid_to": "finance_bureau"}


def resolution_of(number: str | None, dated: date | None) -> P.Resolution | None:
    return P.Resolution(number, dated) if number and dated else None
