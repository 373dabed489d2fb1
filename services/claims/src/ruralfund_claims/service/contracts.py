"""Use cases of service contracts (购买服务): record, report deliverables, accept milestones,
accept or fail the contract. Each runs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.calendar import local_date
from ruralfund_common.contracts.claims.contract_payment_due import (
    ContractPaymentDue,
    TranchePart,
)
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.funds.contract_payment_executed import (
    ContractPaymentExecuted,
    ContractPaymentRefused,
)
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.credit_code import validate_credit_code
from ruralfund_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Envelope, Tx
from ruralfund_common.money import format_yuan, parse_yuan
from ruralfund_common.recusal import require_no_conflict_of_interest

from ..adapters import contract_files as files_repo
from ..adapters import contracts as repo
from ..adapters import packages as packages_repo
from ..adapters import repository as claims_repo
from ..domain.contracts import (
    ContractIn,
    ContractStatus,
    DeliverableState,
    MilestoneAcceptanceIn,
    acceptance_gaps,
    acceptance_gaps_zh,
    acceptance_record,
    contract_deliverables,
    require_active,
    require_service_item,
    require_within_budget,
)
from ..domain.packages import (
    PROCUREMENT_NAMES_ZH,
    Package,
    ProcurementMethod,
    require_winner,
    require_within_package,
)
from ..domain.program import Item, Program
from ..domain.schedule import (
    TrancheStatus,
    check_schedule,
    check_split,
    payment_failed,
    require_status,
)
from ..domain.targets import TargetValue
from ..views import ContractOut, DeliverableOut, contract_out
from .common import is_uuid, own_credit_code_only
from .programs import load_program

__all__ = [
    "accept_contract",
    "accept_contract_milestone",
    "apply_contract_payment_executed",
    "apply_contract_payment_refused",
    "apply_tranche_payment_failed",
    "contract_row",
    "create_contract",
    "emit_overdue_contract_milestones",
    "get_contract",
    "list_contracts",
    "registered_enterprise",
    "report_deliverable",
]


async def create_contract(
    tx: Tx, principal: Principal, program_code: str, item_code: str, body: ContractIn
) -> ContractOut:
    """Record a signed contract for a service item: its amount fits its package (with the
    package's winner) or the item's uncommitted budget; a schedule's advance is due at once."""
    require_no_conflict_of_interest(
        principal, body.provider_credit_code, decision_zh="为该企业登记服务合同"
    )
    program = await load_program(tx.conn, program_code)
    item = program.item(item_code)
    require_service_item(item)
    provider = await registered_enterprise(
        tx.conn, body.provider_credit_code, "provider_credit_code"
    )
    amount_fen = _fen(body.amount_yuan)
    method = await _require_room(
        tx, program.code, item, body.package_code, provider["credit_code"], amount_fen
    )
    split = await _split(tx, program, item, body, amount_fen)
    deliverables = contract_deliverables(item, list(body.extra_deliverables))
    schedule = (
        check_schedule(
            body.payment_schedule,
            amount_fen=amount_fen,
            milestone_codes=[m.code for m in body.milestones],
            default_category=item.spending_category,
            contract_split=split,
        )
        if body.payment_schedule is not None
        else None
    )
    contract_id, now = new_id(), tx.clock.now()
    row = {
        "id": contract_id, "program_code": program.code, "item_code": item.code,
        "item_name": item.name, "contract_no": body.contract_no,
        "provider_credit_code": provider["credit_code"], "provider_name": provider["name"],
        "amount_fen": amount_fen, "signed_on": body.signed_on, "ends_on": body.ends_on,
        "procurement": body.procurement or method, "created_by": principal.subject, "created_at": now,
        "package_code": body.package_code,
        "items": [{"item_code": c, "amount_fen": f} for c, f in (split or {}).items()],
    }  # fmt: skip
    if await tx.conn.fetchval(
        "SELECT 1 FROM service_contracts WHERE program_code=$1 AND contract_no=$2",
        program.code,
        body.contract_no,
    ):
        raise Conflict("CONTRACT_EXISTS", f"contract {body.contract_no} is already recorded",
            detail_zh=f"合同 {body.contract_no} 已登记，不能重复登记。")
    milestones = [m.model_dump() for m in body.milestones]
    await repo.insert_contract(tx.conn, row, deliverables, milestones)
    if schedule:
        await repo.insert_tranches(tx.conn, contract_id, [(t, new_id()) for t in schedule], now)
        # 前期资金拨付: the advance is payable once the signed contract is recorded.
        await _make_due(tx, contract_id, kind="advance", accepted_by=[])
    return await get_contract(tx.conn, principal, contract_id)


async def _require_room(
    tx: Tx, program_code: str, item: Item, package_code: str | None, provider: str, amount_fen: int
) -> str | None:
    """The contract fits its package (signed with its winner) or, outside packages, what its
    item has not committed yet. Locks what it checks, so two concurrent contracts cannot both
    fit. Returns the package's procurement method in Chinese (None outside packages)."""
    if package_code is None:
        await tx.conn.execute(
            "SELECT 1 FROM program_items WHERE program_code=$1 AND item_code=$2 FOR UPDATE",
            program_code,
            item.code,
        )
        committed = await packages_repo.committed_on_items(tx.conn, program_code, [item.code])
        require_within_budget(item, amount_fen, committed)
        return None
    row = await packages_repo.get_package(tx.conn, program_code, package_code, for_update=True)
    if row is None:
        raise InvalidInput(
            "PACKAGE_NOT_FOUND", f"program {program_code} has no package {package_code!r}",
            field="package_code",
            detail_zh=f"方案 {program_code} 中没有采购包 {package_code}。",
        )  # fmt: skip
    package = Package(
        row["code"], tuple(row["item_codes"]), row["budget_fen"], row["winner_credit_code"]
    )
    require_winner(package, item.code, provider)
    require_within_package(package, row["contracted_fen"], amount_fen)
    return PROCUREMENT_NAMES_ZH[ProcurementMethod(row["method"])]


async def _split(
    tx: Tx, program: Program, item: Item, body: ContractIn, amount_fen: int
) -> dict[str, int] | None:
    """A contract under a package covering several items, split across them: every item of
    the package, its part within the item's budget, the parts adding up to the contract."""
    if body.items is None:
        return None
    if body.package_code is None:
        raise InvalidInput(
            "SPLIT_NEEDS_PACKAGE", "only a contract under a package is split across items",
            field="items", title_zh="合同拆分须属于采购包组",
            detail_zh="只有在覆盖多个项目的采购包组下签订的合同才能按项目拆分金额（items）",
        )  # fmt: skip
    row = await packages_repo.get_package(tx.conn, program.code, body.package_code)
    assert row is not None  # _require_room found it
    split = check_split(body.items, amount_fen=amount_fen, allowed=tuple(row["item_codes"]),
                        field="items", what_zh=f"合同 {body.contract_no}")  # fmt: skip
    if item.code not in split:
        raise InvalidInput(
            "ITEM_NOT_IN_SPLIT", f"item {item.code} has no part of the contract", field="items",
            title_zh="合同项目不在拆分中",
            detail_zh=f"合同登记在项目 {item.code} 下，但拆分（items）中没有该项目",
        )  # fmt: skip
    for code, fen in split.items():
        budget = program.item(code).budget_fen
        if fen > budget:
            raise Conflict(
                "CONTRACT_EXCEEDS_BUDGET", f"item {code}: {format_yuan(fen)} > {format_yuan(budget)}",
                field="items", details={"item_code": code, "amount_fen": fen, "item_budget_fen": budget},
                title_zh="合同金额超过项目预算",
                detail_zh=f"合同在项目 {code} 的金额 {format_yuan(fen)} 元超过该项目预算 {format_yuan(budget)} 元",
            )  # fmt: skip
    return split


def _fen(text: str) -> int:
    try:
        return parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", str(exc), field="amount_yuan",
            detail_zh="“amount_yuan”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。") from None


async def registered_enterprise(
    conn: asyncpg.Connection, credit_code: str, field: str
) -> asyncpg.Record:
    code = validate_credit_code(credit_code.strip().upper(), field=field)
    row = await claims_repo.get_enterprise(conn, code)
    if row is None:
        raise InvalidInput(
            "ENTERPRISE_NOT_REGISTERED",
            f"{code} is not registered: register the provider (kind service_provider) first",
            field=field,
            detail_zh=f"统一社会信用代码 {code} 的单位尚未登记，请先将服务商登记为 service_provider（服务商）。",
        )
    return row


async def contract_row(
    conn: asyncpg.Connection, principal: Principal, contract_id: str, *, for_update: bool = False
) -> asyncpg.Record:
    """The contract, or 404 — also for an enterprise that is not its provider."""
    row = (
        await repo.get_contract(conn, contract_id, for_update=for_update)
        if is_uuid(contract_id)
        else None
    )
    own = own_credit_code_only(principal)
    if row is None or (own is not None and row["provider_credit_code"] != own):
        raise NotFound("CONTRACT_NOT_FOUND", f"no contract {contract_id!r}",
                       title_zh="未找到该合同", detail_zh=f"未找到合同 {contract_id}。")  # fmt: skip
    return row


def _states(deliverables: list[asyncpg.Record]) -> list[DeliverableState]:
    return [
        DeliverableState(
            code=d["code"],
            name=d["name"],
            bound=TargetValue(d["comparison"], d["target_value"], d["money"]),
            actual=d["actual_value"],
            alternative_to=d["alternative_to"],
        )
        for d in deliverables
    ]


def _deliverable_out(d: asyncpg.Record, state: DeliverableState) -> DeliverableOut:
    return DeliverableOut(
        target=state.bound.text(),
        met=state.met,
        **{k: d[k] for k in DeliverableOut.model_fields if k not in {"target", "met"}},
    )


async def get_contract(
    conn: asyncpg.Connection, principal: Principal, contract_id: str
) -> ContractOut:
    row = await contract_row(conn, principal, contract_id)
    return await _contract_out(conn, row)


async def _contract_out(conn: asyncpg.Connection, row: asyncpg.Record) -> ContractOut:
    deliverables = await repo.list_deliverables(conn, str(row["id"]))
    milestones = await repo.list_milestones(conn, str(row["id"]))
    tranches = await repo.list_tranches(conn, str(row["id"]))
    states = _states(deliverables)
    statuses = [(m["code"], m["status"]) for m in milestones]
    gaps = acceptance_gaps(states, statuses)
    gaps_zh = acceptance_gaps_zh(states, statuses, {m["code"]: m["name"] for m in milestones})
    outs = [_deliverable_out(d, s) for d, s in zip(deliverables, states, strict=True)]
    return contract_out(row, outs, milestones, gaps, tranches, gaps_zh)


async def list_contracts(
    conn: asyncpg.Connection, principal: Principal, program_code: str
) -> list[ContractOut]:
    await load_program(conn, program_code)  # 404 for an unknown program
    rows = await repo.list_contracts(conn, program_code, own_credit_code_only(principal))
    return [await _contract_out(conn, r) for r in rows]


async def report_deliverable(
    tx: Tx, principal: Principal, contract_id: str, code: str, *, actual: int, note: str | None
) -> ContractOut:
    """The provider (or the bureau) reports a deliverable's actual figure so far."""
    row = await contract_row(tx.conn, principal, contract_id, for_update=True)
    if not (
        principal.has(Role.BUREAU_ADMIN) or principal.credit_code == row["provider_credit_code"]
    ):
        raise Forbidden("NOT_THE_PROVIDER", "only the contracted provider or the bureau reports",
            detail_zh="只有签约的服务商或县商务局可以报告实际完成情况。")
    require_active(row["status"])
    if actual < 0:
        raise InvalidInput(
            "VALUE_INVALID", "an actual value is never negative", field="actual_value",
            detail_zh="实际完成值不能为负数。",
        )
    found = await repo.report_deliverable(
        tx.conn, contract_id, code, actual, principal.subject, tx.clock.now(), note
    )
    if not found:
        raise NotFound("DELIVERABLE_NOT_FOUND", f"the contract has no deliverable {code!r}",
                       title_zh="合同没有该交付指标", detail_zh=f"该合同没有交付指标 {code}。")  # fmt: skip
    return await get_contract(tx.conn, principal, contract_id)


async def accept_contract_milestone(
    tx: Tx, principal: Principal, contract_id: str, code: str, body: MilestoneAcceptanceIn
) -> ContractOut:
    """验收 of a milestone: the day, the accepting people, the evidence; its instalment (if the
    schedule has one) becomes payable."""
    row = await contract_row(tx.conn, principal, contract_id, for_update=True)
    require_no_conflict_of_interest(
        principal, row["provider_credit_code"], decision_zh="验收该企业的合同节点"
    )
    require_active(row["status"])
    now = tx.clock.now()
    day, people = acceptance_record(
        body.accepted_on, list(body.accepted_by), recorder_name=principal.name,
        today=local_date(now), signed_on=row["signed_on"],
    )  # fmt: skip
    files = await _evidence_ids(tx.conn, contract_id, list(body.evidence_file_ids))
    record = repo.MilestoneAcceptance(day, people, files)
    before = await repo.accept_contract_milestone(
        tx.conn, contract_id, code, principal.subject, now, body.note, record
    )
    if before is None:
        raise NotFound("MILESTONE_NOT_FOUND", f"the contract has no milestone {code!r}",
                       title_zh="合同没有该节点", detail_zh=f"该合同没有节点 {code}。")  # fmt: skip
    if before == "accepted":
        raise Conflict("MILESTONE_ACCEPTED", f"milestone {code} is already accepted",
                       title_zh="该节点已验收", detail_zh=f"节点 {code} 已验收过，不能重复验收。")  # fmt: skip
    await _make_due(
        tx, contract_id, kind="instalment", milestone_code=code, accepted_by=list(people)
    )
    return await get_contract(tx.conn, principal, contract_id)


async def _evidence_ids(
    conn: asyncpg.Connection, contract_id: str, ids: list[str]
) -> tuple[str, ...]:
    """The named files, each attached to this contract (else 422 EVIDENCE_FILE_NOT_FOUND)."""
    wanted = tuple(dict.fromkeys(ids))
    if not wanted:
        return ()
    valid = [i for i in wanted if is_uuid(i)]
    found = await files_repo.existing_ids(conn, contract_id, valid) if valid else set()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            "EVIDENCE_FILE_NOT_FOUND",
            f"not attached to this contract: {', '.join(missing)}",
            field="evidence_file_ids",
            title_zh="证明材料不属于该合同",
            detail_zh=f"以下 {len(missing)} 个文件未附在该合同上：{'、'.join(missing)}。",
        )
    return wanted


async def accept_contract(
    tx: Tx,
    principal: Principal,
    contract_id: str,
    *,
    outcome: Literal["passed", "failed"],
    note: str | None,
) -> ContractOut:
    """验收: passed only with every deliverable met and every milestone accepted; failed needs
    the reason (the provider's funds are then to be recovered)."""
    row = await contract_row(tx.conn, principal, contract_id, for_update=True)
    require_no_conflict_of_interest(
        principal, row["provider_credit_code"], decision_zh="验收该企业的服务合同"
    )
    require_active(row["status"])
    current = await _contract_out(tx.conn, row)
    if outcome == "passed" and current.acceptance_gaps:
        raise Conflict(
            "ACCEPTANCE_REFUSED",
            "the contract cannot pass: " + "; ".join(current.acceptance_gaps),
            details={"gaps": current.acceptance_gaps},
            title_zh="合同尚不能验收合格",
            detail_zh=f"还有 {len(current.acceptance_gaps_zh)} 项未满足："
            + "；".join(current.acceptance_gaps_zh) + "。",
        )
    if outcome == "failed" and not (note and note.strip()):
        raise InvalidInput("NOTE_REQUIRED", "a failed acceptance must say why", field="note",
                           title_zh="请写明验收不合格的理由",
                           detail_zh="验收不合格时须写明理由（将据此追回承办方资金）。")  # fmt: skip
    status = ContractStatus.ACCEPTED if outcome == "passed" else ContractStatus.FAILED
    await repo.record_acceptance(
        tx.conn, contract_id, status.value, note, principal.subject, tx.clock.now()
    )
    if status is ContractStatus.ACCEPTED:  # a failed acceptance pays nothing more
        await _make_due(tx, contract_id, kind="balance", accepted_by=[principal.name])
    return await get_contract(tx.conn, principal, contract_id)


# --------------------------------------------------------------------------- payment schedule


async def _make_due(
    tx: Tx,
    contract_id: str,
    *,
    kind: str,
    accepted_by: list[str],
    milestone_code: str | None = None,
) -> None:
    """The scheduled tranches of this kind (of this milestone) become due: funds is told."""
    tranches = await repo.tranches_becoming_due(
        tx.conn, contract_id, kind=kind, milestone_code=milestone_code
    )
    if not tranches:
        return
    contract = await repo.get_contract(tx.conn, contract_id)
    assert contract is not None
    program = await load_program(tx.conn, contract["program_code"])
    payee = await claims_repo.get_enterprise_only(tx.conn, contract["provider_credit_code"])
    assert payee is not None  # a contract's provider is registered (FK)
    now = tx.clock.now()
    for t in tranches:
        await repo.set_tranche(
            tx.conn, contract_id, t["code"], now, status=TrancheStatus.DUE.value, due_at=now
        )
        event = _payment_due(contract, t, program, payee, accepted_by, now)
        await tx.emit(event, aggregate_id=contract_id)


def _payment_due(
    contract: asyncpg.Record, t: asyncpg.Record, program: Program, payee: asyncpg.Record,
    accepted_by: list[str], now: datetime,
) -> ContractPaymentDue:  # fmt: skip
    parts = [
        TranchePart(line_code=program.item(p["item_code"]).line_code, item_code=p["item_code"],
                    amount_fen=p["amount_fen"])
        for p in t["parts"]
    ]  # fmt: skip
    return ContractPaymentDue(
        payment_due_id=str(t["payment_due_id"]), contract_id=str(contract["id"]),
        contract_no=contract["contract_no"], package_code=contract["package_code"],
        tranche_code=t["code"], tranche_kind=t["kind"], milestone_code=t["milestone_code"],
        program_code=contract["program_code"],
        line_code=program.item(contract["item_code"]).line_code,
        item_code=contract["item_code"], item_name=contract["item_name"],
        provider_credit_code=contract["provider_credit_code"],
        provider_name=contract["provider_name"], payee_bank_account=payee["bank_account_no"],
        payee_bank_name=payee["bank_name"], amount_fen=t["amount_fen"],
        spending_category=t["spending_category"],
        requires_publicity=program.contract_payments_require_publicity,
        accepted_by=accepted_by, became_due_at=now, parts=parts, hardware_fen=t["hardware_fen"],
    )  # fmt: skip


async def _tranche(
    tx: Tx, payment_due_id: str, contract_id: str, tranche_code: str
) -> asyncpg.Record:
    t = await repo.tranche_by_due_id(tx.conn, payment_due_id) if is_uuid(payment_due_id) else None
    if t is None:
        raise Conflict("TRANCHE_NOT_FOUND", f"no tranche with payment_due_id {payment_due_id}",
            detail_zh=f"没有付款编号（payment_due_id）为 {payment_due_id} 的合同付款。")
    if (str(t["contract_id"]), t["code"]) != (contract_id, tranche_code):
        raise Conflict(
            "TRANCHE_MISMATCH",
            f"payment_due_id {payment_due_id} is tranche {t['code']} of contract {t['contract_id']}, "
            f"funds reported {tranche_code} of {contract_id}",
            detail_zh=f"付款编号 {payment_due_id} 对应合同 {t['contract_id']} 的付款 {t['code']}，而资金服务报告的是合同 {contract_id} 的付款 {tranche_code}。",
        )
    return t


async def apply_contract_payment_executed(tx: Tx, env: Envelope[ContractPaymentExecuted]) -> None:
    """Funds paid a due tranche. A late report of a payment the bank already failed, or a
    second report of the payment recorded, changes nothing."""
    e = env.data
    t = await _tranche(tx, e.payment_due_id, e.contract_id, e.tranche_code)
    if e.payment_id in t["failed_payment_ids"] or t["payment_id"] == e.payment_id:
        return
    require_status(t["code"], t["status"], TrancheStatus.DUE)
    await repo.set_tranche(
        tx.conn, e.contract_id, t["code"], tx.clock.now(), status=TrancheStatus.PAID.value,
        paid_fen=e.amount_fen, payment_id=e.payment_id, paid_at=e.executed_at,
        ratio_justifications=[j.model_dump(mode="json") for j in e.ratio_justifications],
    )  # fmt: skip


async def apply_contract_payment_refused(tx: Tx, env: Envelope[ContractPaymentRefused]) -> None:
    """Funds could not reserve the tranche (e.g. ITEM_BUDGET_EXCEEDED): it is refused."""
    e = env.data
    t = await _tranche(tx, e.payment_due_id, e.contract_id, e.tranche_code)
    if t["status"] == TrancheStatus.REFUSED:
        return
    require_status(t["code"], t["status"], TrancheStatus.DUE)
    await repo.set_tranche(
        tx.conn, e.contract_id, t["code"], tx.clock.now(), status=TrancheStatus.REFUSED.value,
        refusal_code=e.code, refusal_reason=e.reason, refused_at=e.refused_at,
    )  # fmt: skip


async def apply_tranche_payment_failed(tx: Tx, event: PaymentFailed) -> bool:
    """The bank failed or returned a tranche's payment (award_id = payment_due_id): due again
    if that payment is the one recorded; the failed id is kept either way. False when no
    tranche has that id."""
    t = await repo.tranche_by_due_id(tx.conn, event.award_id) if is_uuid(event.award_id) else None
    if t is None:
        return False
    after = payment_failed(t["status"], t["payment_id"], event.payment_id)
    failed = [*t["failed_payment_ids"], event.payment_id]
    if after == t["status"]:
        await repo.set_tranche(tx.conn, str(t["contract_id"]), t["code"], tx.clock.now(),
                               failed_payment_ids=failed)  # fmt: skip
        return True
    await repo.set_tranche(
        tx.conn, str(t["contract_id"]), t["code"], tx.clock.now(), status=after.value,
        failed_payment_ids=failed, payment_id=None, paid_fen=None, paid_at=None,
    )  # fmt: skip
    return True


# --------------------------------------------------------------------------- overdue milestones


async def emit_overdue_contract_milestones(tx: Tx, *, limit: int) -> int:
    """Announce each pending milestone of an active contract whose due day has passed, once
    (claims.evt.milestone_overdue.v1 with the contract; the provider is responsible)."""
    now = tx.clock.now()
    rows = await repo.claim_overdue_milestones(tx.conn, local_date(now), limit)
    for r in rows:
        event = MilestoneOverdue(
            program_code=r["program_code"], milestone_code=r["code"], name=r["name"],
            due_on=r["due_on"], responsible_unit=r["provider_name"],
            responsible_email=r["provider_email"], detected_at=now,
            contract_id=str(r["contract_id"]), contract_no=r["contract_no"],
        )  # fmt: skip
        await tx.emit(event, aggregate_id=f"{r['contract_id']}/{r['code']}")
        await repo.mark_milestone_notified(tx.conn, str(r["contract_id"]), r["code"], now)
    return len(rows)
