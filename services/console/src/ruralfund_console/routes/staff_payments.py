"""Payment orders (支付指令), for the bureau (#17): the awards funds holds for payment that have
no order yet, each with the day its publicity ends, and a button to order the payment; the
orders awaiting their two signatures and those executed. funds decides whether an award may be
paid (publicity ended, no objection pending, money in the joint account): its refusal is shown
on this page in Chinese. The signatures themselves are given from each signer's home queue."""

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
LIMIT: Final = 100
# awards funds still owes (reserved, in or past publicity, or owed again after a failed payment)
OWED: Final = ("reserved", "in_publicity", "payable")
AWARD_STATUS_ZH: Final = {"reserved": "资金已预留", "in_publicity": "公示中或公示期满", "payable": "待重新支付"}
SIGNER_ZH: Final = {"leading_group": "领导小组成员", "contractor_signatory": "承办方签字人"}


async def _page(request: Request, session: Session, *, code: int = 200, error: ServiceError | None = None,
                error_for: str = "") -> Response:
    token = session.token or ""
    orders = {s: (await services(request).get("funds", "/payments", token, status=s, limit=LIMIT))["items"]
              for s in ("awaiting_approval", "executed")}
    ordered = {p["award_id"] for found in orders.values() for p in found}
    awards = [a for s in OWED for a in (await services(request).get("funds", "/awards", token, status=s,
                                                                     limit=LIMIT))["items"]
              if a["award_id"] not in ordered]
    names = await _item_names(request, token, {a["program_code"] for a in awards})
    return web(request).page(request, "staff_payments.html", session, status=code, awards=awards, names=names,
                             awaiting=orders["awaiting_approval"], executed=orders["executed"],
                             award_status=AWARD_STATUS_ZH, signer_zh=SIGNER_ZH, error=error, error_for=error_for)


async def _item_names(request: Request, token: str, programs: set[str]) -> dict[tuple[str, str], str]:
    """(program, item code) -> the item's Chinese name, from claims (funds lists codes only)."""
    names: dict[tuple[str, str], str] = {}
    for code in sorted(programs):
        try:
            program = await services(request).get("claims", f"/programs/{quote(code, safe='')}", token)
        except ServiceError as missing:
            if missing.status != 404:
                raise
            continue  # a program claims does not know: the page shows the item's code
        names.update({(code, it["code"]): it["name"] for it in program["items"]})
    return names


@router.get("/staff/payments", response_class=HTMLResponse)
async def payments_page(request: Request, session: SignedIn) -> Response:
    return await _page(request, session)


@router.post("/staff/payments")
async def order_payment(request: Request, session: SignedForm,
                        award_id: Annotated[str, Form(min_length=1, max_length=200)]) -> Response:
    try:
        await services(request).post("funds", "/payments", session.token or "", {"award_id": award_id})
    except ServiceError as refused:
        if refused.status == 401 or refused.status >= 500:
            raise
        # the page again with funds' refusal beside this award
        return await _page(request, session, code=refused.status, error=refused, error_for=award_id)
    return RedirectResponse("/staff/payments", status_code=303)
