"""The HTTP edge: problem+json bodies, health probes, request ids, paging."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Annotated, Any
from uuid import UUID

import pytest
import structlog
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, BaseModel, Field
from ruralfund_common.auth import unguarded_routes
from ruralfund_common.errors import Conflict, DomainError, NotFound
from ruralfund_common.http import (
    GENERIC_TITLES_ZH,
    MAX_JSON_DEPTH,
    PROBLEM_MEDIA_TYPE,
    CursorIndex,
    CursorPosition,
    CursorText,
    DocumentTooDeep,
    IdPosition,
    InvalidCursor,
    Page,
    PageParams,
    RequestIdMiddleware,
    check_json_depth,
    current_request_id,
    cursor_position,
    decode_cursor,
    encode_cursor,
    health_router,
    install_problem_handlers,
    problem_type,
)


class Evidence(BaseModel):
    units: int = Field(gt=0)
    photo_urls: list[str] = Field(default_factory=list, max_length=2)


class PackagingClaim(BaseModel):
    credit_code: str = Field(min_length=18, max_length=18)
    evidence: Evidence


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.post("/claims")
    async def submit(claim: PackagingClaim) -> dict[str, int]:
        return {"units": claim.evidence.units}

    @app.post("/claims/{claim_id}/pay")
    async def pay(claim_id: str) -> None:
        raise Conflict(
            "PUBLICITY_NOT_ENDED",
            "publicity of this award ends on 2024-05-13",
            field="claim_id",
            details={"publicity_ends": "2024-05-13", "claim_id": claim_id},
        )

    @app.get("/enterprises/{code}")
    async def enterprise(code: str) -> None:
        raise NotFound("ENTERPRISE_NOT_FOUND", f"no enterprise {code}")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418, detail="short and stout")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    @app.get("/rid")
    async def rid(request: Request) -> dict[str, str | None]:
        bound = structlog.contextvars.get_contextvars().get("request_id")
        return {"state": current_request_id(request), "log": bound}

    @app.get("/page")
    async def page(params: Annotated[PageParams, Depends()]) -> Page[int]:
        start = decode_cursor(params.cursor)["after"] if params.cursor else 0
        items = list(range(start, min(start + params.limit, 7)))
        more = items and items[-1] < 6
        cursor = encode_cursor({"after": items[-1] + 1}) if more else None
        return Page[int](items=items, next_cursor=cursor, limit=params.limit)

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(_app(), raise_server_exceptions=False)


def test_problem_type_from_code() -> None:
    assert (
        problem_type("PUBLICITY_NOT_ENDED") == "https://ruralfund.dev/problems/publicity-not-ended"
    )


def test_domain_error_becomes_problem_json(client: TestClient) -> None:
    response = client.post("/claims/c-1/pay")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == "https://ruralfund.dev/problems/publicity-not-ended"
    assert body["title"] == "Publicity not ended"
    assert body["status"] == 409
    assert body["detail"] == "publicity of this award ends on 2024-05-13"
    assert body["code"] == "PUBLICITY_NOT_ENDED"
    assert body["field"] == "claim_id"
    assert body["details"] == {"publicity_ends": "2024-05-13", "claim_id": "c-1"}
    assert body["title_zh"] == "冲突"
    assert body["request_id"] == response.headers["x-request-id"]


def test_not_found_domain_error_omits_empty_members(client: TestClient) -> None:
    response = client.get("/enterprises/91530427MA6N0000X1")
    body = response.json()
    assert response.status_code == 404
    assert body["code"] == "ENTERPRISE_NOT_FOUND"
    assert "field" not in body and "details" not in body


def test_custom_status_on_domain_error_is_honoured() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/x")
    async def x() -> None:
        raise DomainError("CALENDAR_NOT_LOADED", "no calendar for 2031", status=503)

    assert TestClient(app).get("/x").status_code == 503


def test_validation_error_names_the_nested_field(client: TestClient) -> None:
    claim = {"credit_code": "91530427MA6N0000X1", "evidence": {"units": 0}}
    response = client.post("/claims", json=claim)
    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert body["code"] == "INVALID_INPUT"
    assert body["type"] == "https://ruralfund.dev/problems/invalid-input"
    assert body["field"] == "evidence.units"
    assert body["detail"].startswith("evidence.units: ")
    assert body["errors"][0]["location"] == "body"


def test_validation_error_lists_every_bad_field(client: TestClient) -> None:
    claim = {"credit_code": "short", "evidence": {"units": -1, "photo_urls": [3]}}
    body = client.post("/claims", json=claim).json()
    fields = [e["field"] for e in body["errors"]]
    assert sorted(fields) == ["credit_code", "evidence.photo_urls[0]", "evidence.units"]
    assert body["field"] == fields[0]
    assert "and " in body["detail"]  # "(and N more)"
    assert all("input" not in e for e in body["errors"])  # submitted values are not echoed


def test_malformed_json_is_invalid_input_without_a_field(client: TestClient) -> None:
    response = client.post(
        "/claims", content=b'{"evidence": ', headers={"content-type": "application/json"}
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "INVALID_INPUT")
    assert "field" not in body


def test_query_validation_names_the_parameter(client: TestClient) -> None:
    body = client.get("/page", params={"limit": 201}).json()
    assert (body["field"], body["errors"][0]["location"]) == ("limit", "query")


def test_http_exception_becomes_problem_json(client: TestClient) -> None:
    response = client.get("/teapot")
    body = response.json()
    assert response.status_code == 418
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert (body["code"], body["detail"]) == ("IM_A_TEAPOT", "short and stout")


def test_unknown_route_and_method_are_problems_too(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    wrong_method = client.get("/claims")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
    assert wrong_method.headers["allow"] == "POST"


def test_unexpected_exception_is_500_without_details(client: TestClient) -> None:
    response = client.get("/boom", headers={"X-Request-Id": "req-42"})
    body = response.json()
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert body["code"] == "INTERNAL"
    assert body["request_id"] == "req-42"
    assert response.headers["x-request-id"] == "req-42"
    text = response.text
    for leak in ("hunter2", "db.internal", "RuntimeError", "Traceback"):
        assert leak not in text


def test_request_id_is_taken_returned_and_bound(client: TestClient) -> None:
    response = client.get("/rid", headers={"X-Request-Id": "county-portal:abc-123"})
    assert response.headers["x-request-id"] == "county-portal:abc-123"
    assert response.json() == {"state": "county-portal:abc-123", "log": "county-portal:abc-123"}


def test_request_id_is_made_when_absent_or_unsafe(client: TestClient) -> None:
    made = client.get("/rid").headers["x-request-id"]
    assert len(made) == 36  # a UUID
    unsafe = client.get("/rid", headers={"X-Request-Id": "x\tinjected=1"}).headers["x-request-id"]
    assert unsafe != "x\tinjected=1" and len(unsafe) == 36
    too_long = client.get("/rid", headers={"X-Request-Id": "a" * 129}).headers["x-request-id"]
    assert len(too_long) == 36


def test_pages_follow_the_cursor(client: TestClient) -> None:
    first = client.get("/page", params={"limit": 3}).json()
    assert first["items"] == [0, 1, 2] and first["limit"] == 3
    second = client.get("/page", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert second["items"] == [3, 4, 5]
    last = client.get("/page", params={"limit": 3, "cursor": second["next_cursor"]}).json()
    assert (last["items"], last["next_cursor"]) == ([6], None)
    assert client.get("/page").json()["limit"] == 50


def test_mangled_cursor_is_invalid_cursor(client: TestClient) -> None:
    response = client.get("/page", params={"cursor": "%%%not-base64"})
    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (400, "INVALID_CURSOR", "cursor")
    assert decode_cursor(encode_cursor({"after": "2024-05-13"})) == {"after": "2024-05-13"}
    not_an_object = base64.urlsafe_b64encode(b"[1]").decode()
    with pytest.raises(DomainError) as caught:
        decode_cursor(not_an_object)
    assert caught.value.code == "INVALID_CURSOR"


class _Rejected(CursorPosition):
    at: AwareDatetime
    batch: CursorText
    index: CursorIndex


@pytest.mark.parametrize(
    "position",
    [
        {},
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b"},  # a field missing
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 1, "x": 1},  # one too many
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": "1"},  # a text, not a number
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 1.0},
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": True},
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 2**31},  # past an int4
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": -1},
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 10**300},
        {"at": "2026-03-02T10:00:00", "batch": "b", "index": 1},  # no time zone
        {"at": 1, "batch": "b", "index": 1},
        {"at": "2026-03-02T10:00:00+00:00", "batch": "b\x00", "index": 1},  # NUL
        {"at": "2026-03-02T10:00:00+00:00", "batch": ["b"], "index": 1},
    ],
)
def test_a_cursor_position_has_exactly_its_fields_and_types(position: dict[str, Any]) -> None:
    with pytest.raises(InvalidCursor) as refused:
        cursor_position(encode_cursor(position), _Rejected)
    assert (refused.value.status, refused.value.field) == (400, "cursor")
    good = {"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 7}
    read = cursor_position(encode_cursor(good), _Rejected)
    assert read is not None and (read.at.hour, read.batch, read.index) == (10, "b", 7)
    assert cursor_position(None, _Rejected) is None
    assert cursor_position(encode_cursor({"id": str(UUID(int=1))}), IdPosition) is not None


def test_json_deeper_than_the_limit_is_refused_naming_the_field() -> None:
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    assert check_json_depth(deep) is deep
    with pytest.raises(DocumentTooDeep) as refused:
        check_json_depth({"a": deep}, field="document")
    assert (refused.value.status, refused.value.field) == (400, "document")
    very_deep: Any = []
    for _ in range(100_000):  # iterative: no RecursionError of its own
        very_deep = [very_deep]
    with pytest.raises(DocumentTooDeep):
        check_json_depth(very_deep)


def test_a_json_body_nested_past_the_parser_is_400_naming_the_body(client: TestClient) -> None:
    response = client.post(
        "/claims", content=b"[" * 10_000 + b"]" * 10_000, headers={"Content-Type": "application/json"}
    )
    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (400, "DOCUMENT_TOO_DEEP", "body")
    assert response.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------- health


async def _ok() -> bool:
    return True


async def _down() -> bool:
    return False


async def _slow() -> bool:
    await asyncio.sleep(5)
    return True


async def _broken() -> bool:
    raise ConnectionError("connect to postgres.internal:5432 refused")


def _health_app(**checks: object) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(health_router(checks, timeout_seconds=0.2))  # type: ignore[arg-type]
    return TestClient(app)


def test_healthz_is_always_ok() -> None:
    response = _health_app(db=_down).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_ok_when_every_check_passes() -> None:
    response = _health_app(nats=_ok, postgres=_ok).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"nats": "ok", "postgres": "ok"}}


def test_readyz_503_names_failed_timed_out_and_broken_checks() -> None:
    response = _health_app(nats=_ok, postgres=_down, smtp=_slow, bank=_broken).get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"] == {
        "nats": "ok",
        "postgres": "failed",
        "smtp": "timeout",
        "bank": "error",
    }
    assert sorted(body["failed"]) == ["bank", "postgres", "smtp"]
    assert "postgres.internal" not in response.text


def test_health_routes_are_public_in_openapi() -> None:
    app = _health_app(nats=_ok).app
    assert "security" not in app.openapi()["paths"]["/readyz"]["get"]  # type: ignore[attr-defined]
    assert unguarded_routes(app) == []  # type: ignore[arg-type] — declared public, not forgotten


@pytest.mark.parametrize("raised", [
    "connection lost", "starting up", "connection refused", "no pooled connection", "protocol state",
])
def test_an_unavailable_database_is_a_503_to_retry_not_a_500(raised: str) -> None:
    import asyncpg

    errors = {
        "connection lost": asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        "starting up": asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        "connection refused": ConnectionRefusedError(111, "Connect call failed"),
        "no pooled connection": TimeoutError(),
        "protocol state": asyncpg.exceptions.InternalClientError("cannot switch to state 15"),
    }
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create() -> None:
        raise errors[raised]

    r = TestClient(app, raise_server_exceptions=False).post("/things")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2"
    assert r.json()["code"] == "DATABASE_UNAVAILABLE"


# --------------------------------------------------------------------------- Chinese for people (#17)

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _chinese_problem(body: dict[str, Any]) -> None:
    assert body.get("title_zh") and body["title_zh"] not in GENERIC_TITLES_ZH, body
    assert _CJK.search(body.get("detail_zh") or ""), body


def test_validation_errors_say_in_chinese_which_field_and_what_is_wrong(client: TestClient) -> None:
    missing = client.post("/claims", json={"evidence": {"units": 1}}).json()
    _chinese_problem(missing)
    assert missing["detail_zh"] == "缺少必填项“credit_code”，请求未被执行。"
    too_many = client.post("/claims", json={"credit_code": "x" * 19, "evidence": {"units": 0}}).json()
    assert too_many["detail_zh"].startswith("“credit_code”最多 18 个字符（另有 1 处问题")
    assert [e["message_zh"] for e in too_many["errors"]][1] == "“evidence.units”须大于 0"
    unreadable = client.post("/claims", content=b"{", headers={"content-type": "application/json"}).json()
    _chinese_problem(unreadable)


def test_unknown_route_and_method_are_named_in_chinese(client: TestClient) -> None:
    nowhere = client.get("/no-such-place").json()
    _chinese_problem(nowhere)
    assert "/no-such-place" in nowhere["detail_zh"]
    wrong_method = client.delete("/claims").json()
    _chinese_problem(wrong_method)
    assert "DELETE" in wrong_method["detail_zh"] and "POST" in wrong_method["detail_zh"]
    boom = client.get("/boom")
    _chinese_problem(boom.json())
    assert boom.headers["x-request-id"] in boom.json()["detail_zh"]


def test_a_services_own_titles_are_used_when_the_refusal_gives_none() -> None:
    app = _app()
    install_problem_handlers(app, {"PUBLICITY_NOT_ENDED": "公示期尚未结束"})
    body = TestClient(app).post("/claims/c-1/pay").json()
    assert body["title_zh"] == "公示期尚未结束"
