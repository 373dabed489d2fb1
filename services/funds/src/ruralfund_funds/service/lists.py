"""Lists of payment orders and awards, for the people who act on them (#17): the second
approver finds the payment waiting for them, the bureau sees awards by status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, Field
from ruralfund_common.money import format_yuan
from ruralfund_common.recusal import Decider, must_recuse

from ..domain.payments import APPROVER_ROLES

__all__ = ["AwardStatus", "AwardSummary", "PaymentStatus", "PaymentSummary", "ReleaseSummary", "list_awards",
           "list_payments", "list_releases"]

# every status the tables' CHECK constraints allow (a narrower list made listing such a row a 500)
PaymentStatus = Literal["awaiting_approval", "executed", "settled", "failed", "cancelled"]
AwardStatus = Literal["reserved", "refused", "in_publicity", "payable", "paid", "revoked"]


class PaymentSummary(BaseModel):
    """One payment order with exactly the content an approver signs."""

    payment_id: UUID
    award_id: str
    program_code: str
    status: PaymentStatus
    payee_credit_code: str
    payee_name: str
    payee_bank_name: str
    payee_bank_account: str
    amount_fen: int
    amount_yuan: str = Field(description='e.g. "97,531.00"')
    content_sha256: str = Field(description="what an approval signs (POST /payments/{id}/approvals)")
    approved_roles: list[str] = Field(description="roles whose approval of the current content is given")
    requested_at: datetime
    recusal_required: bool = Field(
        default=False, description="the caller must recuse from approving this order: the payee is their "
        "own enterprise or one they are linked to (回避; POST /payments/{id}/approvals refuses them with "
        "403 RECUSAL_REQUIRED)")


class AwardSummary(BaseModel):
    award_id: str
    claim_id: str | None  # none for a pre-allocation (预拨) or a contract tranche
    program_code: str
    line_code: str
    item_code: str
    payee_credit_code: str
    payee_name: str
    amount_fen: int
    amount_yuan: str
    status: AwardStatus
    requires_publicity: bool
    payable_from: date | None
    reserved_at: datetime


async def list_payments(
    conn: asyncpg.Connection, *, status: str | None, awaiting_person: str | None,
    awaiting_roles: frozenset[str], after_id: UUID | None, limit: int, reader: Decider | None = None,
    program_code: str | None = None,
) -> list[PaymentSummary]:
    """Payment orders by id (uuid7: oldest first). With ``awaiting_person``: only open orders
    that person has not signed and whose side for one of ``awaiting_roles`` is still open."""
    open_roles = sorted(set(APPROVER_ROLES) & awaiting_roles)
    rows = await conn.fetch(
        """
        SELECT p.payment_id, p.award_id, p.status, p.content, p.content_sha256, p.requested_at,
               coalesce(array_agg(DISTINCT a.role) FILTER (WHERE a.role IS NOT NULL), '{}') AS roles,
               coalesce(bool_or(a.person = $2), false) AS signed_by_person
          FROM payments p
          LEFT JOIN approvals a ON a.payment_id = p.payment_id AND a.content_sha256 = p.content_sha256
         WHERE ($1::text IS NULL OR p.status = $1)
           AND ($2::text IS NULL OR p.status = 'awaiting_approval')
           AND ($3::uuid IS NULL OR p.payment_id > $3)
           AND ($6::text IS NULL OR p.content->>'program_code' = $6)
         GROUP BY p.payment_id
        HAVING $2::text IS NULL OR (NOT coalesce(bool_or(a.person = $2), false)
               AND NOT (coalesce(array_agg(a.role) FILTER (WHERE a.role IS NOT NULL), '{}') @> $4::text[]))
         ORDER BY p.payment_id LIMIT $5
        """,
        status, awaiting_person, after_id, open_roles, limit, program_code,
    )
    return [_payment(r, reader) for r in rows]


def _payment(r: asyncpg.Record, reader: Decider | None) -> PaymentSummary:
    c = r["content"]
    return PaymentSummary(
        payment_id=r["payment_id"], award_id=r["award_id"], program_code=c["program_code"], status=r["status"],
        payee_credit_code=c["payee_credit_code"], payee_name=c["payee_name"],
        payee_bank_name=c["payee_bank_name"], payee_bank_account=c["payee_bank_account"],
        amount_fen=c["amount_fen"], amount_yuan=format_yuan(c["amount_fen"]), content_sha256=r["content_sha256"],
        approved_roles=sorted(r["roles"]), requested_at=r["requested_at"],
        # the approval's own rule (ruralfund_common.recusal), said before the person signs
        recusal_required=reader is not None and must_recuse(reader, c["payee_credit_code"]),
    )


async def list_awards(
    conn: asyncpg.Connection, *, status: str | None, program_code: str | None, after_id: str | None, limit: int,
) -> list[AwardSummary]:
    rows = await conn.fetch(
        "SELECT award_id, claim_id, program_code, line_code, item_code, payee_credit_code, payee_name, amount_fen, "
        "status, requires_publicity, payable_from, reserved_at FROM awards "
        "WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR program_code = $2) "
        "AND ($3::text IS NULL OR award_id > $3) ORDER BY award_id LIMIT $4",
        status, program_code, after_id, limit,
    )
    return [AwardSummary(**dict(r), amount_yuan=format_yuan(r["amount_fen"])) for r in rows]


class ReleaseSummary(BaseModel):
    """One release (下达) of central money into the joint account, with the total released so far."""

    release_id: str
    program_code: str
    amount_fen: int
    amount_yuan: str = Field(description='e.g. "500,000.00"')
    approval_reference: str = Field(description="the leading group's approval reference (批复文号)")
    released_by: str
    released_at: datetime
    released_total_fen: int = Field(description="everything released into the program's joint account up to "
                                                "and including this release")


async def list_releases(
    conn: asyncpg.Connection, *, program_code: str, after: tuple[datetime, str] | None, limit: int,
) -> list[ReleaseSummary]:
    """A program's releases, oldest first (the finance bureau's and the auditor's record of them)."""
    rows = await conn.fetch(
        """
        SELECT * FROM (
            SELECT release_id, program_code, amount_fen, approval_reference, released_by, released_at,
                   (sum(amount_fen) OVER (ORDER BY released_at, release_id))::bigint AS released_total_fen
              FROM releases WHERE program_code = $1) r
         WHERE $2::timestamptz IS NULL OR (released_at, release_id) > ($2, $3::text)
         ORDER BY released_at, release_id LIMIT $4
        """,
        program_code, after[0] if after else None, after[1] if after else None, limit,
    )
    return [ReleaseSummary(**dict(r), amount_yuan=format_yuan(r["amount_fen"])) for r in rows]
