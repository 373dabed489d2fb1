"""The console's FastAPI app: security headers, static files, and the pages in ``routes/``
(one module per area). What pages share — session, rendering, refusals — is in ``web``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from ruralfund_common.auth import AuthSettings

from .body_limit import BodyLimit
from .oidc import OidcClient
from .routes import ROUTERS
from .services import Services
from .settings import ConsoleSettings
from .web import install

__all__ = ["create_app"]

CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'{idp}; base-uri 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP.format(idp=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show one person's queue
}


def create_app(settings: ConsoleSettings | None = None,
               clients: dict[str, httpx.AsyncClient] | None = None,
               auth_settings: AuthSettings | None = None) -> FastAPI:
    """``clients``: one httpx client per service (tests pass in-process ones); else by URL.
    ``auth_settings``: the services' auth settings (role map, audience); else from the environment."""
    settings = settings or ConsoleSettings()
    # the IdP is reached over the network even in tests: a client of its own, no redirects followed
    idp_http = httpx.AsyncClient(timeout=10) if settings.oidc_enabled else None
    oidc = OidcClient(settings, idp_http, auth_settings) if idp_http else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made = clients or {name: httpx.AsyncClient(base_url=url, timeout=15)
                           for name, url in settings.service_urls().items()}
        app.state.services = Services(made)
        yield
        if clients is None:
            await app.state.services.aclose()
        if idp_http is not None:
            await idp_http.aclose()

    app = FastAPI(title="ruralfund console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install(app, settings)
    app.state.oidc = oidc
    # styles from a file: the page policy (default-src 'self') allows no inline style
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BodyLimit)  # before any route parses a form: a huge upload is never spooled

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if oidc is not None:
            # sign-out is a form whose answer redirects to the IdP's end-session page: the policy
            # must allow that origin as a form target, or the browser stops the redirect
            response.headers["Content-Security-Policy"] = CSP.format(
                idp="".join(f" {o}" for o in oidc.form_origins()))
        return response

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

    for router in ROUTERS:
        app.include_router(router)
    return app
