"""Program milestones (实施计划): stored at activation, accepted by the bureau, and an overdue
one announced once (claims.evt.milestone_overdue.v1, which notify mails to the responsible
unit)."""

from __future__ import annotations

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.calendar import local_date
from ruralfund_common.clock import Clock
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.errors import Conflict, NotFound
from ruralfund_common.messaging import Tx

from ..adapters import milestones as repo
from ..domain.milestones import is_overdue
from ..views import MilestoneOut, milestone_out
from .contracts import emit_overdue_contract_milestones
from .programs import load_program

__all__ = ["accept_program_milestone", "emit_overdue_milestones", "list_program_milestones"]


async def list_program_milestones(
    conn: asyncpg.Connection, code: str, clock: Clock
) -> list[MilestoneOut]:
    await load_program(conn, code)  # 404 for an unknown program
    today = local_date(clock.now())
    rows = await repo.list_milestones(conn, code)
    return [milestone_out(r, is_overdue(r["due_on"], today, r["status"])) for r in rows]


async def accept_program_milestone(
    tx: Tx, principal: Principal, code: str, milestone_code: str, *, note: str | None
) -> MilestoneOut:
    """The bureau records that a milestone is done (验收); it is then never overdue."""
    row = await repo.get_milestone(tx.conn, code, milestone_code, for_update=True)
    if row is None:
        raise NotFound("MILESTONE_NOT_FOUND", f"program {code} has no milestone {milestone_code!r}",
                       title_zh="方案没有该节点", detail_zh=f"方案 {code} 的实施计划中没有节点 {milestone_code}。")
    if row["status"] == "accepted":
        raise Conflict("MILESTONE_ACCEPTED", f"milestone {milestone_code} is already accepted",
                       title_zh="该节点已验收", detail_zh=f"节点 {milestone_code} 已验收过，不能重复验收。")
    now = tx.clock.now()
    await repo.accept_milestone(tx.conn, code, milestone_code, principal.subject, now, note)
    accepted = await repo.get_milestone(tx.conn, code, milestone_code)
    assert accepted is not None
    return milestone_out(accepted, overdue=False)


async def emit_overdue_milestones(tx: Tx, *, limit: int) -> int:
    """Announce each pending milestone whose due day has passed, once: the mark and the
    event commit together. Program milestones first, then contract milestones, at most
    ``limit`` in all. Returns how many were announced in this batch."""
    now = tx.clock.now()
    due = await repo.claim_overdue(tx.conn, local_date(now), limit)
    for row in due:
        await tx.emit(_overdue(row, now), aggregate_id=f"{row['program_code']}/{row['code']}")
        await repo.mark_notified(tx.conn, row["program_code"], row["code"], now)
    if len(due) >= limit:
        return len(due)
    return len(due) + await emit_overdue_contract_milestones(tx, limit=limit - len(due))


def _overdue(row: asyncpg.Record, now: object) -> MilestoneOverdue:
    return MilestoneOverdue(
        program_code=row["program_code"],
        milestone_code=row["code"],
        name=row["name"],
        due_on=row["due_on"],
        responsible_unit="、".join(row["responsible"]) or "（未指定）",
        responsible_email=row["lead_email"],
        detected_at=now,
    )
