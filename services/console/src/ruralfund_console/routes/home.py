"""The home page: each of the person's roles adds its work queue; signing a payment order."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..services import ServiceError, Services
from ..session import Session
from ..web import SignedForm, SignedIn, services, web

__all__ = ["SIGNERS", "router"]

router = APIRouter()
SIGNERS = ("leading_group", "contractor_signatory")


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: SignedIn) -> Response:
    return web(request).page(request, "home.html", session, **await _queues(services(request), session))


@router.post("/payments/{payment_id}/approve")
async def approve(request: Request, payment_id: str, content_sha256: Annotated[str, Form(max_length=64)],
                  session: SignedForm) -> Response:
    # the person signs exactly the content they were shown: funds refuses another hash
    await services(request).post("funds", f"/payments/{payment_id}/approvals", session.token or "",
                                 {"content_sha256": content_sha256})
    return RedirectResponse("/", status_code=303)


async def _queues(services: Services, session: Session) -> dict[str, Any]:
    token, roles = session.token or "", set(session.roles)
    out: dict[str, Any] = {}
    if "enterprise" in roles:
        out["my_claims"] = (await services.get("claims", "/claims", token, limit=100))["items"]
    if "bureau_admin" in roles:
        out["to_review"] = (await services.get("claims", "/claims", token, status="submitted", limit=100))["items"]
    if "leading_group" in roles:
        out["to_decide"] = (await services.get("claims", "/claims", token, status="awaiting_decision",
                                               limit=100))["items"]
    if roles & set(SIGNERS):
        out["to_sign"] = (await services.get("funds", "/payments", token, awaiting_my_approval="true",
                                             limit=100))["items"]
    out["programs"] = (await services.get("claims", "/programs", token, limit=100))["items"]
    if roles & {"finance_bureau", "auditor"}:
        out["reconciled"] = await _reconciled(services, token, out["programs"])
    return out


async def _reconciled(services: Services, token: str, programs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each program's three-way reconciliation today: the finance bureau's and auditor's queue is
    its mismatches. A program funds has no ledger for (yet) is left out."""
    out = []
    for p in programs:
        try:
            rec = await services.get("funds", f"/programs/{quote(p['code'], safe='')}/reconciliation", token)
        except ServiceError as missing:
            if missing.status != 404:
                raise
            continue
        out.append({"code": p["code"], "name": p["name"], "mismatches": len(rec["mismatches"])})
    return out
