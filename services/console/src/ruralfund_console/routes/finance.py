"""The finance bureau (县财政局) releases central funds into a program's joint account (预拨,
#17): each program with its total and the joint account's balance from funds' ledger, and a
release form (amount in 元, the leading group's approval reference). funds checks the amount
(never more than the program's total) and says why in Chinese beside the field it names."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web

__all__ = ["router"]

router = APIRouter()
JOINT_ACCOUNT: Final = "bank:joint"  # funds' ledger account of the joint (共管) bank account


async def _page(request: Request, session: Session, *, code: int = 200, error: ServiceError | None = None,
                typed: dict[str, str] | None = None, done: str = "") -> Response:
    token = session.token or ""
    programs = (await services(request).get("claims", "/programs", token, limit=100))["items"]
    for p in programs:
        try:
            balances = await services(request).get("funds", f"/programs/{quote(p['code'], safe='')}/balances", token)
        except ServiceError as missing:
            if missing.status != 404:
                raise
            p["joint_fen"] = None  # funds has not opened the program's accounts (yet)
            continue
        p["joint_fen"] = next((a["balance_fen"] for a in balances["accounts"] if a["account"] == JOINT_ACCOUNT), 0)
    return web(request).page(request, "finance_releases.html", session, status=code, programs=programs,
                             error=error, typed=typed or {}, done=done)


@router.get("/finance/releases", response_class=HTMLResponse)
async def releases_page(request: Request, session: SignedIn, done: str = "") -> Response:
    return await _page(request, session, done=done[:64])


@router.post("/finance/releases")
async def release(request: Request, session: SignedForm, program_code: Annotated[str, Form(max_length=64)],
                  amount_yuan: Annotated[str, Form(max_length=40)] = "",
                  approval_reference: Annotated[str, Form(max_length=200)] = "") -> Response:
    typed = {"program_code": program_code, "amount_yuan": amount_yuan, "approval_reference": approval_reference}
    try:
        await services(request).post("funds", f"/programs/{quote(program_code, safe='')}/releases",
                                     session.token or "",
                                     {"amount_yuan": amount_yuan.strip(), "approval_reference": approval_reference.strip()})
    except ServiceError as refused:
        if refused.status == 401 or refused.status >= 500:
            raise
        return await _page(request, session, code=refused.status, error=refused, typed=typed)
    return RedirectResponse(f"/finance/releases?done={quote(program_code)}", status_code=303)
