"""The HTTP edge shared by every service: problem+json errors, health, request ids, paging.

Wiring in a service's bootstrap::

    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router({"nats": nats_ok, "postgres": db_ok}))
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final, Generic, TypeVar
from uuid import UUID

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ruralfund_common.auth import public_endpoint
from ruralfund_common.errors import DomainError, InvalidInput
from ruralfund_common.ids import new_id
from ruralfund_common.recusal import RECUSAL_REQUIRED, RECUSAL_TITLE_ZH
from ruralfund_common.validation_zh import validation_message_zh

__all__ = [
    "GENERIC_TITLES_ZH",
    "MAX_JSON_DEPTH",
    "PAGE_LIMIT_DEFAULT",
    "PAGE_LIMIT_MAX",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPE_BASE",
    "READY_CHECK_TIMEOUT_SECONDS",
    "REQUEST_ID_HEADER",
    "BodyLimitMiddleware",
    "CursorIndex",
    "CursorPosition",
    "CursorText",
    "DocumentTooDeep",
    "IdPosition",
    "InvalidCursor",
    "Page",
    "PageParams",
    "ReadinessCheck",
    "RequestIdMiddleware",
    "check_json_depth",
    "current_request_id",
    "cursor_position",
    "decode_cursor",
    "encode_cursor",
    "health_router",
    "install_problem_handlers",
    "problem_response",
    "problem_type",
]

log = structlog.get_logger(__name__)

# --------------------------------------------------------------------------- problem+json

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://ruralfund.dev/problems/"

# Short Chinese titles for the county staff who read error screens; English stays canonical.
_TITLE_ZH_BY_CODE: Final[Mapping[str, str]] = {
    "AUTH_MISSING": "未提供身份凭证",
    "AUTH_INVALID": "身份凭证无效",
    "AUTH_EXPIRED": "身份凭证已过期",
    "AUTH_UNAVAILABLE": "身份认证服务不可用",
    "ROLE_REQUIRED": "无此操作权限",
    "READ_ONLY": "只读角色不能修改",
    RECUSAL_REQUIRED: RECUSAL_TITLE_ZH,
    "AUTH_NO_ROLE": "没有本系统的角色",
    "AUTH_PERSON_NOT_FROM_IDP": "请通过统一身份认证登录",
    "IDEMPOTENCY_KEY_REUSED": "幂等键已被使用",
    "IDEMPOTENCY_KEY_IN_USE": "同一请求正在处理中",
    "INVALID_IDEMPOTENCY_KEY": "幂等键格式有误",
    "CONFLICT": "与已有数据冲突",
    "INVALID_INPUT": "请求内容有误",
    "INTERNAL": "系统内部出错",
    "NOT_FOUND": "地址不存在",
    "METHOD_NOT_ALLOWED": "该地址不支持此请求方法",
    "BODY_TOO_LARGE": "提交的内容超过大小上限",
    "BODY_INVALID": "请求内容不是有效的 JSON",
    "DOCUMENT_TOO_DEEP": "请求内容嵌套层数过多",
    "UNSUPPORTED_MEDIA_TYPE": "不支持该内容类型",
    "TOO_MANY_REQUESTS": "提交过于频繁，请稍后再试",
    "RATE_LIMITED": "提交过于频繁，请稍后再试",
    "DATABASE_UNAVAILABLE": "数据库暂不可用",
    "SERVICE_UNAVAILABLE": "服务暂时无法处理请求",
    "VALUE_NOT_STORABLE": "数值无法保存",
    "INVALID_CURSOR": "翻页游标无效",
    "CONTRACT_NOT_FOUND": "未找到该事件契约",
    "CREDIT_CODE_INVALID": "统一社会信用代码有误",
    "EVENT_TOO_LARGE": "事件内容过大",
    "CALENDAR_YEAR_UNKNOWN": "该年度工作日历未知",
}
# The generic by-status titles: what a person sees only when no refusal says more (the tests
# treat one of these on a refusal as a gap to fill).
GENERIC_TITLES_ZH: Final = frozenset({"请求有误", "未认证", "无权限", "未找到", "不支持的请求方法", "冲突",
                                      "请求内容过大", "不支持的内容类型", "输入有误", "请求过于频繁",
                                      "服务器内部错误", "服务暂不可用"})  # fmt: skip
_TITLE_ZH_BY_STATUS: Final[Mapping[int, str]] = {
    400: "请求有误",
    401: "未认证",
    403: "无权限",
    404: "未找到",
    405: "不支持的请求方法",
    409: "冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "输入有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def problem_type(code: str) -> str:
    """``ROLE_REQUIRED`` → ``https://ruralfund.dev/problems/role-required``."""
    return PROBLEM_TYPE_BASE + code.strip().lower().replace("_", "-")


def _title(code: str) -> str:
    # Derived from the code, so it is the same for every occurrence (RFC 9457 §3.1.3).
    return code.replace("_", " ").capitalize()


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    title_zh: str | None = None,
    detail_zh: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response; ``extensions`` become extra members.

    ``title_zh``: when not given, the service's own title for ``code`` (see
    :func:`install_problem_handlers`), then the shared one, then one by status."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": _title(code),
        "status": status,
        "detail": detail,
        "code": code,
    }
    title_zh = (title_zh or _service_titles_zh(request).get(code) or _TITLE_ZH_BY_CODE.get(code)
                or _TITLE_ZH_BY_STATUS.get(status))
    if title_zh:
        body["title_zh"] = title_zh
    if detail_zh:
        body["detail_zh"] = detail_zh
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    body.update(extensions)
    request_id = _request_id_of(request)
    if request_id:
        body["request_id"] = request_id  # quote it to support, it finds the log lines
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _service_titles_zh(request: Request | None) -> Mapping[str, str]:
    app = request.scope.get("app") if request is not None else None
    return getattr(getattr(app, "state", None), "titles_zh", None) or {}


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    log.info("request_refused", code=exc.code, status=exc.status, path=request.url.path)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.message,
        field=exc.field,
        details=exc.details,
        headers=getattr(exc, "headers", None),  # e.g. WWW-Authenticate on 401
        **_chinese(exc),
    )


def _chinese(exc: DomainError) -> dict[str, str | None]:
    """The refusal's own Chinese title and detail, when it gives them."""
    return {"title_zh": exc.title_zh, "detail_zh": exc.detail_zh}


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_validation_item(e) for e in exc.errors()]
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    where = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    more_zh = f"（另有 {len(errors) - 1} 处问题，见 errors）" if len(errors) > 1 else ""
    first_zh = first.get("message_zh") or "请求内容有误"
    return problem_response(
        request,
        status=422,
        code="INVALID_INPUT",
        detail=f"{where}{first['message']}{more}",
        field=first["field"],
        errors=errors,
        detail_zh=f"{first_zh}{more_zh}，请求未被执行。",
    )


_LOCATIONS: Final = frozenset({"body", "query", "path", "header", "cookie"})


def _validation_item(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = list(error.get("loc") or ())
    location = loc.pop(0) if loc and loc[0] in _LOCATIONS else None
    if error.get("type") == "json_invalid":
        loc = []  # the rest of loc is a character offset, not a field
    # Neither `input` nor `ctx` is echoed: input may hold personal data, ctx may not be JSON.
    kind = str(error.get("type", "value_error"))
    field = _dotted(loc)
    return {
        "field": field,
        "location": location,
        "message": str(error.get("msg", "invalid value")),
        "message_zh": validation_message_zh(kind, field, location, error.get("ctx") or {}),
        "type": kind,
    }


def _dotted(loc: Sequence[Any]) -> str | None:
    """``["evidence", "units"]`` → ``evidence.units``; list indexes as ``items[0].qty``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


# How deep a JSON (or YAML) document may nest. Python's parsers recurse: a body of 10,000
# nested arrays raises RecursionError; FastAPI turns that into a bare 400, a service parsing a
# body itself into a 500. Our documents are a few levels deep.
MAX_JSON_DEPTH: Final = 64
_BODY_UNREADABLE: Final = "There was an error parsing the body"  # FastAPI's detail


class DocumentTooDeep(InvalidInput):
    status = 400

    def __init__(self, field: str = "body") -> None:
        super().__init__(
            "DOCUMENT_TOO_DEEP",
            f"the document nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects",
            field=field,
            detail_zh=f"“{field}”的数组和对象嵌套超过 {MAX_JSON_DEPTH} 层，无法处理；请检查提交的内容。",
        )


def check_json_depth(value: Any, *, field: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` (parsed JSON or YAML) if it nests at most ``max_depth`` levels, else 400
    ``DOCUMENT_TOO_DEEP`` naming ``field``. Iterative: it cannot itself run out of stack."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise DocumentTooDeep(field)
        pending.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return value


def _body_problem(request: Request, exc: StarletteHTTPException) -> Response | None:
    """FastAPI's "error parsing the body" as a problem naming the body."""
    if exc.status_code != 400 or exc.detail != _BODY_UNREADABLE:
        return None
    if isinstance(exc.__cause__, RecursionError):
        deep = DocumentTooDeep()
        return problem_response(request, status=400, code=deep.code, detail=deep.message, field="body",
                                detail_zh=deep.detail_zh)
    return problem_response(request, status=400, code="BODY_INVALID",
                            detail="the request body cannot be read as JSON", field="body",
                            detail_zh="请求内容无法按 JSON 读取，请检查格式后重新提交。")  # fmt: skip


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (unreadable := _body_problem(request, exc)) is not None:
        return unreadable
    headers = dict(exc.headers or {})
    if exc.status_code in (204, 304):  # these statuses must not carry a body
        return Response(status_code=exc.status_code, headers=headers)
    code, phrase = _status_code_and_phrase(exc.status_code)
    code = getattr(exc, "code", None) or code
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    details = exc.detail if isinstance(exc.detail, Mapping) else None
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        detail=detail,
        details=details,
        headers=headers,
        detail_zh=getattr(exc, "detail_zh", None) or _status_detail_zh(request, exc.status_code, headers),
    )


def _status_detail_zh(request: Request, status: int, headers: Mapping[str, str]) -> str:
    """What Starlette's own refusals (an unknown address, a method a route lacks) mean, in Chinese."""
    path = request.url.path[:200]
    if status == 404:
        return f"地址 {path} 不存在，请核对请求的地址。"
    if status == 405:
        allowed = headers.get("allow") or headers.get("Allow")
        also = f"；该地址支持：{allowed}" if allowed else ""
        return f"地址 {path} 不支持 {request.method} 请求{also}。"
    phrase = _TITLE_ZH_BY_STATUS.get(status, "请求未被接受")
    return f"{phrase}（HTTP {status}），请求未被执行。"


def _status_code_and_phrase(status: int) -> tuple[str, str]:
    """404 → ("NOT_FOUND", "Not Found"); an unregistered status → ("HTTP_599", "HTTP 599")."""
    try:
        known = HTTPStatus(status)
    except ValueError:
        return f"HTTP_{status}", f"HTTP {status}"
    return known.name, known.phrase


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Full traceback to the log only: a body with internals would help an attacker, not a user.
    request_id = _request_id_of(request)
    log.error(
        "unhandled_exception",
        method=request.method,
        path=request.url.path,
        request_id=request_id,
        exc_info=exc,
    )
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return problem_response(
        request,
        status=500,
        code="INTERNAL",
        detail="an unexpected error occurred; quote the request id when reporting it",
        headers=headers,
        detail_zh=f"系统处理请求时发生意外错误。报告问题时请提供请求编号 {request_id or '（无）'}。",
    )


# SQLSTATEs (class 22, data exception) with which PostgreSQL refuses a value whatever the
# column or the query: they are the caller's input, never a fault of the service, so they are a
# 422 like any other bad input. The use case's transaction has rolled back: nothing changed.
_VALUE_REFUSED_BY_DATABASE: Final[Mapping[str, str]] = {
    "22001": "a text value is longer than can be stored",
    "22003": "a number is outside the range that can be stored (a bigint: 9223372036854775807)",
    "22021": "a text value contains the NUL character (U+0000), which cannot be stored",
    "22P05": "a text value contains the NUL character (U+0000), which cannot be stored",
}
_VALUE_REFUSED_BY_DATABASE_ZH: Final[Mapping[str, str]] = {
    "22001": "提交的某项文字过长，无法保存；未作任何更改。",
    "22003": "提交的某个数字超出可保存的范围（最大 9223372036854775807）；未作任何更改。",
    "22021": "提交的文字中含有空字符（U+0000），无法保存；未作任何更改。",
    "22P05": "提交的文字中含有空字符（U+0000），无法保存；未作任何更改。",
}


async def _on_database_data_error(request: Request, exc: Exception) -> Response:
    reason = _VALUE_REFUSED_BY_DATABASE.get(str(getattr(exc, "sqlstate", "")))
    if reason is None:  # another data exception: the service's own fault
        return await _on_unexpected(request, exc)
    log.info("request_refused", code="VALUE_NOT_STORABLE", status=422, path=request.url.path)
    return problem_response(request, status=422, code="VALUE_NOT_STORABLE", detail=reason,
                            detail_zh=_VALUE_REFUSED_BY_DATABASE_ZH[str(getattr(exc, "sqlstate", ""))])


# The database is down, restarting or out of connections: nothing was changed (the use case's
# transaction did not commit), and the same request (same Idempotency-Key) may simply be sent
# again — a 503 with Retry-After says so, where a 500 would say "bug".
DATABASE_UNAVAILABLE_ERRORS: Final = (
    asyncpg.exceptions.PostgresConnectionError,  # connection lost / refused (class 08)
    asyncpg.exceptions.CannotConnectNowError,  # starting up / shutting down (57P03)
    asyncpg.exceptions.AdminShutdownError,  # 57P01
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
    asyncpg.exceptions.InternalClientError,  # a connection left mid-operation by a restart
    ConnectionError,  # ECONNREFUSED while PostgreSQL is down
    TimeoutError,  # no pooled connection in time (db.pool.ACQUIRE_TIMEOUT_SECONDS)
)
RETRY_AFTER_SECONDS: Final = 2


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database_unavailable", method=request.method, path=request.url.path, error=repr(exc))
    return problem_response(
        request, status=503, code="DATABASE_UNAVAILABLE",
        detail="the database is unavailable for a moment; nothing was changed: send the same request again",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        detail_zh=f"数据库暂时无法访问，未作任何更改；请在 {RETRY_AFTER_SECONDS} 秒后重新提交同一请求。",
    )


def install_problem_handlers(app: FastAPI, titles_zh: Mapping[str, str] | None = None) -> None:
    """Make every error response of ``app`` an RFC 9457 problem+json body.

    ``titles_zh``: the service's Chinese title for each of its refusal codes, used when the
    refusal itself gives none.

    Note: Starlette re-raises after the 500 handler has answered, so servers (and
    ``TestClient`` unless ``raise_server_exceptions=False``) still see the exception.
    """
    app.state.titles_zh = dict(titles_zh or {})
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(asyncpg.exceptions.DataError, _on_database_data_error)
    for unavailable in DATABASE_UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


# --------------------------------------------------------------------------- health

ReadinessCheck = Callable[[], Awaitable[bool]]
READY_CHECK_TIMEOUT_SECONDS: Final = 2.0  # below a typical 3-5 s probe timeout


class HealthOut(BaseModel):
    status: str = Field(description='always "ok": the process answers')
    dev_run_id: str | None = Field(default=None, description="set by `ruralfund dev` only")


class ReadyOut(BaseModel):
    status: str = Field(description='"ok", or "unavailable" (503) when a check failed')
    checks: dict[str, str] = Field(description='each check\'s outcome: "ok", "failed", "timeout", ...')
    failed: list[str] | None = Field(default=None, description="the checks that did not say ok")


def health_router(
    checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    timeout_seconds: float = READY_CHECK_TIMEOUT_SECONDS,
) -> APIRouter:
    """``GET /healthz`` (alive: always 200) and ``GET /readyz`` (200 only if every check
    returns True within ``timeout_seconds``; else 503 naming the failed checks). Public."""
    assert timeout_seconds > 0
    named_checks = dict(checks or {})
    router = APIRouter(tags=["health"], dependencies=[Depends(public_endpoint)])

    @router.get("/healthz", summary="Process is alive", responses={200: {"model": HealthOut}})
    async def healthz() -> JSONResponse:
        body = {"status": "ok"}
        # `ruralfund dev` checks that the process answering is the one it started (not another
        # dev's on the same port); set only by dev, so production answers stay as they were.
        if run_id := os.environ.get("RURALFUND_DEV_RUN_ID"):
            body["dev_run_id"] = run_id
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.get("/readyz", summary="Dependencies are reachable",
                responses={200: {"model": ReadyOut}, 503: {"model": ReadyOut}})
    async def readyz() -> JSONResponse:
        names = list(named_checks)
        outcomes = await asyncio.gather(
            *(_run_check(n, named_checks[n], timeout_seconds) for n in names)
        )
        results = dict(zip(names, outcomes, strict=True))
        failed = [name for name, outcome in results.items() if outcome != "ok"]
        body = {"status": "unavailable" if failed else "ok", "checks": results}
        if failed:
            body["failed"] = failed
        return JSONResponse(
            body, status_code=503 if failed else 200, headers={"Cache-Control": "no-store"}
        )

    return router


async def _run_check(name: str, check: ReadinessCheck, timeout_seconds: float) -> str:
    try:
        ok = await asyncio.wait_for(check(), timeout=timeout_seconds)
    except TimeoutError:
        log.warning("readiness_check_timeout", check=name, timeout_s=timeout_seconds)
        return "timeout"
    except Exception as exc:  # noqa: BLE001 — a failing check means "not ready", never a 500
        # The message stays in the log: /readyz is public and errors may name hosts.
        log.warning("readiness_check_error", check=name, error=repr(exc))
        return "error"
    return "ok" if ok is True else "failed"


# --------------------------------------------------------------------------- request id

REQUEST_ID_HEADER: Final = "X-Request-Id"
MAX_REQUEST_ID_CHARS: Final = 128
# A caller's id goes into our logs: accept only a safe charset, else make our own.
_REQUEST_ID_RE: Final = re.compile(rf"^[A-Za-z0-9._:\-]{{1,{MAX_REQUEST_ID_CHARS}}}$")
_STATE_KEY: Final = "request_id"


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive``: FastAPI re-raises an HTTPException met while reading a body
    (any other error there becomes a 400), so the problem handler answers it."""

    code = "BODY_TOO_LARGE"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body may have at most {max_bytes} bytes")
        self.detail_zh = f"提交的内容最多 {max_bytes:,} 字节（约 {max_bytes / 1048576:.1f} MB），请减小后重新提交。"


class BodyLimitMiddleware:
    """Pure ASGI: no request body past ``max_bytes``. A declared ``Content-Length`` past it is
    answered 413 before the app runs; a streamed body is cut off when the count passes it.
    Either way a problem+json ``BODY_TOO_LARGE``, and the endpoint never sees the body.
    (FastAPI's own ``max_body_size`` answers a declared length in plain text.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        assert max_bytes > 0
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            too_large = _BodyTooLarge(self.max_bytes)
            response = problem_response(Request(scope), status=413, code=too_large.code,
                                        detail=too_large.detail, details={"max_bytes": self.max_bytes},
                                        detail_zh=too_large.detail_zh)
            await response(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, receive_limited, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestIdMiddleware:
    """Pure ASGI middleware: take a well-formed ``X-Request-Id`` or make a UUIDv7, return it
    on the response, bind it in structlog contextvars and keep it in ``request.state``.

    Pure ASGI (not ``BaseHTTPMiddleware``) so the contextvar is visible to the endpoint.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or new_id()
        # scope["state"] backs request.state; the 500 handler reads it after we returned.
        scope.setdefault("state", {})[_STATE_KEY] = request_id
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == header[0] for k, _ in headers):
                    headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


def _incoming_request_id(scope: Scope) -> str | None:
    wanted = REQUEST_ID_HEADER.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            text = value.decode("latin-1").strip()
            return text if _REQUEST_ID_RE.fullmatch(text) else None
    return None


def _request_id_of(request: Request | None) -> str | None:
    if request is None:
        return None
    state = request.scope.get("state") or {}
    value = state.get(_STATE_KEY)
    return value if isinstance(value, str) else None


def current_request_id(request: Request) -> str | None:
    """The request id :class:`RequestIdMiddleware` assigned (None if not installed)."""
    return _request_id_of(request)


# --------------------------------------------------------------------------- pagination

PAGE_LIMIT_DEFAULT: Final = 50
PAGE_LIMIT_MAX: Final = 200
MAX_CURSOR_CHARS: Final = 512

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list. ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None = None
    limit: int = Field(ge=1, le=PAGE_LIMIT_MAX)


@dataclass(frozen=True)
class PageParams:
    """Dependency for list endpoints: ``params: Annotated[PageParams, Depends()]``."""

    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX, description="items per page")] = (
        PAGE_LIMIT_DEFAULT
    )
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_CHARS, description="opaque; next_cursor of the previous page"),
    ] = None


def encode_cursor(position: Mapping[str, Any]) -> str:
    """An opaque cursor from a JSON-able position, e.g. ``{"after": "2024-05-01", "id": "…"}``."""
    raw = json.dumps(jsonable_encoder(position), separators=(",", ":"), sort_keys=True)
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert len(cursor) <= MAX_CURSOR_CHARS, "cursor position too large"
    return cursor


class InvalidCursor(InvalidInput):
    """A cursor we did not make (garbage, the wrong JSON, wrong types, out-of-range numbers):
    400, naming the ``cursor`` parameter, never a 500 from deeper down."""

    status = 400

    def __init__(self, reason: str = "not a cursor this list handed out") -> None:
        super().__init__("INVALID_CURSOR", f"cursor is not valid: {reason}", field="cursor",
                         detail_zh="翻页游标（cursor）不是此列表给出的，请从列表第一页重新翻页。")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position inside a cursor; 400 ``INVALID_CURSOR`` if it was tampered with or mangled.
    Prefer ``cursor_position``, which also checks the position's fields and their types.

    Cursors are opaque, not secret: authorization must still filter the rows.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(position, dict):
        raise InvalidCursor("not a JSON object")
    return position


class CursorPosition(BaseModel):
    """Base of a list's cursor position: exactly the fields it has, of exactly their types
    (a number is never a string, no extra keys), so that only what ``encode_cursor`` wrote for
    the list is accepted. Texts are ``CursorText``, counts ``CursorIndex``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# One line, no NUL (PostgreSQL cannot compare it), no longer than a cursor can carry.
CursorText = Annotated[str, StringConstraints(max_length=MAX_CURSOR_CHARS, pattern=r"^[^\x00-\x1f\x7f]*$")]
CursorIndex = Annotated[int, Field(ge=0, le=2**31 - 1)]  # fits an int4 as well as an int8
P = TypeVar("P", bound=CursorPosition)


class IdPosition(CursorPosition):
    """``{"id": <uuid>}``: the last row's id, for lists ordered by a UUIDv7 id."""

    id: UUID


def cursor_position(cursor: str | None, model: type[P]) -> P | None:
    """The position in ``cursor`` as ``model`` (None without a cursor); 400 ``INVALID_CURSOR``
    naming the field when it is not one this list handed out."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    try:
        # JSON mode: strict types, but an ISO text still makes a datetime or a UUID.
        return model.model_validate_json(json.dumps(position))
    except (ValidationError, RecursionError, ValueError) as exc:
        raise InvalidCursor("its position has the wrong fields or values") from exc
