"""The console's FastAPI app: dev sign-in, a home page per role with its work queue, signing a
payment order from the queue, sign-out. Every form carries the session's CSRF token."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from ruralfund_common.auth import AuthSettings, UserDirectory
from ruralfund_common.errors import NotFound

from .formatting import ROLE_ZH, date_zh, status_zh, yuan_zh
from .services import ServiceError, Services
from .session import COOKIE_NAME, SESSION_SECONDS, Session, SessionCodec, csrf_matches
from .settings import ConsoleSettings

__all__ = ["create_app"]

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(yuan=yuan_zh, date_zh=date_zh, status_zh=status_zh,
                             role_zh=lambda r: ROLE_ZH.get(r, r))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show one person's queue
}
SIGNERS = ("leading_group", "contractor_signatory")
Csrf = Annotated[str | None, Form()]


def create_app(settings: ConsoleSettings | None = None,
               clients: dict[str, httpx.AsyncClient] | None = None) -> FastAPI:
    """``clients``: one httpx client per service (tests pass in-process ones); else by URL."""
    settings = settings or ConsoleSettings()
    codec = SessionCodec(settings.secret_bytes())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made = clients or {name: httpx.AsyncClient(base_url=url, timeout=15)
                           for name, url in settings.service_urls().items()}
        app.state.services = Services(made)
        yield
        if clients is None:
            await app.state.services.aclose()

    app = FastAPI(title="ruralfund console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    # styles from a file: the page policy (default-src 'self') allows no inline style
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def session_of(request: Request) -> Session | None:
        return codec.loads(request.cookies.get(COOKIE_NAME))

    def with_cookie(response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE_NAME, codec.dumps(session), max_age=SESSION_SECONDS, httponly=True,
                            samesite="lax", secure=settings.production, path="/")
        return response

    def page(request: Request, name: str, session: Session, status: int = 200, **context: Any) -> Response:
        response = TEMPLATES.TemplateResponse(request, name, {"session": session, **context}, status_code=status)
        return with_cookie(response, session)

    def refused(request: Request, session: Session, title: str, detail: str, status: int) -> Response:
        return page(request, "error.html", session, status=status, title=title, detail=detail)

    def dev_directory() -> UserDirectory | None:
        # dev users only outside production; production signs in at the county IdP (OIDC: a gap)
        return None if settings.production or not settings.users_file else UserDirectory(Path(settings.users_file))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        body = {"status": "ok"}
        if run_id := os.environ.get("RURALFUND_DEV_RUN_ID"):  # ruralfund dev: "this is mine"
            body["dev_run_id"] = run_id
        return body

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        # ready as soon as it serves: a service that is down shows as a Chinese error page
        return {"status": "ready"}

    @app.get("/signin", response_class=HTMLResponse)
    async def signin_page(request: Request) -> Response:
        session = session_of(request) or Session()
        directory = dev_directory()
        people = sorted(directory.list(), key=lambda p: p.name) if directory else []
        return page(request, "signin.html", session, people=people, dev=directory is not None)

    @app.post("/signin")
    async def signin(request: Request, name: Annotated[str, Form(max_length=200)], csrf: Csrf = None) -> Response:
        old = session_of(request)
        if not csrf_matches(old, csrf):
            return refused(request, old or Session(), "请求已过期", "页面已过期或来源不明，请重新打开登录页。", 403)
        directory = dev_directory()
        try:
            person = directory.get(name) if directory else None
        except NotFound:
            person = None
        if person is None:
            return refused(request, old or Session(), "无法登录", "没有这个用户。", 403)
        session = Session(token=directory.token_for(person.subject, AuthSettings()), name=person.name, subject=person.subject,
                          roles=sorted(str(r) for r in person.roles), credit_code=person.credit_code)
        return with_cookie(RedirectResponse("/", status_code=303), session)  # a fresh CSRF token

    @app.post("/signout")
    async def signout(request: Request, csrf: Csrf = None) -> Response:
        session = session_of(request)
        if not csrf_matches(session, csrf):
            # a forged sign-out changes nothing: the session (if any) stays as it was
            return refused(request, session or Session(), "请求已过期", "页面已过期或来源不明，请重新打开页面。", 403)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = session_of(request)
        if session is None or not session.signed_in:
            return RedirectResponse("/signin", status_code=303)
        services: Services = request.app.state.services
        try:
            queues = await _queues(services, session)
        except ServiceError as exc:
            if exc.status == 401:
                return RedirectResponse("/signin", status_code=303)
            return refused(request, session, exc.title_zh, exc.detail_zh, 502 if exc.status >= 500 else exc.status)
        return page(request, "home.html", session, **queues)

    @app.post("/payments/{payment_id}/approve")
    async def approve(request: Request, payment_id: str, content_sha256: Annotated[str, Form(max_length=64)],
                      csrf: Csrf = None) -> Response:
        session = session_of(request)
        if session is None or not session.signed_in:
            return RedirectResponse("/signin", status_code=303)
        if not csrf_matches(session, csrf):
            return refused(request, session, "请求已过期", "页面已过期或来源不明，请刷新待办列表后再签批。", 403)
        services: Services = request.app.state.services
        try:
            await services.post("funds", f"/payments/{payment_id}/approvals", session.token or "",
                                {"content_sha256": content_sha256})
        except ServiceError as exc:
            return refused(request, session, exc.title_zh, exc.detail_zh, exc.status if exc.status < 500 else 502)
        return RedirectResponse("/", status_code=303)

    return app


async def _queues(services: Services, session: Session) -> dict[str, Any]:
    """Each of the person's roles adds its work queue to the home page."""
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
    return out
