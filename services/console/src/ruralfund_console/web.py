"""What every console page shares: the session cookie, rendering, and the two ways a request
ends early — not signed in (to the sign-in page) or refused (a Chinese error page).

Routes take the signed-in person with ``Depends(signed_in)`` (pages) or ``Depends(signed_form)``
(forms: also checks the CSRF token), call the services through ``services(request)``, and let a
``ServiceError`` propagate: the handler registered in ``install`` turns it into the error page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .formatting import (
    ROLE_ZH,
    calculation_zh,
    date_zh,
    file_kind_zh,
    flag_zh,
    period_zh,
    status_zh,
    yuan_zh,
)
from .oidc import FlowCodec
from .services import ServiceError, Services
from .session import COOKIE_NAME, SESSION_SECONDS, Session, SessionCodec, csrf_matches
from .settings import ConsoleSettings

__all__ = [
    "TEMPLATES",
    "Csrf",
    "NotSignedIn",
    "Refused",
    "SignedForm",
    "SignedIn",
    "Web",
    "install",
    "services",
    "signed_form",
    "signed_in",
    "web",
]

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(yuan=yuan_zh, date_zh=date_zh, status_zh=status_zh,
                             role_zh=lambda r: ROLE_ZH.get(r, r), period_zh=period_zh,
                             calculation_zh=calculation_zh, flag_zh=flag_zh, file_kind_zh=file_kind_zh)
Csrf = Annotated[str | None, Form()]


class NotSignedIn(Exception):
    """No session, or the services no longer accept its token: sign in again."""


class Refused(Exception):
    """The console itself refuses (a stale form, a missing role): shown as the error page."""

    def __init__(self, title_zh: str, detail_zh: str, status: int = 403) -> None:
        super().__init__(title_zh)
        self.title_zh, self.detail_zh, self.status = title_zh, detail_zh, status


class Web:
    """The app's session codec and settings; reached from a route as ``web(request)``."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        secret = settings.secret_bytes()  # once: outside production it is random per call
        self.codec = SessionCodec(secret)
        self.flow_codec = FlowCodec(secret)  # the IdP sign-in's state/nonce/verifier cookie

    def session_of(self, request: Request) -> Session | None:
        return self.codec.loads(request.cookies.get(COOKIE_NAME))

    def with_cookie(self, response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE_NAME, self.codec.dumps(session), max_age=SESSION_SECONDS, httponly=True,
                            samesite="lax", secure=self.settings.production, path="/")
        return response

    def page(self, request: Request, name: str, session: Session, status: int = 200, **context: Any) -> Response:
        response = TEMPLATES.TemplateResponse(request, name, {"session": session, **context}, status_code=status)
        return self.with_cookie(response, session)

    def refused(self, request: Request, title: str, detail: str, status: int) -> Response:
        session = self.session_of(request) or Session()
        return self.page(request, "error.html", session, status=status, title=title, detail=detail)


def web(request: Request) -> Web:
    return request.app.state.web


def services(request: Request) -> Services:
    return request.app.state.services


def signed_in(request: Request) -> Session:
    session = web(request).session_of(request)
    if session is None or not session.signed_in:
        raise NotSignedIn
    return session


SignedIn = Annotated[Session, Depends(signed_in)]
"""A route parameter: the signed-in person (else to the sign-in page)."""


def signed_form(request: Request, session: SignedIn, csrf: Csrf = None) -> Session:
    """The signed-in person, for a form whose CSRF token matches their session's."""
    if not csrf_matches(session, csrf):
        raise Refused("请求已过期", "页面已过期或来源不明，请刷新页面后再提交。")
    return session


SignedForm = Annotated[Session, Depends(signed_form)]
"""A route parameter of a form handler: the signed-in person, CSRF token checked."""


def install(app: FastAPI, settings: ConsoleSettings) -> None:
    """Shared state and the handlers that end a request early."""
    app.state.web = Web(settings)

    @app.exception_handler(NotSignedIn)
    async def to_signin(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(Refused)
    async def console_refused(request: Request, exc: Refused) -> Response:
        return web(request).refused(request, exc.title_zh, exc.detail_zh, exc.status)

    @app.exception_handler(ServiceError)
    async def service_refused(request: Request, exc: ServiceError) -> Response:
        if exc.status == 401:
            return RedirectResponse("/signin", status_code=303)
        return web(request).refused(request, exc.title_zh, exc.detail_zh, exc.status if exc.status < 500 else 502)
