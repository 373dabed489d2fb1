"""The bureau's registers (#17): the enterprise registry (search, detail with its claims),
service contracts (购买服务) with their deliverables, milestones and acceptance (验收), and the
program's implementation plan (实施计划). Every act is the claims service's to allow or refuse."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web
from .staff_claims import forward_file

__all__ = ["router"]

router = APIRouter()
PAGE_SIZE: Final = 20
Cursor = Annotated[str | None, Query(max_length=2000)]
ProgramCode = Annotated[str | None, Query(max_length=64)]
Note = Annotated[str, Form(max_length=2000)]
COUNT: Final = re.compile(r"^[0-9]{1,15}$|^[0-9]{1,3}([,，][0-9]{3}){1,4}$")  # 120 or 1,200
CONTRACT_STATUS_ZH: Final = {"active": "履行中", "accepted": "已验收合格", "failed": "验收不合格"}
MILESTONE_STATUS_ZH: Final = {"pending": "未验收", "accepted": "已验收"}
KIND_ZH: Final = {"enterprise": "企业", "station_operator": "服务站点运营者", "service_provider": "服务商",
                  "contractor": "承办方"}


def _q(part: str) -> str:
    return quote(part, safe="")


@router.get("/staff/enterprises", response_class=HTMLResponse)
async def enterprises_page(request: Request, session: SignedIn, q: Annotated[str, Query(max_length=200)] = "",
                           cursor: Cursor = None) -> Response:
    search = q.strip()
    found = await services(request).get("claims", "/enterprises", session.token or "", limit=PAGE_SIZE,
                                        cursor=cursor, q=search or None)
    keep = {"q": search} if search else {}
    next_url = ("/staff/enterprises?" + urlencode({**keep, "cursor": found["next_cursor"]})
                if found["next_cursor"] else None)
    return web(request).page(request, "staff_enterprises.html", session, enterprises=found["items"], q=search,
                             next_url=next_url, kinds=KIND_ZH)


@router.get("/staff/enterprises/{credit_code}", response_class=HTMLResponse)
async def enterprise_page(request: Request, credit_code: str, session: SignedIn) -> Response:
    token = session.token or ""
    enterprise = await services(request).get("claims", f"/enterprises/{_q(credit_code)}", token)
    claims = await services(request).get("claims", "/claims", token, credit_code=enterprise["credit_code"],
                                         limit=100)
    return web(request).page(request, "staff_enterprise.html", session, e=enterprise, claims=claims["items"],
                             kinds=KIND_ZH)


async def _programs(request: Request, session: Session, wanted: str | None) -> tuple[list[dict], str | None]:
    programs = (await services(request).get("claims", "/programs", session.token or "", limit=100))["items"]
    codes = [p["code"] for p in programs]
    return programs, wanted if wanted in codes else (codes[0] if codes else None)


@router.get("/staff/contracts", response_class=HTMLResponse)
async def contracts_page(request: Request, session: SignedIn, program: ProgramCode = None) -> Response:
    programs, chosen = await _programs(request, session, program)
    contracts = (await services(request).get("claims", f"/programs/{_q(chosen)}/contracts", session.token or "")
                 if chosen else [])
    return web(request).page(request, "staff_contracts.html", session, programs=programs, chosen=chosen,
                             contracts=contracts, statuses=CONTRACT_STATUS_ZH)


async def _contract_page(request: Request, session: Session, contract_id: str, *, status: int = 200,
                         error: ServiceError | None = None, form: str = "",
                         typed: dict[str, str] | None = None, report: dict[str, Any] | None = None) -> Response:
    token = session.token or ""
    contract = await services(request).get("claims", f"/contracts/{_q(contract_id)}", token)
    files = await services(request).get("claims", f"/contracts/{_q(contract_id)}/files", token)
    return web(request).page(request, "staff_contract.html", session, status=status, c=contract, files=files,
                             error=error, error_form=form, typed=typed or {}, statuses=CONTRACT_STATUS_ZH,
                             milestone_statuses=MILESTONE_STATUS_ZH, report=report or {})


@router.get("/staff/contracts/{contract_id}", response_class=HTMLResponse)
async def contract_page(request: Request, contract_id: str, session: SignedIn) -> Response:
    return await _contract_page(request, session, contract_id)


async def _contract_act(request: Request, session: Session, contract_id: str, path: str, body: dict[str, Any],
                        form: str, typed: dict[str, str]) -> Response:
    try:
        await services(request).post("claims", f"/contracts/{_q(contract_id)}/{path}", session.token or "", body)
    except ServiceError as refused:
        if refused.status in (401, 404) or refused.status >= 500:
            raise
        return await _contract_page(request, session, contract_id, status=refused.status, error=refused,
                                    form=form, typed=typed)
    return RedirectResponse(f"/staff/contracts/{_q(contract_id)}", status_code=303)


@router.post("/staff/contracts/{contract_id}/milestones/{milestone}/acceptance")
async def accept_contract_milestone(
    request: Request, contract_id: str, milestone: str, session: SignedForm,
    accepted_on: Annotated[str, Form(max_length=10)] = "", accepted_by: Annotated[str, Form(max_length=1000)] = "",
    evidence_file_ids: Annotated[list[str] | None, Form()] = None, note: Note = "",
) -> Response:
    people = [n.strip() for n in accepted_by.replace("，", ",").replace("、", ",").split(",") if n.strip()]
    body: dict[str, Any] = {"accepted_by": people, "evidence_file_ids": evidence_file_ids or []}
    if accepted_on.strip():
        body["accepted_on"] = accepted_on.strip()
    if note.strip():
        body["note"] = note.strip()
    return await _contract_act(request, session, contract_id, f"milestones/{_q(milestone)}/acceptance", body,
                               f"m-{milestone}", {"accepted_by": accepted_by, "note": note})


@router.post("/staff/contracts/{contract_id}/deliverables/{deliverable}/report")
async def report_deliverable(request: Request, contract_id: str, deliverable: str, session: SignedForm,
                             actual: Annotated[str, Form(max_length=40)] = "", note: Note = "") -> Response:
    """The bureau reports a deliverable's actual figure (the provider may too, through the API):
    a count as actual_value, money as actual_yuan (claims parses yuan itself). What cannot be a
    figure is said beside the field before anything is sent."""
    contract = await services(request).get("claims", f"/contracts/{_q(contract_id)}", session.token or "")
    target = next((d for d in contract["deliverables"] if d["code"] == deliverable), None)
    text = actual.strip().removesuffix("元").strip()
    typed = {"actual": actual, "note": note}
    problem = _actual_problem(text, target)
    if problem:
        return await _contract_page(request, session, contract_id, status=422,
                                    report={"code": deliverable, "error": problem, "typed": typed})
    body: dict[str, Any] = ({"actual_yuan": text} if target and target["money"]
                            else {"actual_value": int(text.replace(",", "").replace("，", ""))})
    if note.strip():
        body["note"] = note.strip()
    try:
        await services(request).post("claims", f"/contracts/{_q(contract_id)}/deliverables/{_q(deliverable)}/report",
                                     session.token or "", body)
    except ServiceError as refused:
        if refused.status in (401, 404) or refused.status >= 500:
            raise
        if refused.field in ("actual_value", "actual_yuan", "note", "body.actual_value", "body.actual_yuan",
                             "body.note"):
            message = refused.detail_zh or refused.title_zh
            name = "note" if refused.field.endswith("note") else "actual"
            return await _contract_page(request, session, contract_id, status=refused.status,
                                        report={"code": deliverable, "field": name, "error": message, "typed": typed})
        return await _contract_page(request, session, contract_id, status=refused.status, error=refused,
                                    form=f"d-{deliverable}", report={"code": deliverable, "typed": typed})
    return RedirectResponse(f"/staff/contracts/{_q(contract_id)}#d-{_q(deliverable)}", status_code=303)


def _actual_problem(text: str, target: dict[str, Any] | None) -> str | None:
    """Why the typed figure cannot be reported, in Chinese (None: send it)."""
    if not text:
        return "请填写实际完成值。"
    if target and target["money"]:
        return None  # amounts are the service's to read (2469、2,469.00)
    if not COUNT.match(text):
        unit = target["unit"] if target else ""
        return f"实际完成值须为不小于 0 的整数{f'（单位：{unit}）' if unit else ''}，不能填写“{text}”。"
    return None


@router.post("/staff/contracts/{contract_id}/acceptance")
async def accept_contract(request: Request, contract_id: str, session: SignedForm,
                          outcome: Annotated[str, Form(pattern="^(passed|failed)$")], note: Note = "") -> Response:
    body = {"outcome": outcome, **({"note": note.strip()} if note.strip() else {})}
    return await _contract_act(request, session, contract_id, "acceptance", body, "acceptance", {"note": note})


@router.get("/staff/contracts/{contract_id}/files/{file_id}")
async def contract_file(request: Request, contract_id: str, file_id: str, session: SignedIn) -> Response:
    return await forward_file(request, session, f"/contracts/{_q(contract_id)}/files/{_q(file_id)}")


async def _milestones_page(request: Request, session: Session, program: str | None, *, status: int = 200,
                           error: ServiceError | None = None, form: str = "") -> Response:
    programs, chosen = await _programs(request, session, program)
    milestones = (await services(request).get("claims", f"/programs/{_q(chosen)}/milestones",
                                              session.token or "") if chosen else [])
    return web(request).page(request, "staff_milestones.html", session, status=status, programs=programs,
                             chosen=chosen, milestones=milestones, statuses=MILESTONE_STATUS_ZH, error=error,
                             error_form=form)


@router.get("/staff/milestones", response_class=HTMLResponse)
async def milestones_page(request: Request, session: SignedIn, program: ProgramCode = None) -> Response:
    return await _milestones_page(request, session, program)


@router.post("/staff/milestones/{program}/{milestone}/acceptance")
async def accept_milestone(request: Request, program: str, milestone: str, session: SignedForm,
                           note: Note = "") -> Response:
    body = {"note": note.strip()} if note.strip() else {}
    try:
        await services(request).post("claims", f"/programs/{_q(program)}/milestones/{_q(milestone)}/acceptance",
                                     session.token or "", body)
    except ServiceError as refused:
        if refused.status in (401, 404) or refused.status >= 500:
            raise
        return await _milestones_page(request, session, program, status=refused.status, error=refused,
                                      form=f"m-{milestone}")
    return RedirectResponse("/staff/milestones?" + urlencode({"program": program}), status_code=303)
