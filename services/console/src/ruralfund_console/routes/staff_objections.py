"""Objections to publicity notices (公示异议), for the bureau (#17): the open ones with the
notice each is against, resolved as dismissed (异议不成立) or upheld (异议成立, funds revokes the
award) with a reason the objector is told. notify decides, recusal included."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web

__all__ = ["router"]

router = APIRouter()
PAGE_SIZE: Final = 20
OBJECTION_STATUS_ZH: Final = {"pending": "待处理", "dismissed": "异议不成立", "upheld": "异议成立"}


async def _page(request: Request, session: Session, status: str, cursor: str | None, *, code: int = 200,
                error: ServiceError | None = None, error_for: str = "", typed: str = "") -> Response:
    found = await services(request).get("notify", "/objections", session.token or "", limit=PAGE_SIZE,
                                        cursor=cursor, status=status or None)
    keep = {"status": status} if status else {}
    next_url = ("/staff/objections?" + urlencode({**keep, "cursor": found["next_cursor"]})
                if found["next_cursor"] else None)
    return web(request).page(request, "staff_objections.html", session, status=code, objections=found["items"],
                             chosen=status, statuses=OBJECTION_STATUS_ZH, next_url=next_url, error=error,
                             error_for=error_for, typed=typed)


@router.get("/staff/objections", response_class=HTMLResponse)
async def objections_page(request: Request, session: SignedIn,
                          status: Annotated[str, Query(pattern="^(|pending|dismissed|upheld)$")] = "pending",
                          cursor: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return await _page(request, session, status, cursor)


@router.post("/staff/objections/{objection_id}/resolve")
async def resolve(request: Request, objection_id: str, session: SignedForm,
                  outcome: Annotated[str, Form(pattern="^(dismissed|upheld)$")],
                  reason: Annotated[str, Form(max_length=4000)] = "") -> Response:
    try:
        await services(request).post("notify", f"/objections/{quote(objection_id, safe='')}/resolve",
                                     session.token or "", {"outcome": outcome, "reason": reason})
    except ServiceError as refused:
        if refused.status == 401 or refused.status >= 500:
            raise
        # the open list again, the refusal beside this objection and what was typed kept
        return await _page(request, session, "pending", None, code=refused.status, error=refused,
                           error_for=objection_id, typed=reason)
    return RedirectResponse("/staff/objections", status_code=303)
