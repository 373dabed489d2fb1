"""Sign-in (dev users from the users file `ruralfund dev` wrote) and sign-out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from ruralfund_common.auth import AuthSettings, UserDirectory
from ruralfund_common.errors import NotFound

from ..session import COOKIE_NAME, Session, csrf_matches
from ..web import Csrf, Refused, web

__all__ = ["router"]

router = APIRouter()


def _dev_directory(request: Request) -> UserDirectory | None:
    # dev users only outside production; production signs in at the county IdP
    settings = web(request).settings
    return None if settings.production or not settings.users_file else UserDirectory(Path(settings.users_file))


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> Response:
    session = web(request).session_of(request) or Session()
    directory = _dev_directory(request)
    people = sorted(directory.list(), key=lambda p: p.name) if directory else []
    return web(request).page(request, "signin.html", session, people=people, dev=directory is not None,
                             idp=getattr(request.app.state, "oidc", None) is not None)


@router.post("/signin")
async def signin(request: Request, name: Annotated[str, Form(max_length=200)], csrf: Csrf = None) -> Response:
    old = web(request).session_of(request)
    if not csrf_matches(old, csrf):
        raise Refused("请求已过期", "页面已过期或来源不明，请重新打开登录页。")
    directory = _dev_directory(request)
    try:
        person = directory.get(name) if directory else None
    except NotFound:
        person = None
    if person is None:
        raise Refused("无法登录", "没有这个用户。")
    session = Session(token=directory.token_for(person.subject, AuthSettings()), name=person.name,
                      subject=person.subject, roles=sorted(str(r) for r in person.roles),
                      credit_code=person.credit_code)
    return web(request).with_cookie(RedirectResponse("/", status_code=303), session)  # a fresh CSRF token


@router.post("/signout")
async def signout(request: Request, csrf: Csrf = None) -> Response:
    # a forged sign-out changes nothing: the session (if any) stays as it was
    session = web(request).session_of(request)
    if not csrf_matches(session, csrf):
        raise Refused("请求已过期", "页面已过期或来源不明，请重新打开页面。")
    oidc = getattr(request.app.state, "oidc", None)
    # signed in at the IdP: end that session too, where the IdP offers it (RP-initiated logout)
    target = (await oidc.end_session_url() if oidc is not None and session and session.idp else None) or "/signin"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
