"""Admin HTTP API of the funds service."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import CtxDep, idempotent
from ruralfund_common.errors import NotFound
from ruralfund_common.money import format_yuan, parse_yuan

from .. import service

router = APIRouter()
READERS = (Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY, Role.FINANCE_BUREAU, Role.AUDITOR)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
FinanceBureau = Annotated[Principal, Depends(require_write(Role.FINANCE_BUREAU))]
PaymentRequester = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN, Role.LEADING_GROUP))]
Approver = Annotated[Principal, Depends(require_write(Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY))]


class ReleaseRequest(BaseModel):
    amount_yuan: str = Field(description='amount in yuan, e.g. "1,000,000.00"', max_length=32)
    approval_reference: str = Field(min_length=1, max_length=200, description="the leading group's approval reference")


class PaymentRequest(BaseModel):
    award_id: str = Field(min_length=1, max_length=64)


class ApprovalRequest(BaseModel):
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the canonical payment content you approve")


def _amount_fen(text: str) -> int:
    from ruralfund_common.errors import InvalidInput
    try:
        fen = parse_yuan(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("INVALID_AMOUNT", str(exc), field="amount_yuan") from None
    if fen <= 0:
        raise InvalidInput("INVALID_AMOUNT", "amount must be positive", field="amount_yuan")
    return fen


@router.post("/programs/{program_code}/releases", status_code=201, tags=["ledger"],
             summary="Release (预拨) central funds into the joint account")
async def release(program_code: str, body: ReleaseRequest, request: Request, who: FinanceBureau):
    amount_fen = _amount_fen(body.amount_yuan)

    async def use_case(tx):
        return 201, await service.release_funds(tx, program_code, amount_fen, body.approval_reference, who)

    return await idempotent(request, who, {"program": program_code, **body.model_dump()}, use_case)


@router.post("/payments", status_code=201, tags=["payments"], summary="Request a payment order for a reserved award")
async def request_payment(body: PaymentRequest, request: Request, who: PaymentRequester):
    async def use_case(tx):
        return 201, await service.request_payment(tx, body.award_id, who)

    return await idempotent(request, who, body, use_case)


@router.post("/payments/{payment_id}/approvals", tags=["payments"],
             summary="Approve a payment (leading group member or contractor signatory; two different people)")
async def approve_payment(payment_id: str, body: ApprovalRequest, request: Request, who: Approver):
    async def use_case(tx):
        return 200, await service.approve_payment(tx, payment_id, who, body.content_sha256)

    return await idempotent(request, who, {"payment": payment_id, **body.model_dump()}, use_case)


@router.get("/payments/{payment_id}", tags=["payments"])
async def get_payment(payment_id: str, ctx: CtxDep, who: Reader):
    async with ctx.transaction() as tx:
        if not await tx.conn.fetchval("SELECT 1 FROM payments WHERE payment_id::text=$1", payment_id):
            raise NotFound("PAYMENT_NOT_FOUND", f"no payment {payment_id}")
        return await service.payment_view(tx, payment_id)


@router.get("/awards/{award_id}", tags=["awards"])
async def get_award(award_id: str, ctx: CtxDep, who: Reader):
    async with ctx.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM awards WHERE award_id=$1", award_id)
    if row is None:
        raise NotFound("AWARD_NOT_FOUND", f"no award {award_id}")
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}
    out["amount_yuan"] = format_yuan(row["amount_fen"])
    return out


@router.get("/programs/{program_code}/balances", tags=["ledger"], summary="Balances and trial balance of a program")
async def balances(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch("SELECT account, normal_side, debits_fen, credits_fen FROM balances "
                                "WHERE program_code=$1 ORDER BY account", program_code)
        totals = await conn.fetchrow("SELECT coalesce(sum(debit_fen),0)::bigint AS d, coalesce(sum(credit_fen),0)::bigint AS c "
                                     "FROM postings WHERE program_code=$1", program_code)
    if not rows:
        raise NotFound("PROGRAM_NOT_FOUND", f"no ledger for program {program_code}")
    accounts = []
    for r in rows:
        bal = r["debits_fen"] - r["credits_fen"] if r["normal_side"] == "debit" else r["credits_fen"] - r["debits_fen"]
        accounts.append({"account": r["account"], "normal_side": r["normal_side"], "balance_fen": bal,
                         "balance_yuan": format_yuan(bal)})
    return {"program_code": program_code, "accounts": accounts,
            "trial_balance": {"debits_fen": totals["d"], "credits_fen": totals["c"], "balanced": totals["d"] == totals["c"]}}


@router.get("/programs/{program_code}/postings.csv", tags=["ledger"], summary="CSV export of every posting")
async def postings_csv(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.posting_id, e.posted_at, e.kind, e.reference, p.account, p.debit_fen, p.credit_fen "
            "FROM postings p JOIN entries e USING (entry_id) WHERE p.program_code=$1 ORDER BY p.posting_id", program_code)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["posting_id", "posted_at", "kind", "reference", "account", "debit_fen", "credit_fen"])
    for r in rows:
        w.writerow([r["posting_id"], r["posted_at"].isoformat(), r["kind"], r["reference"], r["account"],
                    r["debit_fen"], r["credit_fen"]])
    return StreamingResponse(iter([buf.getvalue()]), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{program_code}-postings.csv"'})
