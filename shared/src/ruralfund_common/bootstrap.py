"""Builds a service process: settings → clock → migrations → pool → messaging → FastAPI.

Every service's ``app.py`` calls :func:`build_service_app` with its own routers, event
router and migrations; everything that must be the same in all four (health, problem+json,
auth, request ids, dev clock, AsyncAPI, Idempotency-Key) lives here once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from .auth import (
    AuthSettings,
    Principal,
    Role,
    install_auth,
    public_endpoint,
    require_roles,
    require_write,
)
from .calendar import WorkingCalendar
from .clock import Clock, DevClock, make_clock
from .db.access import prepare_database
from .db.pool import create_pool
from .errors import Conflict, InvalidInput, NotFound
from .http import BodyLimitMiddleware, RequestIdMiddleware, health_router, install_problem_handlers
from .logging import configure_logging, get_logger
from .messaging import EventRouter, Messaging, Tx
from .messaging.envelope import schema_path
from .messaging.signing import HEADER_KEY_ID, HEADER_SIGNATURE
from .openapi_doc import install_openapi_finish
from .query_params import reject_unknown_query_parameters
from .settings import ServiceSettings, load_settings
from .telemetry import TracingMiddleware, metrics_response, setup_tracing

__all__ = ["DEFAULT_MAX_BODY_BYTES", "MAX_IDEMPOTENCY_KEY_CHARS", "CtxDep", "ServiceContext", "build_service_app", "get_ctx", "idempotent"]

MAX_IDEMPOTENCY_KEY_CHARS = 200
# A concurrent first request with the same key won the insert: the loop answers from its row.
IDEMPOTENCY_KEY_CONSTRAINTS = frozenset({"idempotency_keys_pkey", "idempotency_keys_key_unique"})
MAX_WRITE_ATTEMPTS = 3
log = get_logger("ruralfund.bootstrap")


@dataclass
class ServiceContext:
    """Everything a use case may need; one per process, on ``app.state.ctx`` and ``tx.ctx``."""

    settings: ServiceSettings
    clock: Clock
    calendar: WorkingCalendar
    messaging: Messaging
    pool: asyncpg.Pool | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> asyncpg.Pool:
        """The pool, once the service has started (read endpoints use ``ctx.db.acquire()``)."""
        assert self.pool is not None, "service not started"
        return self.pool

    @asynccontextmanager
    async def transaction(self, *, correlation_id: str | None = None) -> AsyncIterator[Tx]:
        async with self.messaging.transaction(correlation_id=correlation_id) as tx:
            yield tx


def get_ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


# No request body may be larger (413 problem+json, read no further): without a limit FastAPI
# buffers whatever a client sends. The largest legitimate bodies are a bank statement (4 MiB)
# and evidence files (claims raises its own limit to its file size setting); endpoints keep
# their own, smaller limits (a claim's evidence 16 KiB, a program 256 KiB, a form 16 KiB).
DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024


# FastAPI's built-in OpenTelemetry: the server span only (it continues a caller's traceparent and
# is the parent of the outbox rows' trace). Off: spans per dependency/endpoint/serialisation
# (3 more spans per request), OTel HTTP metrics (Prometheus has them: TracingMiddleware) and
# OTel logs (structlog has them); probes and scrapes make no span at all.
HTTP_TELEMETRY: Final = {
    "operation_spans": False, "metrics": False, "logs": False,
    "exclude": lambda scope: scope.get("path") in ("/metrics", "/healthz", "/readyz"),
}


def _dump_tasks_on_sigusr1() -> None:
    """``kill -USR1 <pid>`` logs every asyncio task with its stack: where a stuck consumer or
    request waits (an operator's first question about a service that stopped moving)."""
    import signal
    import sys

    if sys.platform == "win32":
        return
    loop = asyncio.get_running_loop()

    def awaiting(coro: Any) -> list[str]:
        """The chain of awaits of a suspended coroutine (Task.get_stack shows only its top)."""
        frames = []
        while coro is not None and len(frames) < 40:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                frames.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        return frames

    def dump() -> None:
        for task in asyncio.all_tasks(loop):
            log.warning("task_dump", task=task.get_name(), awaiting=awaiting(task.get_coro()))

    try:
        loop.add_signal_handler(signal.SIGUSR1, dump)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (a test client's)
        log.info("task_dump_unavailable")


def build_service_app(
    *,
    service: str,
    title: str,
    description: str,
    events: EventRouter,
    routers: list[APIRouter],
    migrations_dir: Path,
    settings: ServiceSettings | None = None,
    on_start: Callable[[ServiceContext], Awaitable[None]] | None = None,
    on_stop: Callable[[ServiceContext], Awaitable[None]] | None = None,
    auth_settings: AuthSettings | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    titles_zh: Mapping[str, str] | None = None,
) -> FastAPI:
    settings = settings or load_settings(service)
    configure_logging(service, settings.log_format, settings.log_level)
    setup_tracing(service)
    clock = make_clock(settings.clock, settings.env, settings.dev_clock_file)
    calendar = WorkingCalendar(Path(settings.calendar_dir)) if settings.calendar_dir else WorkingCalendar.default()
    messaging = Messaging(
        service=service, nats_url=settings.nats_url, namespace=settings.namespace, clock=clock,
        max_deliver=settings.consumer_max_deliver, outbox_batch_size=settings.outbox_batch_size,
        outbox_poll_seconds=settings.outbox_poll_seconds, outbox_retention_days=settings.outbox_retention_days,
        replicas=settings.nats_replicas, nats_options=settings.nats_tls,
    )
    ctx = ServiceContext(settings=settings, clock=clock, calendar=calendar, messaging=messaging)
    messaging.ctx = ctx
    messaging.include(events)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        messaging.check_keys()  # refuse a production start without keys before migrating
        owner_url = settings.migration_database_url
        access = await prepare_database(
            database_url=settings.database_url, schema=settings.schema, migrations_dir=migrations_dir,
            migration_database_url=owner_url.get_secret_value() if owner_url else None,
            migrate_on_start=settings.migrate_on_start)
        applied = access.applied
        ctx.pool = await create_pool(settings.database_url, settings.schema, role=access.pool_role)
        await messaging.start(ctx.pool)
        _dump_tasks_on_sigusr1()
        if on_start:
            await on_start(ctx)
        log.info("service_started", migrations=applied, env=settings.env, clock=getattr(clock, "kind", "?"))
        try:
            yield
        finally:
            if on_stop:
                await on_stop(ctx)
            await messaging.stop()
            await ctx.pool.close()
            log.info("service_stopped")

    # /docs and /redoc load Swagger UI and ReDoc from this service (the package ships the
    # assets): a county network often reaches no CDN, and the pages were blank there (#17).
    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan,
                  telemetry=HTTP_TELEMETRY, docs_url=None, redoc_url=None,
                  dependencies=[Depends(reject_unknown_query_parameters)])
    _offline_docs(app)
    app.state.ctx = ctx
    app.state.max_body_bytes = max_body_bytes
    install_auth(app, auth_settings or AuthSettings())
    install_problem_handlers(app, titles_zh)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(TracingMiddleware, service=service)

    async def db_ready() -> bool:
        if ctx.pool is None:
            return False
        async with ctx.pool.acquire() as conn:
            return await conn.fetchval("SELECT 1") == 1

    app.include_router(health_router({"postgres": db_ready, "nats": messaging.healthy}))
    app.include_router(_asyncapi_router(messaging))
    app.include_router(_metrics_router())
    if isinstance(clock, DevClock):
        app.include_router(_dev_clock_router(clock))
    for router in routers:
        app.include_router(router)
    install_openapi_finish(app, settings)
    return app


DOCS_ASSETS_URL: Final = "/docs-assets"


def _offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with the assets the ``fastapi-offline`` package ships, served
    from ``/docs-assets``. Plain routes, as FastAPI's own documentation pages are: public, and
    outside the API's schema and its gates table."""
    import fastapi_offline  # only its asset folder is used

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")

    async def swagger_ui(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI", oauth2_redirect_url=None,
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png")

    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png", with_google_fonts=False)

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)


def _asyncapi_router(messaging: Messaging) -> APIRouter:
    router = APIRouter(tags=["events"], dependencies=[Depends(public_endpoint)])

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the events this service publishes and consumes",
                responses={200: {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["asyncapi"], "properties": {"asyncapi": {"type": "string"}},
                    "description": "an AsyncAPI 3.0 document"}}}}})
    async def asyncapi() -> JSONResponse:
        return JSONResponse(messaging.asyncapi())

    @router.get("/event-schemas/{subject}.json", summary="JSON Schema of one event contract's data "
                "(the events' CloudEvents dataschema)",
                responses={200: {"content": {"application/json": {"schema": {
                    "type": "object", "description": "a JSON Schema (draft 2020-12)"}}}}})
    async def contract_schema(subject: str) -> JSONResponse:
        return JSONResponse(_contract_schema(subject))

    @router.get("/.well-known/ruralfund/event-keys", summary="The public keys that sign events, each with the "
                "subjects it may sign: what a subscriber needs to verify Ruralfund-Signature",
                responses={200: {"content": {"application/json": {"schema": _EVENT_KEYS_SCHEMA}}}})
    async def event_keys() -> JSONResponse:
        return JSONResponse(_event_keys(messaging))

    return router


_EVENT_KEY_SCHEMA: Final = {"type": "object", "required": ["key_id", "public_key", "scopes"], "properties": {
    "key_id": {"type": "string"}, "public_key": {"type": "string", "description": "base64url, 32 bytes"},
    "encoding": {"type": "string"}, "scopes": {"type": "array", "items": {"type": "string"}},
    "development": {"type": "boolean"}, "valid_from": {"type": ["string", "null"]},
    "valid_until": {"type": ["string", "null"]}}}
_EVENT_KEYS_SCHEMA: Final = {"type": "object", "required": ["service", "algorithm", "keys"], "properties": {
    "service": {"type": "string"}, "algorithm": {"type": "string", "const": "Ed25519"},
    "signing_key_id": {"type": "string"}, "headers": {"type": "object"}, "signed": {"type": "string"},
    "keys": {"type": "array", "items": _EVENT_KEY_SCHEMA}}}


def _event_keys(messaging: Messaging) -> dict[str, Any]:
    """Public halves only. A key has no dates of its own: it is valid while it is listed here
    (a rotation lists the old and the new key together until the old one's events are gone)."""
    keys = messaging.event_keys
    return {
        "service": messaging.service,
        "algorithm": "Ed25519",
        "signing_key_id": keys.signing.key_id,
        "headers": {"key_id": HEADER_KEY_ID, "signature": HEADER_SIGNATURE},
        "signed": "ruralfund-event-signature-v1 framing of key id, subject, Nats-Msg-Id, Ruralfund-Seq, "
                  "payload bytes (docs/integrating.md)",
        "keys": [{"key_id": k.key_id, "public_key": k.public_text, "encoding": "base64url, 32 bytes",
                  "scopes": list(k.scopes), "development": k.key_id.startswith("dev-"),
                  "valid_from": None, "valid_until": None}
                 for k in keys.trusted.keys],
    }


def _contract_schema(subject: str) -> dict[str, Any]:
    """Every service serves every contract: a consumer resolves an event's ``dataschema``
    against its producer's base URL, and the contracts are shared code, the same everywhere."""
    from .contracts import ALL_EVENTS  # imported here: the contracts import the messaging package

    model = ALL_EVENTS.get(subject)
    if model is None:
        raise NotFound("CONTRACT_NOT_FOUND", f"no event contract {subject[:200]}",
                       detail_zh=f"没有名为 {subject[:200]} 的事件契约。")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_path(subject),
            **model.model_json_schema()}


def _metrics_router() -> APIRouter:
    router = APIRouter(tags=["operations"], dependencies=[Depends(public_endpoint)])

    @router.get("/metrics", summary="Prometheus metrics (scrape from inside the cluster)", include_in_schema=True,
                response_class=Response, responses={200: {"content": {"text/plain": {"schema": {
                    "type": "string", "description": "Prometheus text exposition format"}}}}})
    async def metrics() -> Response:
        body, content_type = metrics_response()
        return Response(body, media_type=content_type)

    return router


class ClockChange(BaseModel):
    set_to: datetime | None = Field(default=None, description="set the clock to this instant (timezone-aware)")
    advance_seconds: int | None = Field(default=None, ge=0, le=400 * 86400)


def _dev_clock_router(clock: DevClock) -> APIRouter:
    router = APIRouter(prefix="/admin/clock", tags=["dev clock"])
    admin = Depends(require_write(Role.BUREAU_ADMIN, Role.SYSTEM))

    @router.get("", summary="The dev clock's current time", dependencies=[Depends(require_roles(*Role))])
    async def read_clock() -> dict[str, str]:
        return {"now": clock.now().isoformat(), "kind": "dev"}

    @router.post("", summary="Set or advance the dev clock (development only)", dependencies=[admin])
    async def change_clock(change: ClockChange) -> dict[str, str]:
        if change.set_to is not None:
            if change.set_to.tzinfo is None:
                raise InvalidInput("INVALID_INPUT", "set_to must carry a timezone offset", field="set_to",
                                   title_zh="时刻须带时区", detail_zh="“set_to”须带时区（如 +08:00）。")
            now = clock.set(change.set_to)
        elif change.advance_seconds is not None:
            now = clock.advance(timedelta(seconds=change.advance_seconds))
        else:
            raise InvalidInput("INVALID_INPUT", "give set_to or advance_seconds", field="set_to",
                               title_zh="请指定时钟如何调整",
                               detail_zh="请给出“set_to”（设为某一时刻）或“advance_seconds”（向前拨动的秒数）。")
        return {"now": now.isoformat(), "kind": "dev"}

    return router


async def idempotent(
    request: Request,
    principal: Principal,
    payload: BaseModel | dict | None,
    use_case: Callable[[Tx], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run a write use case once per ``Idempotency-Key``.

    The key, the request hash, the caller and the response are stored in the use case's own
    transaction, so a replay returns the first answer and a crash leaves neither. The same
    key with a different body (or path) is 409 ``IDEMPOTENCY_KEY_REUSED``, and so is the
    same key from another principal: a stored answer is only ever replayed to whoever got it
    first, and the other's request changes nothing. Refusals (DomainError) are not stored:
    the client may fix the request and retry with the key.
    """
    ctx: ServiceContext = request.app.state.ctx
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY_CHARS):
        raise InvalidInput("INVALID_IDEMPOTENCY_KEY", f"Idempotency-Key must be 1..{MAX_IDEMPOTENCY_KEY_CHARS} characters", field="Idempotency-Key",
                           detail_zh=f"幂等键（Idempotency-Key）须为 1 至 {MAX_IDEMPOTENCY_KEY_CHARS} 个字符。")
    # the request's hash only matters with a key (most writes come without one: hot path)
    request_hash = _request_hash(request, payload) if key is not None else ""
    correlation_id = request.headers.get("X-Request-Id")
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        try:
            async with ctx.transaction(correlation_id=correlation_id) as tx:
                if key is not None:
                    # by key alone (unique since common/0004): whose key it is decides the answer
                    stored = await tx.conn.fetchrow(
                        "SELECT principal, request_hash, status, response FROM idempotency_keys WHERE key=$1", key
                    )
                    if stored is not None:
                        return _replay(stored, principal, request_hash)
                status, result = await use_case(tx)
                content = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
                if key is not None:
                    await tx.conn.execute(
                        "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status, response) "
                        "VALUES ($1,$2,$3,$4,$5,$6,$7)",
                        principal.subject, key, request.method, request.url.path, request_hash, status, content,
                    )
            return JSONResponse(content, status_code=status)
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            # Two writers crossed: the transaction was rolled back whole, so running the use
            # case again is safe.
            log.warning("write_retried_after_conflict", path=request.url.path)
            continue
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name not in IDEMPOTENCY_KEY_CONSTRAINTS:
                # The use case hit a uniqueness rule it did not check itself (e.g. a race
                # between two first requests): a conflict, never a 500.
                raise Conflict("CONFLICT", "this change conflicts with existing data",
                               details={"constraint": exc.constraint_name},
                               detail_zh="此项更改与已有数据重复或冲突（可能有人同时提交了相同的内容），未作任何更改；"
                                         "请刷新后核对。") from None
            # A concurrent request with the same key won: answer with what it stored.
    raise Conflict("IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is still being processed",
                   detail_zh="使用同一幂等键（Idempotency-Key）的请求仍在处理中，请稍后查询结果，不要重复提交。")


def _request_hash(request: Request, payload: BaseModel | dict | None) -> str:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return hashlib.sha256(
        json.dumps({"m": request.method, "p": request.url.path, "b": body}, sort_keys=True, default=str).encode()
    ).hexdigest()


def _replay(stored: asyncpg.Record, principal: Principal, request_hash: str) -> JSONResponse:
    if stored["principal"] != principal.subject:
        # Never someone else's answer (it may carry their data, and the caller would believe
        # their own request was done): the caller must choose a key of their own.
        raise Conflict(
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was already used by another person: send your request with a new key",
            field="Idempotency-Key",
            detail_zh="此幂等键（Idempotency-Key）已被其他人使用，您的请求未被执行；请换一个新的键重新提交。",
        )
    if stored["request_hash"] != request_hash:
        raise Conflict(
            "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request", field="Idempotency-Key",
            detail_zh="此幂等键（Idempotency-Key）已用于另一项不同内容的请求，您的请求未被执行；请换一个新的键重新提交。",
        )
    return JSONResponse(stored["response"], status_code=stored["status"], headers={"Idempotent-Replayed": "true"})


CtxDep = Annotated[ServiceContext, Depends(get_ctx)]
