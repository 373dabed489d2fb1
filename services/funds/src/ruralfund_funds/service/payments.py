"""Payment orders: request, approvals (the second executes), payee bank corrections, and the
bank's confirmation or failure by API or bank statement import."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ruralfund_common.auth import Principal, Role
from ruralfund_common.contracts.funds.payment_executed import PaymentExecuted
from ruralfund_common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import RecusalRequired, require_no_conflict_of_interest

from ..adapters import repository as repo
from ..domain.awards import Award
from ..domain.bank_statement import StatementLine
from ..domain.payee_bank import require_funds_is_home
from ..domain.ratios import MAX_JUSTIFICATIONS, Justification, ShareBook
from ._base import (
    compute_window,
    emit_all,
    emit_facts,
    lock_books,
    program_or_404,
    refusal_event,
    today,
    write_books,
)
from .reads import payment_view

__all__ = [
    "MAX_BATCH_APPROVALS",
    "ApprovalItem",
    "approve_payments",
    "change_payee_bank",
    "fail_payment",
    "import_statement",
    "request_payment",
    "settle_payment",
]

MAX_BATCH_APPROVALS = 500


async def _award_or_404(tx: Tx, award_id: str) -> Award:
    award = (await repo.load_awards(tx.conn, [award_id])).get(award_id)
    if award is None:
        raise NotFound("AWARD_NOT_FOUND", f"no award {award_id}", field="award_id",
            detail_zh=f"没有编号为 {award_id} 的奖补。")
    return award


async def require_not_paid_before_restore(tx: Tx, award_id: str) -> None:
    """Refuse to pay an award that funds' own published history says was paid, when its
    database does not record that payment: it was restored to before it (``ruralfund deploy
    after-restore`` wrote the published events back into the outbox). The bank may have paid
    it; ordering or co-signing it again would pay it twice. A person reconciles first
    (docs/runbook.md, "Restore funds' database to a point in time").

    A payment the bank failed is in ``payments`` as failed, so paying again after a failure
    stays possible. Reads the outbox through its (subject, seq) index: one subject's rows."""
    lost = await tx.conn.fetchval(
        "SELECT o.envelope->'data'->>'payment_id' FROM outbox o WHERE o.subject = $1 "
        "AND o.envelope->'data'->>'award_id' = $2 AND NOT EXISTS (SELECT 1 FROM payments p "
        "WHERE p.payment_id::text = o.envelope->'data'->>'payment_id' AND p.status IN ('executed', 'settled', 'failed')) "
        "LIMIT 1", PaymentExecuted.SUBJECT, award_id)
    if lost is not None:
        raise Conflict(
            "AWARD_PAID_BEFORE_RESTORE",
            f"award {award_id} was paid by payment {lost} (funds published its execution), which this database "
            "no longer records: it was restored to before it. Reconcile with the bank statement first.",
            details={"award_id": award_id, "payment_id": lost},
            title_zh="该奖补在恢复点之后已付款",
            detail_zh=f"资金服务曾发布该奖补已由付款单 {lost} 支付，但数据库已恢复到该付款之前。"
                      "请先与银行对账单核对，不得再次付款。",
        )


def justifications_of(shares: ShareBook | None, given: list[tuple[str, str]], by: Principal,
                      now, payee_credit_code: str = "") -> list[Justification]:
    """Reasons given for departing from "in principle" rules: each must name one of the
    program's warning rules. Only the leading group decides them (Ruyuan attachment 2: the
    rules say 原则上; departing is the leading group's call, never the bureau's or the
    contractor's), and never a member linked to the payee (the same recusal as for claims);
    recorded with who decided and when."""
    if len(given) > MAX_JUSTIFICATIONS:
        raise InvalidInput("TOO_MANY_JUSTIFICATIONS", f"at most {MAX_JUSTIFICATIONS}", field="ratio_justifications",
            detail_zh=f"理由最多 {MAX_JUSTIFICATIONS} 条。")
    if given and not by.has(Role.LEADING_GROUP):
        raise Forbidden("RATIO_DECISION_BY_LEADING_GROUP",
                        "偏离「原则上」资金使用比例须由领导小组决定：只有领导小组成员可以填写理由（ratio_justifications）",
                        field="ratio_justifications",
                            detail_zh="偏离“原则上”资金使用比例须由领导小组决定：只有领导小组成员可以填写理由（ratio_justifications）。",
                        )
    if given and payee_credit_code:
        require_no_conflict_of_interest(by, payee_credit_code, decision_zh="决定该笔付款偏离资金使用比例")
    out = []
    for rule_code, text in given:
        rule = shares.rule(rule_code) if shares is not None else None
        if rule is None or rule.on_breach != "warning":
            raise InvalidInput("UNKNOWN_RATIO_RULE", f"{rule_code} is not an 'in principle' share rule of this program",
                               field="ratio_justifications",
                                   detail_zh=f"{rule_code} 不是本方案“原则上”的资金使用比例规则，不能为其填写理由。",
                               )
        out.append(Justification(rule_code, text, by.subject, now, by.name))
    return out


async def request_payment(tx: Tx, award_id: str, by: Principal, payment_id: str | None = None,
                          justifications: list[tuple[str, str]] | None = None) -> dict:
    award = await _award_or_404(tx, award_id)
    require_no_conflict_of_interest(by, award.payee.credit_code, decision_zh="为该企业申请付款")
    await require_not_paid_before_restore(tx, award_id)
    program_row, program = await program_or_404(tx, award.program_code)
    now = tx.clock.now()
    facts = []
    if award.window_error and award.published_at is not None:
        facts = award.open_window(*compute_window(tx, award.published_at, program.publicity_working_days))  # the year may be loaded by now
    # a first look at the share rules; decided again under the joint account's lock at execution
    shares = await repo.load_shares(tx.conn, award.program_code, program_row)
    why = justifications_of(shares, justifications or [], by, now, award.payee.credit_code)
    order = award.request_payment(program, payment_id or new_id(), by.subject, now, today(tx), shares, why)
    await repo.save_awards(tx.conn, [award])
    await emit_facts(tx, award, facts, None, program, now)
    return await payment_view(tx.conn, order.payment_id)


@dataclass
class ApprovalItem:
    payment_id: str
    content_sha256: str
    outcome: dict[str, Any] = field(default_factory=dict)
    justifications: list[tuple[str, str]] = field(default_factory=list)  # (rule code, text)


async def _awards_of_payments(tx: Tx, items: list[ApprovalItem]) -> dict[str, str]:
    ids = []
    for it in items:
        try:
            ids.append(str(uuid.UUID(it.payment_id)))
        except ValueError:
            continue
    rows = await tx.conn.fetch("SELECT payment_id::text AS p, award_id FROM payments WHERE payment_id = ANY($1::uuid[])",
                               ids)
    return {r["p"]: r["award_id"] for r in rows}


async def approve_payments(tx: Tx, items: list[ApprovalItem], by: Principal, *, command_id: str | None) -> list[ApprovalItem]:
    """Approve one or many payment orders (a payment run). Each is decided on its own: a refused
    one (its code is its outcome, and an event) does not stop the others. The second valid
    approval of an order executes it."""
    assert 1 <= len(items) <= MAX_BATCH_APPROVALS
    award_of = await _awards_of_payments(tx, items)
    awards = await repo.load_awards(tx.conn, list(set(award_of.values())))
    now, day = tx.clock.now(), today(tx)
    audit: repo.AuditRecords = []  # one extension of the hash chain for the whole run
    pending: list = []  # and one pipelined write of its events
    by_program: dict[str, list[Award]] = {}
    for a in awards.values():
        by_program.setdefault(a.program_code, []).append(a)
    for program_code, group in sorted(by_program.items()):
        program_row, program = await program_or_404(tx, program_code)
        books = await lock_books(tx, program_code, set().union(*(a.accounts(payment_only=True) for a in group)))
        # read under the joint account's row lock: no other payment or reversal can change the spend now
        shares = await repo.load_shares(tx.conn, program_code, program_row)
        for it in items:
            award = awards.get(award_of.get(it.payment_id, ""))
            if award is None or award.program_code != program_code:
                continue
            try:
                require_no_conflict_of_interest(by, award.payee.credit_code, decision_zh="审批向该企业的付款")
                await require_not_paid_before_restore(tx, award.award_id)
                why = justifications_of(shares, it.justifications, by, now, award.payee.credit_code)
                facts = award.approve(program, it.payment_id, person=by.subject, name=by.name,
                                      roles=frozenset(r.value for r in by.roles), signed_sha256=it.content_sha256,
                                      now=now, today=day, books=books, shares=shares, justifications=why)
            except DomainError as refused:
                it.outcome = {"status": "refused", **refused.to_dict()}
                continue
            it.outcome = {"status": award.payment.status.value if award.payment else award.status.value}
            if award.payment is not None and award.payment.status.value == "executed" and shares is not None:
                audit.append(("ratio_check", {"payment_id": it.payment_id, "award_id": award.award_id,
                                              "checks": award.payment.ratio_checks,
                                              "justifications": [j.as_dict() for j in award.payment.justifications]}))
            await emit_facts(tx, award, facts, books, program, now, pending)
        await write_books(tx, program_code, books, now, audit)
    await repo.save_awards(tx.conn, list(awards.values()), audit)
    await repo.append_audit(tx.conn, audit, now)
    for it in items:
        if not it.outcome:
            missing = NotFound("PAYMENT_NOT_FOUND", f"no payment {it.payment_id}",
                               detail_zh=f"没有编号为 {it.payment_id} 的付款指令。")
            it.outcome = {"status": "refused", **missing.to_dict()}
        if it.outcome["status"] == "refused":
            pending.append((refusal_event("approve_payment", it.outcome["code"], it.outcome["message"], now,
                                          command_id=command_id, payment_id=it.payment_id, requested_by=by.subject,
                                          award_id=award_of.get(it.payment_id)), it.payment_id, None))
    await emit_all(tx, pending)
    return items


async def change_payee_bank(tx: Tx, award_id: str, bank_name: str, bank_account: str, by: Principal) -> dict:
    award = await _award_or_404(tx, award_id)
    require_no_conflict_of_interest(by, award.payee.credit_code, decision_zh="更改该企业的收款账户")
    registry_has_account = bool(await tx.conn.fetchval(
        "SELECT 1 FROM registry_bank_accounts WHERE credit_code=$1", award.payee.credit_code))
    require_funds_is_home(award, registry_has_account=registry_has_account)
    award.change_payee_bank(bank_name, bank_account)
    await repo.save_awards(tx.conn, [award])
    await repo.append_audit(tx.conn, [("payee_bank_changed", {"award_id": award_id, "bank_name": bank_name,
                                                             "bank_account": bank_account, "by": by.subject})],
                            tx.clock.now())
    return {"award_id": award_id, "content_sha256": award.content().sha256(), "status": award.status.value}


def _require_no_conflict_on_bank_fact(by: Principal, award: Award) -> None:
    # A failure reverses the payment (payable again), a settlement closes it: a person reporting
    # either about their own or a linked payee could hide or repeat a payment.
    require_no_conflict_of_interest(by, award.payee.credit_code, decision_zh="登记向该企业付款的银行结果")


async def _payment_award(tx: Tx, payment_id: str) -> Award:
    items = [ApprovalItem(payment_id, "")]
    award_id = (await _awards_of_payments(tx, items)).get(payment_id)
    if award_id is None:
        raise NotFound("PAYMENT_NOT_FOUND", f"no payment {payment_id}",
            detail_zh=f"没有编号为 {payment_id} 的付款指令。")
    return await _award_or_404(tx, award_id)


async def settle_payment(tx: Tx, payment_id: str, bank_txn_id: str, source: str = "api", *,
                         by: Principal) -> dict:
    award = await _payment_award(tx, payment_id)
    _require_no_conflict_on_bank_fact(by, award)
    now = tx.clock.now()
    facts = award.settle(payment_id, bank_txn_id, now, source)
    await repo.save_awards(tx.conn, [award])
    await repo.append_audit(tx.conn, [("payment_settled", {"payment_id": payment_id, "bank_txn_id": bank_txn_id,
                                                          "source": source})], now)
    await emit_facts(tx, award, facts, None, None, now)
    return await payment_view(tx.conn, payment_id)


async def fail_payment(tx: Tx, payment_id: str, code: str, reason: str, source: str = "api", *,
                       by: Principal) -> dict:
    award = await _payment_award(tx, payment_id)
    _require_no_conflict_on_bank_fact(by, award)
    books = await lock_books(tx, award.program_code, award.accounts(payment_only=True))
    now = tx.clock.now()
    facts = award.fail(payment_id, code, reason, now, source, books)
    await write_books(tx, award.program_code, books, now)
    await repo.save_awards(tx.conn, [award])
    await emit_facts(tx, award, facts, books, None, now)
    return await payment_view(tx.conn, payment_id)


async def import_statement(tx: Tx, program_code: str, lines: list[StatementLine], by: Principal) -> dict:
    """Record each new statement line and apply what it says to its payment: ok → settled,
    failed/returned → reversed. A line seen before (same account and bank transaction id)
    changes nothing, so re-importing a statement is harmless."""
    await program_or_404(tx, program_code)
    import_id, now = new_id(), tx.clock.now()
    counts: dict[str, int] = {}
    for line in lines:
        match = await _apply_line(tx, program_code, import_id, line, now, by)
        counts[match] = counts.get(match, 0) + 1
    return {"import_id": import_id, "lines": len(lines), "matches": counts}


async def _apply_line(tx: Tx, program_code: str, import_id: str, line: StatementLine, now,
                      by: Principal) -> str:
    seen = await tx.conn.fetchval(
        "SELECT 1 FROM bank_statement_lines WHERE program_code=$1 AND account_no=$2 AND bank_txn_id=$3",
        program_code, line.account_no, line.bank_txn_id)
    if seen:
        return "duplicate"
    pay = None
    if line.direction == "debit" and line.reference:
        pay = await tx.conn.fetchrow("SELECT payment_id::text AS p, status, (content->>'amount_fen')::bigint AS amount "
                                     "FROM payments WHERE bank_reference=$1", line.reference)
    match = _match(line, pay)
    if match in ("settled", "failed"):
        try:
            if match == "settled":
                await settle_payment(tx, pay["p"], line.bank_txn_id, "statement", by=by)
            else:
                await fail_payment(tx, pay["p"], "BANK_" + line.status.upper(), f"statement {line.bank_txn_id}",
                                   "statement", by=by)
        except RecusalRequired:
            # the whole import is refused and records nothing: a line kept as seen would never be
            # applied when someone without the conflict imports the statement again
            raise
        except DomainError as refused:  # e.g. the API already settled it: record, do not fail the import
            match = refused.code.lower()
    await tx.conn.execute(
        "INSERT INTO bank_statement_lines (program_code, import_id, account_no, bank_txn_id, value_date, direction, "
        "amount_fen, status, reference, counterparty_account, counterparty_name, payment_id, match, imported_at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
        program_code, import_id, line.account_no, line.bank_txn_id, line.value_date, line.direction, line.amount_fen,
        line.status, line.reference, line.counterparty_account, line.counterparty_name,
        uuid.UUID(pay["p"]) if pay else None, match, now)
    return match


def _match(line: StatementLine, pay) -> str:
    if line.direction == "credit":
        return "credit"
    if pay is None:
        return "unmatched"
    if pay["amount"] != line.amount_fen:
        return "amount_differs"
    return "settled" if line.status == "ok" else "failed"

