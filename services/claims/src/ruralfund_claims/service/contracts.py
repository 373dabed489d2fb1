"""Use cases of service contracts (购买服务): record, report deliverables, accept milestones,
accept or fail the contract. Each runs inside the caller's transaction."""

from __future__ import annotations

from typing import Literal

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.credit_code import validate_credit_code
from ruralfund_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.money import parse_yuan

from ..adapters import contracts as repo
from ..adapters import repository as claims_repo
from ..domain.contracts import (
    ContractIn,
    ContractStatus,
    DeliverableState,
    acceptance_gaps,
    contract_deliverables,
    require_active,
    require_service_item,
    require_within_budget,
)
from ..domain.targets import TargetValue
from ..views import ContractOut, DeliverableOut, contract_out
from .core import is_uuid, load_program, own_credit_code_only

__all__ = [
    "accept_contract",
    "accept_contract_milestone",
    "create_contract",
    "get_contract",
    "list_contracts",
    "report_deliverable",
]


async def create_contract(
    tx: Tx, principal: Principal, program_code: str, item_code: str, body: ContractIn
) -> ContractOut:
    """Record a signed contract for a service item; its amount stays within the item budget."""
    program = await load_program(tx.conn, program_code)
    item = program.item(item_code)
    require_service_item(item)
    provider = await _provider(tx.conn, body.provider_credit_code)
    amount_fen = _fen(body.amount_yuan)
    # Serialise contracts of one item so two concurrent ones cannot both fit the budget.
    await tx.conn.execute(
        "SELECT 1 FROM program_items WHERE program_code=$1 AND item_code=$2 FOR UPDATE",
        program.code,
        item.code,
    )
    require_within_budget(
        item, amount_fen, await repo.contracted_fen(tx.conn, program.code, item.code)
    )
    deliverables = contract_deliverables(item, list(body.extra_deliverables))
    contract_id, now = new_id(), tx.clock.now()
    row = {
        "id": contract_id, "program_code": program.code, "item_code": item.code,
        "item_name": item.name, "contract_no": body.contract_no,
        "provider_credit_code": provider["credit_code"], "provider_name": provider["name"],
        "amount_fen": amount_fen, "signed_on": body.signed_on, "ends_on": body.ends_on,
        "procurement": body.procurement, "created_by": principal.subject, "created_at": now,
    }  # fmt: skip
    if await tx.conn.fetchval(
        "SELECT 1 FROM service_contracts WHERE program_code=$1 AND contract_no=$2",
        program.code,
        body.contract_no,
    ):
        raise Conflict("CONTRACT_EXISTS", f"contract {body.contract_no} is already recorded")
    milestones = [m.model_dump() for m in body.milestones]
    await repo.insert_contract(tx.conn, row, deliverables, milestones)
    return await get_contract(tx.conn, principal, contract_id)


def _fen(text: str) -> int:
    try:
        return parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", str(exc), field="amount_yuan") from None


async def _provider(conn: asyncpg.Connection, credit_code: str) -> asyncpg.Record:
    code = validate_credit_code(credit_code.strip().upper(), field="provider_credit_code")
    row = await claims_repo.get_enterprise(conn, code)
    if row is None:
        raise InvalidInput(
            "ENTERPRISE_NOT_REGISTERED",
            f"{code} is not registered: register the provider (kind service_provider) first",
            field="provider_credit_code",
        )
    return row


async def _contract_row(
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
        raise NotFound("CONTRACT_NOT_FOUND", f"no contract {contract_id!r}")
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
    row = await _contract_row(conn, principal, contract_id)
    return await _contract_out(conn, row)


async def _contract_out(conn: asyncpg.Connection, row: asyncpg.Record) -> ContractOut:
    deliverables = await repo.list_deliverables(conn, str(row["id"]))
    milestones = await repo.list_milestones(conn, str(row["id"]))
    states = _states(deliverables)
    gaps = acceptance_gaps(states, [(m["code"], m["status"]) for m in milestones])
    outs = [_deliverable_out(d, s) for d, s in zip(deliverables, states, strict=True)]
    return contract_out(row, outs, milestones, gaps)


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
    row = await _contract_row(tx.conn, principal, contract_id, for_update=True)
    if not (
        principal.has(Role.BUREAU_ADMIN) or principal.credit_code == row["provider_credit_code"]
    ):
        raise Forbidden("NOT_THE_PROVIDER", "only the contracted provider or the bureau reports")
    require_active(row["status"])
    if actual < 0:
        raise InvalidInput(
            "VALUE_INVALID", "an actual value is never negative", field="actual_value"
        )
    found = await repo.report_deliverable(
        tx.conn, contract_id, code, actual, principal.subject, tx.clock.now(), note
    )
    if not found:
        raise NotFound("DELIVERABLE_NOT_FOUND", f"the contract has no deliverable {code!r}")
    return await get_contract(tx.conn, principal, contract_id)


async def accept_contract_milestone(
    tx: Tx, principal: Principal, contract_id: str, code: str, *, note: str | None
) -> ContractOut:
    row = await _contract_row(tx.conn, principal, contract_id, for_update=True)
    require_active(row["status"])
    before = await repo.accept_contract_milestone(
        tx.conn, contract_id, code, principal.subject, tx.clock.now(), note
    )
    if before is None:
        raise NotFound("MILESTONE_NOT_FOUND", f"the contract has no milestone {code!r}")
    if before == "accepted":
        raise Conflict("MILESTONE_ACCEPTED", f"milestone {code} is already accepted")
    return await get_contract(tx.conn, principal, contract_id)


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
    row = await _contract_row(tx.conn, principal, contract_id, for_update=True)
    require_active(row["status"])
    current = await _contract_out(tx.conn, row)
    if outcome == "passed" and current.acceptance_gaps:
        raise Conflict(
            "ACCEPTANCE_REFUSED",
            "the contract cannot pass: " + "; ".join(current.acceptance_gaps),
            details={"gaps": current.acceptance_gaps},
        )
    if outcome == "failed" and not (note and note.strip()):
        raise InvalidInput("NOTE_REQUIRED", "a failed acceptance must say why", field="note")
    status = ContractStatus.ACCEPTED if outcome == "passed" else ContractStatus.FAILED
    await repo.record_acceptance(
        tx.conn, contract_id, status.value, note, principal.subject, tx.clock.now()
    )
    return await get_contract(tx.conn, principal, contract_id)
