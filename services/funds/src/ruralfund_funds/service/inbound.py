"""Use cases driven by other services' events. Events of different subjects arrive in any order
(an objection or a publication may come before the approval it is about), so each fact is
stored under its own key and applied to the award whenever both are known; duplicates of a
fact (same award, same objection) change nothing the second time.

Expected refusals become state and events, never exceptions: a DomainError here would
dead-letter the message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ruralfund_common.contracts import ClaimApproved, ProgramActivated, PublicityPublished
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.contracts.notify.objection_resolved import ObjectionResolved
from ruralfund_common.messaging import Tx
from ruralfund_common.telemetry import inject_context

from ..adapters import repository as repo
from ..domain import ledger as L
from ..domain.awards import Award, AwardStatus, Objection, Payee, ProgramView, Tranche
from ._base import compute_window, emit_facts, lock_books, write_books
from .registry import registry_payee

__all__ = [
    "ProgramNotOpenYet",
    "objection_filed",
    "objection_resolved",
    "open_program",
    "record_publication",
    "reserve_award",
    "reserve_contract_payment",
]


class ProgramNotOpenYet(Exception):
    """An award arrived before its program's activation (different streams): retry later."""


async def open_program(tx: Tx, ev: ProgramActivated) -> None:
    if await tx.conn.fetchval("SELECT 1 FROM programs WHERE program_code=$1", ev.program_code):
        return  # re-activation of the same program is a no-op; budgets change only by adjustment
    now = tx.clock.now()
    await tx.conn.execute(
        "INSERT INTO programs (program_code, name, county_code, total_fen, contractor_credit_code, contractor_name, "
        "joint_account_bank, joint_account_no, opened_at, phase, ratio_rules, contract_payments_require_publicity, "
        "publicity_working_days) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        ev.program_code, ev.name, ev.county_code, ev.total_fen, ev.contractor_credit_code, ev.contractor_name,
        ev.joint_account_bank, ev.joint_account_no, now, ev.phase, [r.model_dump(mode="json") for r in ev.ratio_rules],
        ev.contract_payments_require_publicity, ev.publicity_working_days,
    )
    budgets = {(line.code, item.code): item.budget_fen for line in ev.lines for item in line.items}
    await tx.conn.executemany(
        "INSERT INTO items (program_code, line_code, line_name, item_code, item_name, mode, budget_fen, "
        "spending_category) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        [(ev.program_code, line.code, line.name, item.code, item.name, item.mode, item.budget_fen,
          item.spending_category) for line in ev.lines for item in line.items],
    )
    await tx.conn.executemany(
        "INSERT INTO program_history (program_code, phase, label, total_fen, plan_lines, plan_measures, position) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7)",
        [(ev.program_code, h.phase, h.label, h.total_fen, dict(h.lines), dict(h.measures), n)
         for n, h in enumerate(ev.history)],
    )
    entry = L.open_program_entry(ev.total_fen, budgets, ev.program_code)
    books = await lock_books(tx, ev.program_code, L.Books.accounts([entry]))
    books.post(entry)
    await write_books(tx, ev.program_code, books, now)


async def reserve_award(tx: Tx, ev: ClaimApproved) -> None:
    await repo.lock_award_key(tx.conn, ev.award_id)
    if await tx.conn.fetchval("SELECT 1 FROM awards WHERE award_id=$1", ev.award_id):
        return  # the same approval twice
    found = await repo.load_program(tx.conn, ev.program_code)
    if found is None:
        raise ProgramNotOpenYet(ev.program_code)
    _, program = found
    item = program.items.get(ev.item_code)
    payee = await registry_payee(tx, Payee(ev.credit_code, ev.enterprise_name, ev.payee_bank_name,
                                           ev.payee_bank_account), ev.approved_at)
    award = Award(ev.award_id, ev.claim_id, ev.program_code, ev.line_code, ev.item_code, payee,
                  ev.amount_fen, tx.clock.now(), requires_publicity=ev.requires_publicity,
                  spending_category=item.spending_category if item else None)
    await _reserve(tx, award, program)


# The measure the contract's hardware amount feeds (Ruyuan attachment 2's ≤10 % rule measures it).
HARDWARE_MEASURE = "hardware"


async def reserve_contract_payment(tx: Tx, ev: ContractPaymentDue) -> None:
    """A due contract tranche: reserved on its item budget as an award of kind ``contract_payment``
    (award id = payment_due_id, so a re-delivery changes nothing), or refused as a value
    (``contract_payment_refused``). Publicised only if the tranche or the program says so."""
    await repo.lock_award_key(tx.conn, ev.payment_due_id)
    if await tx.conn.fetchval("SELECT 1 FROM awards WHERE award_id=$1", ev.payment_due_id):
        return
    found = await repo.load_program(tx.conn, ev.program_code)
    if found is None:
        raise ProgramNotOpenYet(ev.program_code)
    row, program = found
    item = program.items.get(ev.item_code)
    tranche = Tranche(ev.contract_id, ev.contract_no, ev.tranche_code, ev.tranche_kind, ev.package_code,
                      ev.milestone_code)
    payee = await registry_payee(tx, Payee(ev.provider_credit_code, ev.provider_name, ev.payee_bank_name,
                                           ev.payee_bank_account), ev.became_due_at)
    award = Award(ev.payment_due_id, None, ev.program_code, ev.line_code, ev.item_code, payee,
                  ev.amount_fen, tx.clock.now(), kind="contract_payment",
                  requires_publicity=ev.requires_publicity or row["contract_payments_require_publicity"],
                  contract_reference=ev.contract_no, tranche=tranche,
                  spending_category=ev.spending_category or (item.spending_category if item else None),
                  parts=tuple(L.Part(p.line_code, p.item_code, p.amount_fen) for p in ev.parts),
                  measures={} if ev.hardware_fen is None else {HARDWARE_MEASURE: ev.hardware_fen})

    async def tranche_row() -> None:
        await tx.conn.execute(
            "INSERT INTO contract_tranches (award_id, contract_id, contract_no, package_code, tranche_code, "
            "tranche_kind, milestone_code, accepted_by, became_due_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            ev.payment_due_id, ev.contract_id, ev.contract_no, ev.package_code, ev.tranche_code, ev.tranche_kind,
            ev.milestone_code, list(ev.accepted_by), ev.became_due_at)

    await _reserve(tx, award, program, tranche_row)


async def _reserve(tx: Tx, award: Award, program: ProgramView,
                   after_insert: Callable[[], Awaitable[None]] | None = None) -> None:
    """Reserve (or refuse) a new award, apply a publication that came first, save, emit."""
    now = award.reserved_at
    award.objections = await repo.load_objections_for(tx.conn, award.award_id)  # filed before we knew the award
    books = await lock_books(tx, award.program_code, award.reservation_accounts())
    facts = award.reserve(program, books)
    published = await tx.conn.fetchval("SELECT published_at FROM publications WHERE award_id=$1", award.award_id)
    if published is not None and award.status is AwardStatus.RESERVED:
        award.record_publication(published)
        facts += award.open_window(*compute_window(tx, published, program.publicity_working_days))
    await repo.insert_awards(tx.conn, [award])
    if after_insert is not None:
        await after_insert()
    await tx.conn.execute("UPDATE awards SET trace_context=$2 WHERE award_id=$1", award.award_id, inject_context())
    await write_books(tx, award.program_code, books, now)
    await emit_facts(tx, award, facts, books, program, now)


async def record_publication(tx: Tx, ev: PublicityPublished) -> None:
    await repo.lock_award_key(tx.conn, ev.award_id)
    await tx.conn.execute(
        "INSERT INTO publications (award_id, notice_id, published_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
        ev.award_id, ev.notice_id, ev.published_at,
    )
    awards = await repo.load_awards(tx.conn, [ev.award_id])
    award = awards.get(ev.award_id)
    if award is None:
        return  # applied when the approval arrives
    published = await tx.conn.fetchval("SELECT published_at FROM publications WHERE award_id=$1", ev.award_id)
    days = await tx.conn.fetchval("SELECT publicity_working_days FROM programs WHERE program_code=$1",
                                  award.program_code)
    award.record_publication(published)
    facts = award.open_window(*compute_window(tx, published, days))
    await repo.save_awards(tx.conn, [award])
    await emit_facts(tx, award, facts, None, None, tx.clock.now())


async def objection_filed(tx: Tx, ev: ObjectionFiled) -> None:
    await repo.lock_award_key(tx.conn, ev.award_id)
    award = (await repo.load_awards(tx.conn, [ev.award_id])).get(ev.award_id)
    if award is None:
        # the objection came first: keep it; it holds the award from the moment it arrives
        await repo.file_unknown_objection(tx.conn, Objection(ev.objection_id, ev.award_id, "open", ev.filed_at),
                                          ev.notice_id)
        return
    award.file_objection(ev.objection_id, ev.filed_at)
    await repo.save_awards(tx.conn, [award])


async def objection_resolved(tx: Tx, ev: ObjectionResolved) -> None:
    await repo.lock_award_key(tx.conn, ev.award_id)
    award = (await repo.load_awards(tx.conn, [ev.award_id])).get(ev.award_id)
    if award is None:
        obj = (await repo.load_objections_for(tx.conn, ev.award_id)).get(ev.objection_id) or \
            Objection(ev.objection_id, ev.award_id)
        if obj.status == "open":
            obj.status, obj.resolved_at, obj.reason = ev.outcome, ev.resolved_at, ev.reason
            await repo.save_objections(tx.conn, [obj], ev.notice_id)
        return
    books = await lock_books(tx, award.program_code, award.reservation_accounts())
    facts = award.resolve_objection(ev.objection_id, ev.outcome, ev.resolved_at, ev.reason, books)
    now = tx.clock.now()
    await write_books(tx, award.program_code, books, now)
    await repo.save_awards(tx.conn, [award])
    await emit_facts(tx, award, facts, books, None, now)
