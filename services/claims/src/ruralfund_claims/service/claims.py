"""Claims: submit (the rule computes the award; what the item pays once is held in the same
transaction), review, decide, resubmit, withdraw, read."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.contracts import (
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.errors import Conflict, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.money import format_yuan
from ruralfund_common.recusal import must_recuse, require_no_conflict_of_interest

from ..adapters import once_keys as once_repo
from ..adapters import repository as repo
from ..adapters.repository import ClaimFilter, HistoryEntry
from ..domain.claim import (
    ClaimAction,
    ClaimStatus,
    assess_claim,
    transition,
)
from ..domain.enterprise import Enterprise
from ..domain.program import Item, Program
from ..domain.refusals import TITLES_ZH
from ..domain.rules import AwardComputation, OnceKey
from ..views import ClaimOut, claim_out
from .common import FUNDS_ACTOR, conflict_on_duplicate, is_uuid, own_credit_code_only
from .enterprises import enterprise_for_claims, registered_enterprise
from .programs import load_program

__all__ = [
    "claim_row",
    "decide_claim",
    "get_claim",
    "history_entry",
    "list_claims",
    "resubmit_claim",
    "review_claim",
    "submit_claim",
    "withdraw_claim",
]


def history_entry(
    claim_id: str,
    at: Any,
    principal: Principal | None,
    action: str,
    before: str | None,
    after: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> HistoryEntry:
    actor, name = (
        (principal.subject, principal.name) if principal else (FUNDS_ACTOR, "funds service")
    )
    return HistoryEntry(claim_id, at, actor, name, action, before, after, note, data)


async def _prefilled_evidence(
    conn: asyncpg.Connection, program: Program, item_code: str, credit_code: str, raw: Any
) -> tuple[Any, dict[str, Any]]:
    """Station claims may leave out the annual volume: take it from what logistics reported."""
    item = program.item(item_code)
    if (
        item.rule is None
        or item.rule.kind != "tiers"
        or not isinstance(raw, dict)
        or raw.get("annual_volume_yuan")
    ):
        return raw, {}
    year, station_id = raw.get("year"), raw.get("station_id")
    if not isinstance(year, int) or isinstance(year, bool):
        return raw, {}  # the rule's evidence model reports the missing year
    found = await repo.find_station_volumes(
        conn, credit_code, year, station_id if isinstance(station_id, str) else None
    )
    if len(found) > 1:
        raise InvalidInput(
            "STATION_AMBIGUOUS",
            f"you operate {len(found)} stations: name one in evidence.station_id",
            title_zh=TITLES_ZH["STATION_AMBIGUOUS"],
            detail_zh=f"您运营 {len(found)} 个站点，请在 evidence.station_id 中指明申报哪一个。",
            field="evidence.station_id",
            details={"station_ids": [r["station_id"] for r in found]},
        )
    if not found:
        return raw, {}
    volume = found[0]
    filled = {
        **raw,
        "station_id": volume["station_id"],
        "annual_volume_yuan": format_yuan(volume["annual_volume_fen"]),
    }
    return filled, {
        "annual_volume_source": "logistics",
        "station_id": volume["station_id"],
        "through_month": volume["last_month"],
    }


async def _refuse_duplicate(
    conn: asyncpg.Connection,
    program_code: str,
    item_code: str,
    credit_code: str,
    period: str,
    *,
    other_than: str | None = None,
) -> None:
    existing = await conn.fetchval(
        "SELECT id FROM claims WHERE program_code=$1 AND item_code=$2 AND credit_code=$3 AND period=$4 "
        "AND status NOT IN ('withdrawn','rejected') AND ($5::uuid IS NULL OR id <> $5::uuid)",
        program_code,
        item_code,
        credit_code,
        period,
        other_than,
    )
    if existing is not None:
        raise Conflict(
            "DUPLICATE_CLAIM",
            f"you already claimed {item_code} for {period} (claim {existing})",
            details={"claim_id": str(existing), "period": period},
            title_zh=TITLES_ZH["DUPLICATE_CLAIM"],
            detail_zh=f"您已就 {item_code} 申报过期间 {period}（申报 {existing}），同一期间只能申报一次。",
        )


async def _hold_once_keys(conn: asyncpg.Connection, a: _Assessed, claim_id: str) -> None:
    """Take what the item pays once (a store's months, a product code, a livestream base) for
    this claim, in its transaction; 409 naming the months or product and the earlier claim."""
    clashes = await once_repo.hold_once_keys(
        conn, a.program.code, a.item.code, claim_id, a.enterprise.credit_code, a.once_keys
    )
    if not clashes:
        return
    holders = await once_repo.once_key_holders(conn, a.program.code, a.item.code, sorted(clashes))
    raise _already_claimed(a, [k for k in a.once_keys if k.key in clashes], holders)


def _already_claimed(
    a: _Assessed, clashing: list[OnceKey], holders: list[asyncpg.Record]
) -> Conflict:
    months = all(k.key.startswith("store:") for k in clashing)
    code = "MONTHS_ALREADY_CLAIMED" if months else "ALREADY_CLAIMED"
    own = {str(h["claim_id"]): h for h in holders}
    # Another enterprise's claim is not disclosed, only that the store or product is taken.
    earlier = [
        f"申报 {cid}（期间 {h['period']}）" if h["credit_code"] == a.enterprise.credit_code
        else "另一企业的申报"
        for cid, h in own.items()
    ]
    shown = {cid: h["period"] for cid, h in own.items() if h["credit_code"] == a.enterprise.credit_code}
    what = "、".join(k.label_zh for k in clashing)
    rule_zh = "同一店铺的同一月份只能获得一次奖励" if months else "一次性奖励只能获得一次"
    return Conflict(
        code,
        f"{a.item.code}: {', '.join(k.key for k in clashing)} already claimed"
        + (f" by claim(s) {', '.join(shown)}" if shown else " by another enterprise"),
        field="evidence",
        details={"once_keys": [k.key for k in clashing], "claims": shown},
        title_zh=TITLES_ZH[code],
        detail_zh=f"{what} 已在{'、'.join(dict.fromkeys(earlier))}中申报，{rule_zh}。",
    )


@dataclass(frozen=True)
class _Assessed:
    """A claim's evidence checked and its award computed under the item's rule."""

    program: Program
    item: Item
    enterprise: Enterprise
    evidence: dict[str, Any]
    computation: AwardComputation
    prefill: dict[str, Any]
    once_keys: list[OnceKey]

    def history_data(self) -> dict[str, Any]:
        flags = {"flags": self.computation.flags} if self.computation.flags else {}
        return {"amount_fen": self.computation.amount_fen, **self.prefill, **flags}

    def columns(self) -> dict[str, Any]:
        c = self.computation
        return {
            "period": c.period, "evidence": self.evidence, "amount_fen": c.amount_fen,
            "rule_version": c.rule_version, "reasons": [r.model_dump() for r in c.reasons],
            "calculation": c.calculation, "enterprise_name": self.enterprise.name,
        }  # fmt: skip


async def _assess(
    conn: asyncpg.Connection, program_code: str, item_code: str, credit_code: str, evidence: Any,
    period: str | None, *, other_than: str | None = None, check_duplicate: bool = True,
) -> _Assessed:  # fmt: skip
    # One round trip for both: this runs for every claim.
    sha256, enterprise_row = await repo.program_sha256_and_enterprise(
        conn, program_code, credit_code
    )
    program = await load_program(conn, program_code, sha256=sha256)
    item = program.item(item_code)
    enterprise = registered_enterprise(enterprise_row, credit_code)
    raw, prefill = await _prefilled_evidence(conn, program, item_code, credit_code, evidence)
    canonical, computation = assess_claim(
        program=program, item=item, enterprise=enterprise, raw_evidence=raw, declared_period=period
    )
    if check_duplicate:
        await _refuse_duplicate(
            conn, program.code, item.code, credit_code, computation.period, other_than=other_than
        )
    assert item.rule is not None  # assess_claim refuses items without a rule
    once_keys = item.rule.once_keys(item.rule.parse_evidence(canonical))
    return _Assessed(program, item, enterprise, canonical, computation, prefill, once_keys)


async def submit_claim(
    tx: Tx, principal: Principal, *, program_code: str, item_code: str, period: str | None,
    evidence: Any,
) -> ClaimOut:  # fmt: skip
    """An enterprise claims an award: the rule computes it; ineligible claims are refused."""
    assert principal.credit_code is not None  # role enterprise guarantees it
    # The duplicate check is the insert itself (ON CONFLICT on claims_one_per_period): one
    # round trip instead of two on the path every claim takes.
    a = await _assess(
        tx.conn, program_code, item_code, principal.credit_code, evidence, period,
        check_duplicate=False,
    )  # fmt: skip
    claim_id, now = new_id(), tx.clock.now()
    row = {
        "id": claim_id, "program_code": a.program.code, "line_code": a.item.line_code,
        "item_code": a.item.code, "item_name": a.item.name, "credit_code": a.enterprise.credit_code,
        "submitted_by": principal.subject, "submitted_at": now, **a.columns(),
    }  # fmt: skip
    entry = history_entry(
        claim_id, now, principal, "submit", None, ClaimStatus.SUBMITTED, data=a.history_data()
    )
    stored = await repo.insert_claim_with_history(tx.conn, row, entry)
    if stored is None:
        await _refuse_duplicate(
            tx.conn, a.program.code, a.item.code, a.enterprise.credit_code, a.computation.period
        )  # raises DUPLICATE_CLAIM naming the claim that holds the period
        raise Conflict(
            "DUPLICATE_CLAIM", f"you already claimed {a.item.code} for {a.computation.period}",
            detail_zh=f"您已就项目 {a.item.code} 申报过期间 {a.computation.period}，同一期间只能申报一次。",
        )
    await _hold_once_keys(tx.conn, a, claim_id)
    if a.computation.flags:
        await once_repo.set_claim_flags(tx.conn, claim_id, a.computation.flags)
    await tx.emit(_claim_submitted(claim_id, a, now), aggregate_id=claim_id)
    out = claim_out(stored, [asdict(entry) | {"data": entry.data or {}}])
    return out.model_copy(update={"flags": a.computation.flags})


def _claim_submitted(claim_id: str, a: _Assessed, now: datetime) -> ClaimSubmitted:
    c = a.computation
    return ClaimSubmitted(
        claim_id=claim_id, program_code=a.program.code, item_code=a.item.code,
        credit_code=a.enterprise.credit_code, enterprise_name=a.enterprise.name, period=c.period,
        amount_fen=c.amount_fen, eligible=c.eligible, rule_version=c.rule_version, submitted_at=now,
    )  # fmt: skip


async def claim_row(
    conn: asyncpg.Connection,
    principal: Principal | None,
    claim_id: str,
    *,
    for_update: bool = False,
) -> asyncpg.Record:
    """The claim, or 404 — also when an enterprise asks for another enterprise's claim."""
    row = await repo.get_claim(conn, claim_id, for_update=for_update) if is_uuid(claim_id) else None
    own = own_credit_code_only(principal) if principal is not None else None
    if row is None or (own is not None and row["credit_code"] != own):
        raise NotFound("CLAIM_NOT_FOUND", f"no claim {claim_id!r}", title_zh=TITLES_ZH["CLAIM_NOT_FOUND"],
                       detail_zh=f"未找到申报 {claim_id}。")  # fmt: skip
    return row


async def get_claim(
    conn: asyncpg.Connection, principal: Principal, claim_id: str, *, with_history: bool = True
) -> ClaimOut:
    row = await claim_row(conn, principal, claim_id)
    history = await repo.list_claim_history(conn, claim_id) if with_history else None
    return _for_reader(claim_out(row, history), principal)


def _for_reader(out: ClaimOut, principal: Principal) -> ClaimOut:
    """The claim as ``principal`` reads it: whether they must recuse from reviewing or
    deciding it (the rule of ruralfund_common.recusal, so a page can say so before a click)."""
    return out.model_copy(update={"recusal_required": must_recuse(principal, out.credit_code)})


async def list_claims(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    status: str | None,
    program_code: str | None,
    item_code: str | None,
    after_id: str | None,
    limit: int,
    credit_code: str | None = None,
    enterprise_name: str | None = None,
    period: str | None = None,
) -> list[ClaimOut]:
    f = ClaimFilter(
        status=status,
        program_code=program_code,
        item_code=item_code,
        credit_code=own_credit_code_only(principal),
        enterprise_credit_code=credit_code,
        enterprise_name_contains=enterprise_name,
        period=period,
    )
    rows = await repo.list_claims(conn, f, after_id=after_id, limit=limit)
    return [_for_reader(claim_out(r), principal) for r in rows]


async def resubmit_claim(
    tx: Tx, principal: Principal, claim_id: str, *, period: str | None, evidence: Any
) -> ClaimOut:
    """A returned claim, corrected by its enterprise, goes back to review with a new assessment."""
    row = await claim_row(tx.conn, principal, claim_id, for_update=True)
    after = transition(row["status"], ClaimAction.RESUBMIT)
    a = await _assess(
        tx.conn, row["program_code"], row["item_code"], row["credit_code"], evidence, period,
        other_than=claim_id,
    )  # fmt: skip
    now = tx.clock.now()
    message = f"you already claimed {a.item.code} for {a.computation.period}"
    message_zh = f"您已就项目 {a.item.code} 申报过期间 {a.computation.period}，同一期间只能申报一次。"
    async with conflict_on_duplicate("DUPLICATE_CLAIM", message, message_zh):
        await repo.update_claim_assessment(tx.conn, claim_id, {**a.columns(), "at": now})
    await once_repo.free_once_keys(tx.conn, claim_id)  # the corrected evidence takes its own
    await _hold_once_keys(tx.conn, a, claim_id)
    await once_repo.set_claim_flags(tx.conn, claim_id, a.computation.flags)
    entry = history_entry(
        claim_id, now, principal, "resubmit", row["status"], after, data=a.history_data()
    )
    await repo.add_history(tx.conn, entry)
    await tx.emit(_claim_submitted(claim_id, a, now), aggregate_id=claim_id)
    return await get_claim(tx.conn, principal, claim_id)


async def review_claim(
    tx: Tx,
    principal: Principal,
    claim_id: str,
    *,
    outcome: Literal["complete", "return"],
    note: str | None,
) -> ClaimOut:
    """The bureau's review: complete (to the leading group) or return to the enterprise."""
    row = await claim_row(tx.conn, principal, claim_id, for_update=True)
    require_no_conflict_of_interest(principal, row["credit_code"], decision_zh="审核该企业的申报")
    if outcome == "return" and not (note and note.strip()):
        raise InvalidInput("NOTE_REQUIRED", "say what the enterprise must correct", field="note",
                           title_zh=TITLES_ZH["NOTE_REQUIRED"],
                           detail_zh="退回申报时须写明企业需要更正的内容。")  # fmt: skip
    action = ClaimAction.COMPLETE_REVIEW if outcome == "complete" else ClaimAction.RETURN
    after = transition(row["status"], action)
    now = tx.clock.now()
    await repo.set_claim_status(
        tx.conn,
        claim_id,
        after,
        now,
        review_note=note,
        reviewed_by=principal.subject,
        reviewed_at=now,
    )
    await repo.add_history(
        tx.conn, history_entry(claim_id, now, principal, action.value, row["status"], after, note)
    )
    if action is ClaimAction.RETURN:
        await tx.emit(_claim_returned(row, note or "", principal, now), aggregate_id=claim_id)
    return await get_claim(tx.conn, principal, claim_id)


def _claim_returned(
    row: asyncpg.Record, note: str, principal: Principal, now: datetime
) -> ClaimReturned:
    return ClaimReturned(
        claim_id=str(row["id"]), program_code=row["program_code"], item_code=row["item_code"],
        credit_code=row["credit_code"], enterprise_name=row["enterprise_name"], note=note,
        returned_by=principal.subject, returned_at=now,
    )  # fmt: skip


async def decide_claim(
    tx: Tx,
    principal: Principal,
    claim_id: str,
    *,
    decision: Literal["approve", "reject"],
    reason: str | None,
) -> ClaimOut:
    """A leading group member's decision; approval creates the award that funds reserves."""
    row = await claim_row(tx.conn, principal, claim_id, for_update=True)
    require_no_conflict_of_interest(principal, row["credit_code"], decision_zh="审批该企业的申报")
    if decision == "reject" and not (reason and reason.strip()):
        raise InvalidInput("REASON_REQUIRED", "a rejection must give its reason", field="reason",
                           title_zh=TITLES_ZH["REASON_REQUIRED"], detail_zh="驳回申报时须写明理由。")  # fmt: skip
    action = ClaimAction.APPROVE if decision == "approve" else ClaimAction.REJECT
    after = transition(row["status"], action)
    now = tx.clock.now()
    award_id = new_id() if action is ClaimAction.APPROVE else None
    columns: dict[str, Any] = {"decision_reason": reason, "decided_by": principal.subject}
    columns |= {"decided_at": now} | ({"award_id": award_id} if award_id else {})
    await repo.set_claim_status(tx.conn, claim_id, after, now, **columns)
    data = {"award_id": award_id} if award_id else None
    entry = history_entry(claim_id, now, principal, action.value, row["status"], after, reason, data)
    await repo.add_history(tx.conn, entry)
    if award_id is not None:
        event: ClaimApproved | ClaimRejected = await _claim_approved(
            tx.conn, row, award_id, principal, now
        )
    else:
        event = _claim_rejected(row, reason or "", principal, now)
    await tx.emit(event, aggregate_id=claim_id)
    return await get_claim(tx.conn, principal, claim_id)


def _claim_rejected(
    row: asyncpg.Record, reason: str, principal: Principal, now: datetime
) -> ClaimRejected:
    return ClaimRejected(
        claim_id=str(row["id"]), program_code=row["program_code"], item_code=row["item_code"],
        credit_code=row["credit_code"], enterprise_name=row["enterprise_name"], reason=reason,
        rejected_by=principal.subject, rejected_at=now,
    )  # fmt: skip


async def _claim_approved(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    award_id: str,
    principal: Principal,
    now: datetime,
) -> ClaimApproved:
    # The payee is read from the registry at approval time, so a bank account corrected
    # while the claim was under review is the one paid.
    enterprise = await enterprise_for_claims(conn, row["credit_code"])
    program = await load_program(conn, row["program_code"])
    return ClaimApproved(
        claim_id=str(row["id"]),
        award_id=award_id,
        program_code=row["program_code"],
        line_code=row["line_code"],
        item_code=row["item_code"],
        item_name=row["item_name"],
        credit_code=row["credit_code"],
        enterprise_name=enterprise.name,
        payee_bank_account=enterprise.bank_account.account_no,
        payee_bank_name=enterprise.bank_account.bank_name,
        amount_fen=row["amount_fen"],
        rule_version=row["rule_version"],
        period=row["period"],
        approved_by=principal.subject,
        approved_at=now,
        requires_publicity=program.item(row["item_code"]).requires_publicity,
    )


async def withdraw_claim(
    tx: Tx, principal: Principal, claim_id: str, *, note: str | None
) -> ClaimOut:
    row = await claim_row(tx.conn, principal, claim_id, for_update=True)
    if row["credit_code"] != principal.credit_code:
        # Only the claimant withdraws; the bureau returns or the leading group rejects instead.
        raise NotFound("CLAIM_NOT_FOUND", f"no claim {claim_id!r} of yours",
            detail_zh=f"没有编号为 {claim_id} 的、属于您的申报。")
    after = transition(row["status"], ClaimAction.WITHDRAW)
    now = tx.clock.now()
    await repo.set_claim_status(tx.conn, claim_id, after, now)
    await repo.add_history(
        tx.conn, history_entry(claim_id, now, principal, "withdraw", row["status"], after, note)
    )
    return await get_claim(tx.conn, principal, claim_id)
