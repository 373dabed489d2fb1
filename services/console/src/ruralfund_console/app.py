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

from .routes import ROUTERS
from .services import Services
from .settings import ConsoleSettings
from .web import install

__all__ = ["create_app"]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show one person's queue
}


def create_app(settings: ConsoleSettings | None = None,
               clients: dict[str, httpx.AsyncClient] | None = None) -> FastAPI:
    """``clients``: one httpx client per service (tests pass in-process ones); else by URL."""
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made = clients or {name: httpx.AsyncClient(base_url=url, timeout=15)
                           for name, url in settings.service_urls().items()}
        app.state.services = Services(made)
        yield
        if clients is None:
            await app.state.services.aclose()

    app = FastAPI(title="ruralfund console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install(app, settings)
    # styles from a file: the page policy (default-src 'self') allows no inline style
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
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
