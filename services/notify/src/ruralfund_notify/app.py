"""Builds the notify service: publicity notices (公示) and mail to enterprises."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from ruralfund_common.bootstrap import ServiceContext, build_service_app
from ruralfund_common.http import BodyLimitMiddleware, RequestIdMiddleware, install_problem_handlers
from ruralfund_common.settings import ServiceSettings

from .adapters.smtp import SmtpMailer
from .adapters.webhook_http import WebhookHttp
from .domain.refusals import TITLES_ZH
from .entrypoints.api import admin_router, public_router
from .entrypoints.objections_api import objection_admin_router, objection_form_router
from .entrypoints.open_data import open_data_router
from .entrypoints.public_site import PublicHeadersMiddleware
from .entrypoints.subscribers import events, webhook_event_types
from .entrypoints.webhooks_api import webhook_router
from .entrypoints.workers import BackgroundLoop, mail_sender, sla_summariser, webhook_sender
from .service import EXTRAS_KEY, NotifyService
from .settings import NotifySettings

__all__ = ["create_app", "create_public_app", "public_paths"]

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
_LOOPS_KEY: Final = "notify.background_loops"
_HTTP_KEY: Final = "notify.webhook_http"
# What anyone may reach: the 公示 pages and feed, the objection form, open data.
PUBLIC_ROUTERS: Final = (public_router, objection_form_router, open_data_router)


def public_paths() -> list[str]:
    """Every path the public listener serves: what a reverse proxy or an Ingress may pass on to
    it (deploy/compose/proxy, the Helm chart's public host; tests keep both to these)."""
    return [route.path for router in PUBLIC_ROUTERS for route in router.routes]


def create_app(
    settings: ServiceSettings | None = None, notify_settings: NotifySettings | None = None
) -> FastAPI:
    notify_settings = notify_settings or NotifySettings()

    async def on_start(ctx: ServiceContext) -> None:
        service: NotifyService = ctx.extras[EXTRAS_KEY]
        http = ctx.extras[_HTTP_KEY] = WebhookHttp(notify_settings.webhook_timeout_seconds)
        loops = [
            mail_sender(ctx, service, SmtpMailer(notify_settings)),
            sla_summariser(ctx, service),
            webhook_sender(ctx, service, http),
        ]
        ctx.extras[_LOOPS_KEY] = loops
        for loop in loops:
            await loop.start()

    async def on_stop(ctx: ServiceContext) -> None:
        loops: list[BackgroundLoop] = ctx.extras.pop(_LOOPS_KEY, [])
        for loop in loops:
            await loop.stop()
        http: WebhookHttp | None = ctx.extras.pop(_HTTP_KEY, None)
        if http is not None:
            await http.close()

    app = build_service_app(
        service="notify",
        title="ruralfund notify",
        titles_zh=TITLES_ZH,
        description="Publicity notices (公示) of approved awards on the county portal's public page "
        "(HTML, Atom, JSON, open data) with the objection form; mail to enterprises, objectors, "
        "responsible units and the bureau; signed webhooks for other systems.",
        events=events,
        routers=[
            *PUBLIC_ROUTERS,
            admin_router,
            objection_admin_router,
            webhook_router,
        ],
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
        on_start=on_start,
        on_stop=on_stop,
    )
    app.add_middleware(PublicHeadersMiddleware)  # on the public pages only
    ctx: ServiceContext = app.state.ctx
    notify_settings.check_for(ctx.settings.env)
    # Handlers run before on_start returns, so the service must exist before the lifespan.
    ctx.extras[EXTRAS_KEY] = NotifyService(
        settings=notify_settings, calendar=ctx.calendar, webhook_event_types=webhook_event_types()
    )
    return app


def create_public_app(app: FastAPI) -> FastAPI:
    """The public pages of ``app`` (a notify app from ``create_app``) for a listener of their
    own: 公示 pages, feed, open data and the objection form, nothing else - no admin API,
    ``/metrics``, ``/docs`` or ``/openapi.json`` (404). It shares ``app``'s context: serve it
    in the same process, after ``app``'s lifespan has started (``ruralfund serve notify
    --public-port``)."""
    public = FastAPI(
        title="ruralfund notify (public)", docs_url=None, redoc_url=None, openapi_url=None
    )
    public.state.ctx = app.state.ctx
    public.state.max_body_bytes = app.state.max_body_bytes
    public.state.auth_settings = app.state.auth_settings
    install_problem_handlers(public, TITLES_ZH)
    public.add_middleware(BodyLimitMiddleware, max_bytes=app.state.max_body_bytes)
    public.add_middleware(RequestIdMiddleware)
    public.add_middleware(PublicHeadersMiddleware, prefixes=None)  # every answer is public
    for router in PUBLIC_ROUTERS:
        public.include_router(router)
    return public
