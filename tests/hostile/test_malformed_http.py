"""Malformed HTTP at each service's edge: broken, deeply nested, huge-number and non-UTF-8
JSON, wrong media types and methods, unknown paths, mangled paging and tokens. Every answer
is a 4xx problem+json (never a 5xx), and a write refused this way stores nothing."""

from __future__ import annotations

from typing import Any, Final

import pytest
from ruralfund_common.bootstrap import DEFAULT_MAX_BODY_BYTES
from ruralfund_common.testing.services import bearer

pytestmark = pytest.mark.integration

# A write endpoint each (refused bodies must not reach its table) and a paged read.
WRITES: Final = {
    "claims": ("/enterprises", "enterprises"),
    "funds": ("/programs/xinping-2021/releases", "releases"),
    "logistics": ("/stations", "stations"),
    "notify": ("/webhooks/subscriptions", "webhook_subscriptions"),
}
PAGED_READS: Final = {
    "claims": "/claims",
    "funds": None,
    "logistics": "/network/stations",
    "notify": "/notices",
}
JSON: Final = {"Content-Type": "application/json"}
BROKEN_BODIES: Final = (
    b"[" * 100_000 + b"]" * 100_000,  # nesting far past any parser's recursion limit
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"\xff\xfe\x00",  # not UTF-8
    b'{"name": "\\ud800"}',  # a lone surrogate
    b'{"amount_yuan": 1e999999}',
    b'{"amount_yuan": ' + b"9" * 5_000 + b"}",
    b"{",
    b"",
    b"null",
    b'"just a string"',
    b"[]",
)


@pytest.mark.parametrize("service", list(WRITES))
async def test_malformed_requests_are_problems_and_change_nothing(
    serve: Any, hostile: Any, service: str
) -> None:
    served = await serve(service, seed=False)
    path, table = WRITES[service]
    admin = bearer(hostile.ADMIN)
    finance = bearer(hostile.PEOPLE["finance_bureau"])
    who = finance if service == "funds" else admin
    before = await served.sql(f"SELECT count(*) FROM {table}")
    answers: list[tuple[str, Any]] = []
    for body in BROKEN_BODIES:
        r = await served.http.post(path, content=body, headers={**who, **JSON})
        answers.append((f"POST {path} {body[:20]!r}", r))
    requests = [
        ("POST", path, {"content": b"{}", "headers": {**who, "Content-Type": "text/plain"}}),
        ("POST", path, {"content": b"a=1", "headers": {**who, "Content-Type": "application/x-www-form-urlencoded"}}),
        ("PUT", path, {"json": {}, "headers": who}),
        ("DELETE", path, {"headers": who}),
        ("GET", "/no/such/path", {}),
        ("GET", "/%ff%fe", {}),
        ("POST", path, {"json": {}, "headers": {"Authorization": "Bearer " + "a" * 9_000}}),
        ("POST", path, {"json": {}, "headers": {"Authorization": "Bearer x.y.z"}}),
        ("POST", path, {"json": {}, "headers": {"Authorization": "Basic YTpi"}}),
        ("POST", path, {"json": {}, "headers": {"Authorization": "Bearer"}}),
    ]  # fmt: skip
    if PAGED_READS[service]:
        read = PAGED_READS[service]
        for params in ({"limit": "99999999999999999999"}, {"limit": "-1"}, {"cursor": "%%%"},
                       {"cursor": "e30"}, {"cursor": "x" * 600}, {"limit": "1.5"}):  # fmt: skip
            requests.append(("GET", read, {"params": params, "headers": admin}))
    for method, url, kwargs in requests:
        answers.append((f"{method} {url} {kwargs.get('params', '')}", await served.http.request(method, url, **kwargs)))  # fmt: skip
    broken = {
        what: hostile.problem_violation(r.status_code, r.headers, r.content)
        or (None if 400 <= r.status_code < 500 else f"answered {r.status_code}")
        for what, r in answers
    }
    assert {k: v for k, v in broken.items() if v} == {}
    assert await served.sql(f"SELECT count(*) FROM {table}") == before


@pytest.mark.parametrize("service", list(WRITES))
async def test_a_body_past_the_limit_is_413_and_changes_nothing(serve: Any, hostile: Any, service: str) -> None:
    """Without a limit FastAPI buffers any body a client sends: every service refuses one past
    ``DEFAULT_MAX_BODY_BYTES`` (claims: its evidence file size) as 413 problem+json, whether it
    declares its length or streams it."""
    served = await serve(service, seed=False)
    path, table = WRITES[service]
    who = bearer(hostile.PEOPLE["finance_bureau"] if service == "funds" else hostile.ADMIN)
    limit = served.http.app.state.max_body_bytes  # type: ignore[attr-defined]
    assert limit >= DEFAULT_MAX_BODY_BYTES
    body = b'{"name": "' + b"x" * limit + b'"}'
    before = await served.sql(f"SELECT count(*) FROM {table}")

    async def streamed() -> Any:
        for start in range(0, len(body), 1 << 20):
            yield body[start:start + (1 << 20)]

    for content in (body, streamed()):
        r = await served.http.post(path, content=content, headers={**who, **JSON})
        assert r.status_code == 413, (r.status_code, r.text[:300])
        assert hostile.problem_violation(r.status_code, r.headers, r.content) is None, r.text[:300]
    assert await served.sql(f"SELECT count(*) FROM {table}") == before
    r = await served.http.post(path, json={}, headers=who)  # still answering, normally
    assert 400 <= r.status_code < 500 and r.status_code != 413, r.text
