"""Use cases: load -> domain decision -> save + outbox, inside the caller's transaction.

Each write use case takes the :class:`Tx` that ``idempotent(...)`` (HTTP) or the event
processor (NATS) opened, so the state change, the claim history row and the emitted event
commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    ItemBudget,
    LineBudget,
    PaymentExecuted,
    ProgramActivated,
    PublicityWindowOpened,
    ReservationRefused,
    StationVolumeReported,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.program_activated import HistoryPhaseSpec, RatioRuleSpec
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Envelope, Tx
from ruralfund_common.money import format_yuan
from ruralfund_common.recusal import require_no_conflict_of_interest

from ..adapters import milestones as milestones_repo
from ..adapters import once_keys as once_repo
from ..adapters import repository as repo
from ..adapters.repository import ClaimFilter, HistoryEntry
from ..domain.claim import (
    ClaimAction,
    ClaimStatus,
    assess_claim,
    transition,
)
from ..domain.claim_form import describe_item
from ..domain.enterprise import Enterprise, EnterpriseChange, check_registered_in_county
from ..domain.program import Item, Program, ProgramCheck, check_program, require_activatable
from ..domain.ratios import RatioRuleDoc
from ..domain.refusals import TITLES_ZH
from ..domain.rules import AwardComputation, OnceKey
from ..views import ClaimOut, EnterpriseOut, ProgramOut, claim_out, enterprise_out, program_out

__all__ = [
    "READ_ALL_ROLES",
    "activate_program",
    "apply_funds_event",
    "change_enterprise",
    "check_stored_program",
    "claim_row",
    "decide_claim",
    "describe_program_item",
    "get_claim",
    "get_enterprise",
    "get_program",
    "is_uuid",
    "list_claims",
    "list_enterprises",
    "load_program",
    "own_credit_code_only",
    "record_station_volume",
    "register_enterprise",
    "resubmit_claim",
    "review_claim",
    "submit_claim",
    "withdraw_claim",
]

# Roles that see every enterprise's data; an enterprise principal sees only its own.
READ_ALL_ROLES: Final = frozenset(
    {
        Role.BUREAU_ADMIN,
        Role.LEADING_GROUP,
        Role.AUDITOR,
        Role.SYSTEM,
        Role.FINANCE_BUREAU,
        Role.CONTRACTOR_SIGNATORY,
    }
)
FUNDS_ACTOR: Final = "funds"


def own_credit_code_only(principal: Principal) -> str | None:
    """The credit code a principal is confined to, or None when it may read everything."""
    if principal.roles & READ_ALL_ROLES:
        return None
    if principal.credit_code is None:
        raise Forbidden("ROLE_REQUIRED", "no access to enterprise data")
    return principal.credit_code


@asynccontextmanager
async def _conflict_on_duplicate(code: str, message: str) -> AsyncIterator[None]:
    """A concurrent request that inserted the same key first wins; this one gets 409.
    (The explicit existence checks before the insert give the same answer without the race.)"""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(code, message) from exc


# --------------------------------------------------------------------------- programs


def _document_sha256(document: Any) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


async def activate_program(tx: Tx, principal: Principal, document: Any) -> ProgramOut:
    """Check, store and activate a program; emits ProgramActivated. 422 if it has errors."""
    check = check_program(document)
    program = require_activatable(check)
    if await repo.get_program(tx.conn, program.code) is not None:
        raise Conflict(
            "PROGRAM_EXISTS",
            f"program {program.code} is already active; amendments are not supported yet",
            field="code",
        )
    now = tx.clock.now()
    async with _conflict_on_duplicate(
        "PROGRAM_EXISTS", f"program {program.code} is already active"
    ):
        row = _program_row(program, document, check, principal, now)
        await repo.insert_program(tx.conn, row, _item_rows(program))
    await milestones_repo.insert_milestones(tx.conn, program.code, program.milestones)
    await tx.emit(_program_activated(program, now), aggregate_id=program.code)
    return await get_program(tx.conn, program.code, with_document=False)


def _program_row(
    program: Program, document: Any, check: ProgramCheck, principal: Principal, now: Any
) -> dict[str, Any]:
    return {
        "code": program.code,
        "name": program.name,
        "county_code": program.county_code,
        "county_name": program.county_name,
        "year": program.year,
        "phase": program.phase,
        "total_fen": program.total_fen,
        "publicity_working_days": program.publicity_working_days,
        "document": document,
        "document_sha256": _document_sha256(document),
        "warnings": [w.to_dict() for w in check.warnings],
        "contractor_credit_code": program.contractor_credit_code,
        "contractor_name": program.contractor_name,
        "joint_account_bank": program.joint_account_bank,
        "joint_account_no": program.joint_account_no,
        "activated_by": principal.subject,
        "activated_at": now,
    }


def _item_rows(program: Program) -> list[dict[str, Any]]:
    lines = {line.code: line for line in program.lines}
    return [
        {
            "item_code": item.code,
            "line_code": item.line_code,
            "line_name": lines[item.line_code].name,
            "item_name": item.name,
            "budget_fen": item.budget_fen,
            "mode": item.mode,
            "rule_version": item.rule.version if item.rule else None,
            "position": position,
        }
        for position, item in enumerate(program.items())
    ]


def _program_activated(program: Program, now: Any) -> ProgramActivated:
    return ProgramActivated(
        program_code=program.code,
        name=program.name,
        county_code=program.county_code,
        county_name=program.county_name,
        year=program.year,
        phase=program.phase,
        total_fen=program.total_fen,
        lines=[
            LineBudget(
                code=line.code,
                name=line.name,
                budget_fen=line.budget_fen,
                items=[
                    ItemBudget(
                        code=i.code,
                        name=i.name,
                        budget_fen=i.budget_fen,
                        mode=i.mode,
                        spending_category=i.spending_category,
                    )
                    for i in line.items
                ],
            )
            for line in program.lines
        ],
        contractor_credit_code=program.contractor_credit_code,
        contractor_name=program.contractor_name,
        joint_account_bank=program.joint_account_bank,
        joint_account_no=program.joint_account_no,
        publicity_working_days=program.publicity_working_days,
        activated_at=now,
        ratio_rules=[_ratio_rule_spec(r) for r in program.ratio_rules],
        history=[
            HistoryPhaseSpec(
                phase=h.phase,
                label=h.label,
                total_fen=h.total_fen,
                lines=dict(h.lines),
                measures=dict(h.measures),
            )
            for h in program.history
        ],
        contract_payments_require_publicity=program.contract_payments_require_publicity,
    )


def _ratio_rule_spec(rule: RatioRuleDoc) -> RatioRuleSpec:
    bound: Literal["min", "max"] = "max" if rule.max_percent is not None else "min"
    limit = rule.max_percent if rule.max_percent is not None else rule.min_percent
    assert limit is not None  # the document model requires exactly one
    return RatioRuleSpec(
        code=rule.code,
        name=rule.name,
        bound=bound,
        limit_percent=limit,
        on_breach=rule.on_breach,
        lines=list(rule.lines) if rule.lines is not None else None,
        measure=rule.measure,
    )


async def _program_row_or_404(conn: asyncpg.Connection, code: str) -> asyncpg.Record:
    row = await repo.get_program(conn, code)
    if row is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {code!r}", field="program_code")
    return row


# Checked programs by document hash. A stored document never changes (migration 0007 refuses
# it), so its check never changes either; re-checking it on every claim cost more than the
# claim itself. Bounded, oldest out first.
MAX_CACHED_PROGRAMS: Final = 64
_checked_programs: dict[str, Program] = {}


async def load_program(
    conn: asyncpg.Connection, code: str, *, sha256: str | None = None
) -> Program:
    """The active program, rebuilt from its stored document (the document is the truth).
    ``sha256``: the stored document's hash when the caller already fetched it."""
    sha256 = sha256 or await repo.program_sha256(conn, code)
    cached = _checked_programs.get(sha256) if sha256 else None
    if cached is not None and cached.code == code:
        return cached
    row = await _program_row_or_404(conn, code)
    check = check_program(row["document"])
    # A stored program passed this check when it was activated; failing now means the
    # checker changed under it, which must be fixed, not papered over.
    assert check.program is not None and check.can_activate, (
        f"stored program {code} no longer checks"
    )
    if len(_checked_programs) >= MAX_CACHED_PROGRAMS:
        _checked_programs.pop(next(iter(_checked_programs)))
    _checked_programs[row["document_sha256"]] = check.program
    return check.program


async def get_program(conn: asyncpg.Connection, code: str, *, with_document: bool) -> ProgramOut:
    row = await _program_row_or_404(conn, code)
    program = await load_program(conn, code)
    items = [
        {
            "code": i.code,
            "name": i.name,
            "line_code": i.line_code,
            "budget_fen": i.budget_fen,
            "mode": i.mode,
            "rule_version": i.rule.version if i.rule else None,
        }
        for i in program.items()
    ]
    return program_out(row, items, with_document=with_document)


async def describe_program_item(
    conn: asyncpg.Connection, code: str, item_code: str
) -> dict[str, Any]:
    program = await load_program(conn, code)
    return describe_item(program, program.item(item_code))


async def check_stored_program(conn: asyncpg.Connection, code: str) -> dict[str, Any]:
    row = await _program_row_or_404(conn, code)
    return check_program(row["document"]).to_dict()


# --------------------------------------------------------------------------- enterprises


async def register_enterprise(
    tx: Tx, principal: Principal, enterprise: Enterprise, program_code: str | None
) -> EnterpriseOut:
    if await repo.get_enterprise(tx.conn, enterprise.credit_code) is not None:
        raise Conflict(
            "ENTERPRISE_EXISTS",
            f"{enterprise.credit_code} is already registered; change it with PATCH",
            field="credit_code",
        )
    now = tx.clock.now()
    if program_code is not None:
        program = await load_program(tx.conn, program_code)
        check_registered_in_county(enterprise, program.county_code, program_code=program.code)
    message = f"{enterprise.credit_code} is already registered"
    async with _conflict_on_duplicate("ENTERPRISE_EXISTS", message):
        row = {**_enterprise_row(enterprise), "by": principal.subject, "at": now}
        await repo.insert_enterprise(tx.conn, row)
    if program_code is not None:
        await repo.link_enterprise_program(tx.conn, enterprise.credit_code, program_code, now)
    await tx.emit(_enterprise_registered(enterprise), aggregate_id=enterprise.credit_code)
    return await get_enterprise(tx.conn, principal, enterprise.credit_code)


def _enterprise_row(e: Enterprise) -> dict[str, Any]:
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "kind": e.kind,
        "county_code": e.county_code,
        "contact": e.contact.model_dump(),
        "bank_name": e.bank_account.bank_name,
        "bank_account_no": e.bank_account.account_no,
    }


def _enterprise_registered(e: Enterprise) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        credit_code=e.credit_code,
        name=e.name,
        kind=e.kind,
        county_code=e.county_code,
        contact_name=e.contact.name,
        contact_email=e.contact.email,
        contact_phone=e.contact.phone,
    )


def _enterprise_from_row(row: asyncpg.Record) -> Enterprise:
    return Enterprise.model_validate(
        {
            "credit_code": row["credit_code"],
            "name": row["name"],
            "kind": row["kind"],
            "contact": row["contact"],
            "bank_account": {"bank_name": row["bank_name"], "account_no": row["bank_account_no"]},
        }
    )


async def _enterprise_row_or_404(
    conn: asyncpg.Connection, principal: Principal, credit_code: str, *, for_update: bool = False
) -> asyncpg.Record:
    own = own_credit_code_only(principal)
    row = await repo.get_enterprise(conn, credit_code, for_update=for_update)
    # Another enterprise's data answers like a missing one: existence is not disclosed.
    if row is None or (own is not None and own != credit_code):
        raise NotFound(
            "ENTERPRISE_NOT_FOUND", f"no enterprise {credit_code!r}", field="credit_code"
        )
    return row


async def change_enterprise(
    tx: Tx,
    principal: Principal,
    credit_code: str,
    change: EnterpriseChange,
    program_code: str | None,
) -> EnterpriseOut:
    row = await _enterprise_row_or_404(tx.conn, principal, credit_code, for_update=True)
    current = _enterprise_from_row(row)
    now = tx.clock.now()
    if program_code is not None:
        program = await load_program(tx.conn, program_code)
        check_registered_in_county(current, program.county_code, program_code=program.code)
        await repo.link_enterprise_program(tx.conn, credit_code, program_code, now)
    if change.name or change.contact or change.bank_account:
        updated = change.apply(current)
        await repo.update_enterprise(
            tx.conn, {**_enterprise_row(updated), "by": principal.subject, "at": now}
        )
        await tx.emit(_enterprise_registered(updated), aggregate_id=credit_code)
    elif program_code is None:
        change.apply(current)  # raises NOTHING_TO_CHANGE
    return await get_enterprise(tx.conn, principal, credit_code)


async def get_enterprise(
    conn: asyncpg.Connection, principal: Principal, credit_code: str
) -> EnterpriseOut:
    return enterprise_out(await _enterprise_row_or_404(conn, principal, credit_code))


async def list_enterprises(
    conn: asyncpg.Connection, principal: Principal, *, after: str | None, limit: int
) -> list[EnterpriseOut]:
    rows = await repo.list_enterprises(
        conn, after=after, limit=limit, credit_code=own_credit_code_only(principal)
    )
    return [enterprise_out(r) for r in rows]


# --------------------------------------------------------------------------- claims


def _history(
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


async def _enterprise_for_claims(conn: asyncpg.Connection, credit_code: str) -> Enterprise:
    return _registered_enterprise(await repo.get_enterprise_only(conn, credit_code), credit_code)


def _registered_enterprise(row: Mapping[str, Any] | None, credit_code: str) -> Enterprise:
    if row is None:
        raise InvalidInput(
            "ENTERPRISE_NOT_REGISTERED",
            f"{credit_code} is not registered: ask the bureau to register it first",
            field="credit_code",
        )
    return _enterprise_from_row(row)


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
    enterprise = _registered_enterprise(enterprise_row, credit_code)
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
    entry = _history(
        claim_id, now, principal, "submit", None, ClaimStatus.SUBMITTED, data=a.history_data()
    )
    stored = await repo.insert_claim_with_history(tx.conn, row, entry)
    if stored is None:
        await _refuse_duplicate(
            tx.conn, a.program.code, a.item.code, a.enterprise.credit_code, a.computation.period
        )  # raises DUPLICATE_CLAIM naming the claim that holds the period
        raise Conflict(
            "DUPLICATE_CLAIM", f"you already claimed {a.item.code} for {a.computation.period}"
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
        raise NotFound("CLAIM_NOT_FOUND", f"no claim {claim_id!r}")
    return row


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def get_claim(
    conn: asyncpg.Connection, principal: Principal, claim_id: str, *, with_history: bool = True
) -> ClaimOut:
    row = await claim_row(conn, principal, claim_id)
    history = await repo.list_claim_history(conn, claim_id) if with_history else None
    return claim_out(row, history)


async def list_claims(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    status: str | None,
    program_code: str | None,
    item_code: str | None,
    after_id: str | None,
    limit: int,
) -> list[ClaimOut]:
    f = ClaimFilter(
        status=status,
        program_code=program_code,
        item_code=item_code,
        credit_code=own_credit_code_only(principal),
    )
    rows = await repo.list_claims(conn, f, after_id=after_id, limit=limit)
    return [claim_out(r) for r in rows]


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
    async with _conflict_on_duplicate("DUPLICATE_CLAIM", message):
        await repo.update_claim_assessment(tx.conn, claim_id, {**a.columns(), "at": now})
    await once_repo.free_once_keys(tx.conn, claim_id)  # the corrected evidence takes its own
    await _hold_once_keys(tx.conn, a, claim_id)
    await once_repo.set_claim_flags(tx.conn, claim_id, a.computation.flags)
    entry = _history(
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
        raise InvalidInput("NOTE_REQUIRED", "say what the enterprise must correct", field="note")
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
        tx.conn, _history(claim_id, now, principal, action.value, row["status"], after, note)
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
        raise InvalidInput("REASON_REQUIRED", "a rejection must give its reason", field="reason")
    action = ClaimAction.APPROVE if decision == "approve" else ClaimAction.REJECT
    after = transition(row["status"], action)
    now = tx.clock.now()
    award_id = new_id() if action is ClaimAction.APPROVE else None
    columns: dict[str, Any] = {"decision_reason": reason, "decided_by": principal.subject}
    columns |= {"decided_at": now} | ({"award_id": award_id} if award_id else {})
    await repo.set_claim_status(tx.conn, claim_id, after, now, **columns)
    data = {"award_id": award_id} if award_id else None
    entry = _history(claim_id, now, principal, action.value, row["status"], after, reason, data)
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
    enterprise = await _enterprise_for_claims(conn, row["credit_code"])
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
        raise NotFound("CLAIM_NOT_FOUND", f"no claim {claim_id!r} of yours")
    after = transition(row["status"], ClaimAction.WITHDRAW)
    now = tx.clock.now()
    await repo.set_claim_status(tx.conn, claim_id, after, now)
    await repo.add_history(
        tx.conn, _history(claim_id, now, principal, "withdraw", row["status"], after, note)
    )
    return await get_claim(tx.conn, principal, claim_id)


# --------------------------------------------------------------------------- consumed events


FundsEvent = (
    AwardReserved | ReservationRefused | PublicityWindowOpened | PaymentExecuted | AwardRevoked
)


def _funds_fact(event: FundsEvent) -> tuple[ClaimAction, dict[str, Any]]:
    if isinstance(event, AwardReserved):
        return ClaimAction.RESERVE, {
            "reserved_at": event.reserved_at,
            "item_available_fen": event.item_available_fen,
        }
    if isinstance(event, ReservationRefused):
        return ClaimAction.REFUSE_RESERVATION, {
            "refusal_code": event.code,
            "refusal_reason": event.reason,
        }
    if isinstance(event, PublicityWindowOpened):
        return ClaimAction.OPEN_PUBLICITY, {
            "publicity_starts_on": event.starts_on,
            "publicity_ends_on": event.ends_on,
            "payable_from": event.payable_from,
        }
    if isinstance(event, AwardRevoked):
        return ClaimAction.REVOKE, {
            "revoked_at": event.revoked_at,
            "revocation_code": event.code,
            "revocation_reason": event.reason,
        }
    return ClaimAction.PAY, {"payment_id": event.payment_id, "paid_at": event.executed_at}


async def apply_funds_event(tx: Tx, env: Envelope[Any]) -> None:
    """Mirror funds' progress on the claim. A DomainError here dead-letters the message."""
    event: FundsEvent = env.data
    row = await claim_row(tx.conn, None, event.claim_id, for_update=True)
    if row["award_id"] is None or str(row["award_id"]) != event.award_id:
        raise Conflict(
            "AWARD_MISMATCH",
            f"claim {event.claim_id} has award {row['award_id']}, funds reported {event.award_id}",
        )
    action, facts = _funds_fact(event)
    if isinstance(event, PaymentExecuted) and event.payment_id in (row["failed_payment_ids"] or []):
        # the execution report of a payment the bank already failed: history only
        await repo.add_history(tx.conn, _history(event.claim_id, tx.clock.now(), None, "late_payment_report",
                                                 row["status"], row["status"], "payment already failed",
                                                 {"payment_id": event.payment_id, "message_id": env.id}))
        return
    after = transition(row["status"], action)
    note = None
    if isinstance(event, PaymentExecuted) and event.amount_fen != row["amount_fen"]:
        note = f"AMOUNT_MISMATCH: paid {format_yuan(event.amount_fen)}, approved {format_yuan(row['amount_fen'])}"
    now = tx.clock.now()
    await repo.record_funds_fact(tx.conn, event.claim_id, after, now, facts)
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in facts.items()}
    await repo.add_history(
        tx.conn,
        _history(
            event.claim_id,
            now,
            None,
            action.value,
            row["status"],
            after,
            note,
            {**data, "message_id": env.id},
        ),
    )


async def apply_payment_failed(tx: Tx, env: Envelope[PaymentFailed]) -> None:
    """The bank failed or returned a payment: funds made the award payable again. The claim
    leaves ``paid`` only if that payment is the one it records (a later payment may already have
    succeeded: subjects arrive in any order), and the failed id is kept so its own late
    execution report cannot mark the claim paid."""
    event = env.data
    row = await claim_row(tx.conn, None, event.claim_id, for_update=True) if event.claim_id else None
    if row is None:
        return  # a contract tranche's payment: see contracts.apply_tranche_payment_failed
    if row["award_id"] is None or str(row["award_id"]) != event.award_id:
        raise Conflict("AWARD_MISMATCH", f"claim {event.claim_id} has award {row['award_id']}, funds reported {event.award_id}")
    current = row["status"] == ClaimStatus.PAID and str(row["payment_id"]) == event.payment_id
    after = ClaimStatus.IN_PUBLICITY if current else ClaimStatus(row["status"])
    now = tx.clock.now()
    await tx.conn.execute(
        "UPDATE claims SET failed_payment_ids = array_append(failed_payment_ids, $2), status = $3, "
        "payment_id = CASE WHEN $4 THEN NULL ELSE payment_id END, paid_at = CASE WHEN $4 THEN NULL ELSE paid_at END, "
        "updated_at = $5, version = version + 1 WHERE id = $1::uuid",
        event.claim_id, event.payment_id, after.value, current, now,
    )
    await repo.add_history(tx.conn, _history(
        event.claim_id, now, None, "payment_failed", row["status"], after,
        f"{event.code}: {event.reason}", {"payment_id": event.payment_id, "message_id": env.id},
    ))


async def record_station_volume(tx: Tx, event: StationVolumeReported) -> None:
    await repo.upsert_station_volume(
        tx.conn,
        {
            "station_id": event.station_id,
            "year": event.year,
            "station_name": event.station_name,
            "operator_credit_code": event.operator_credit_code,
            "annual_volume_fen": event.annual_volume_fen,
            "annual_parcels": event.annual_parcels,
            "last_month": event.month,
            "updated_at": tx.clock.now(),
        },
    )
