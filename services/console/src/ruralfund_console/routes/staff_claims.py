"""Staff work on claims (#17): the bureau (商务局) searches and reviews — passes a claim to the
leading group or returns it with a reason — and the leading group (领导小组) decides. Whether a
person must recuse is the claims service's answer (``recusal_required``), shown before any
button; the service still refuses a forged post with 403 RECUSAL_REQUIRED."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..evidence_view import evidence_entries
from ..formatting import CLAIM_STATUS_ZH
from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web

__all__ = ["forward_file", "router"]

router = APIRouter()
PAGE_SIZE: Final = 20
SEARCH_FIELDS: Final = ("enterprise", "credit_code", "item", "status", "period")
Text = Annotated[str, Query(max_length=200)]
Reason = Annotated[str, Form(max_length=2000)]


def _search(enterprise: str, credit_code: str, item: str, status: str, period: str) -> dict[str, str]:
    values = {"enterprise": enterprise, "credit_code": credit_code, "item": item, "status": status,
              "period": period}
    return {k: v.strip() for k, v in values.items() if v.strip()}


@router.get("/staff/claims", response_class=HTMLResponse)
async def claims_page(request: Request, session: SignedIn, enterprise: Text = "", credit_code: Text = "",
                      item: Text = "", status: Text = "", period: Text = "",
                      cursor: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    wanted = _search(enterprise, credit_code, item, status, period)
    hint = None
    if "credit_code" in wanted and len(wanted["credit_code"]) != 18:
        # said at once, beside the field, rather than sent to the service to refuse
        hint = f"统一社会信用代码为 18 位，您输入了 {len(wanted['credit_code'])} 位。"
        found: dict[str, Any] = {"items": [], "next_cursor": None}
    else:
        found = await services(request).get("claims", "/claims", session.token or "", limit=PAGE_SIZE,
                                             cursor=cursor, **wanted)
    programs = (await services(request).get("claims", "/programs", session.token or "", limit=100))["items"]
    items = await _items_of(request, session, programs)
    next_url = ("/staff/claims?" + urlencode({**wanted, "cursor": found["next_cursor"]})
                if found.get("next_cursor") else None)
    return web(request).page(request, "staff_claims.html", session, claims=found["items"], search=wanted,
                             statuses=CLAIM_STATUS_ZH, items=items, credit_code_hint=hint, next_url=next_url,
                             first_url="/staff/claims?" + urlencode(wanted) if cursor else None)


async def _items_of(request: Request, session: Session, programs: list[dict]) -> list[dict]:
    """Every reward item of the active programs, for the search's item list."""
    out: dict[str, dict] = {}
    for p in programs:
        program = await services(request).get("claims", f"/programs/{quote(p['code'])}", session.token or "")
        for it in program["items"]:
            if it["mode"] == "reward":
                out.setdefault(it["code"], {"code": it["code"], "name": it["name"]})
    return sorted(out.values(), key=lambda i: i["code"])


@router.get("/staff/decisions", response_class=HTMLResponse)
async def decisions_page(request: Request, session: SignedIn,
                         cursor: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    found = await services(request).get("claims", "/claims", session.token or "", status="awaiting_decision",
                                        limit=PAGE_SIZE, cursor=cursor)
    next_url = "/staff/decisions?" + urlencode({"cursor": found["next_cursor"]}) if found["next_cursor"] else None
    return web(request).page(request, "staff_decisions.html", session, claims=found["items"], next_url=next_url)


async def _claim_page(request: Request, session: Session, claim_id: str, *, status: int = 200,
                      error: ServiceError | None = None, typed: dict[str, str] | None = None) -> Response:
    token = session.token or ""
    claim = await services(request).get("claims", f"/claims/{quote(claim_id, safe='')}", token)
    files = await services(request).get("claims", f"/claims/{quote(claim_id, safe='')}/files", token)
    # the evidence's fields as the enterprise's form named them (labels, units, 季度 ...), not their keys
    item = await services(request).get(
        "claims", f"/programs/{quote(claim['program_code'], safe='')}/items/{quote(claim['item_code'], safe='')}", token)
    roles = set(session.roles)
    can_review = "bureau_admin" in roles and "complete_review" in claim["allowed_actions"]
    can_decide = "leading_group" in roles and "approve" in claim["allowed_actions"]
    evidence = evidence_entries(claim["evidence"], item.get("form"))
    return web(request).page(request, "staff_claim.html", session, status=status, claim=claim, files=files,
                             evidence=evidence, can_review=can_review, can_decide=can_decide, error=error,
                             typed=typed or {})


@router.get("/staff/claims/{claim_id}", response_class=HTMLResponse)
async def claim_page(request: Request, claim_id: str, session: SignedIn) -> Response:
    return await _claim_page(request, session, claim_id)


@router.get("/staff/claims/{claim_id}/files/{file_id}")
async def claim_file(request: Request, claim_id: str, file_id: str, session: SignedIn) -> Response:
    return await forward_file(request, session, f"/claims/{quote(claim_id, safe='')}/files/{quote(file_id, safe='')}")


async def forward_file(request: Request, session: Session, path: str) -> Response:
    """An evidence file from claims to the browser: its bytes, type, name and SHA-256 as claims
    serves them (claims decides who may read it)."""
    r = await services(request).download("claims", path, session.token or "")
    headers = {k: r.headers[k] for k in ("content-disposition", "x-content-sha256") if k in r.headers}
    return Response(r.content, media_type=r.headers.get("content-type"),
                    headers={**headers, "X-Content-Type-Options": "nosniff"})


async def _act(request: Request, session: Session, claim_id: str, path: str, body: dict[str, Any],
               typed: dict[str, str]) -> Response:
    """Post the action; a refusal shows the claim page again with the service's Chinese words
    beside the field it names, and what the person typed kept."""
    try:
        await services(request).post("claims", f"/claims/{quote(claim_id, safe='')}/{path}", session.token or "",
                                     body)
    except ServiceError as refused:
        if refused.status in (401, 404) or refused.status >= 500:
            raise
        return await _claim_page(request, session, claim_id, status=refused.status, error=refused, typed=typed)
    return RedirectResponse(f"/staff/claims/{quote(claim_id, safe='')}", status_code=303)


@router.post("/staff/claims/{claim_id}/review")
async def review(request: Request, claim_id: str, session: SignedForm,
                 outcome: Annotated[str, Form(pattern="^(complete|return)$")], note: Reason = "") -> Response:
    body = {"outcome": outcome, **({"note": note.strip()} if note.strip() else {})}
    return await _act(request, session, claim_id, "review", body, {"note": note})


@router.post("/staff/claims/{claim_id}/decision")
async def decide(request: Request, claim_id: str, session: SignedForm,
                 decision: Annotated[str, Form(pattern="^(approve|reject)$")], reason: Reason = "") -> Response:
    body = {"decision": decision, **({"reason": reason.strip()} if reason.strip() else {})}
    return await _act(request, session, claim_id, "decision", body, {"reason": reason})
