"""Crafted pagination cursors and deeply nested documents: a 400 problem+json naming the field
(``cursor``, ``body``), never a 500. Every list endpoint with a cursor is found in the
service's OpenAPI, so a new one is covered without being listed here."""

from __future__ import annotations

import base64
import json
from typing import Any, Final

import pytest

pytestmark = pytest.mark.integration


def _cursor(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


CRAFTED_CURSORS: Final = (
    "%%%",  # not base64
    "!!!!",
    _cursor(b"\xff\xfe\x00garbage"),  # base64 of bytes that are not JSON
    _cursor("[]"),  # JSON, but not an object
    _cursor('"after"'),
    _cursor("{}"),  # an object without the position
    _cursor('{"after": 1, "id": 1, "p": 1, "at": 1, "batch": 1, "index": 1}'),  # wrong types
    _cursor('{"after": null, "id": null}'),
    _cursor('{"after": ["x"], "id": {"$gt": ""}}'),
    _cursor('{"after": "x\\u0000y", "id": "x\\u0000y"}'),  # NUL: PostgreSQL cannot compare it
    _cursor('{"after": 1e999, "id": 1e999, "index": 1e999}'),  # infinity
    _cursor('{"id": "' + "9" * 150 + '", "after": ' + "9" * 150 + "}"),  # huge numbers
    _cursor('{"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 1e400}'),
    _cursor('{"at": "2026-03-02T10:00:00+00:00", "batch": "b", "index": 99999999999999999999}'),
    _cursor('{"at": "2026-03-02T10:00:00", "batch": "b", "index": -1}'),  # naive, negative
    _cursor('{"p": "not a time", "id": "01a24d00-0000-7000-8000-000000000000"}'),
    _cursor('{"p": "9999-12-31T23:59:59+14:00", "id": "not-a-uuid"}'),
    _cursor("[" * 190 + "]" * 190),  # nested, as deep as a cursor's length allows
    _cursor('{"after": "a", "extra": "b"}'),  # a key no list writes
)
# Path parameters of list endpoints, where the seed data does not name them.
PATH_VALUES: Final = {"code": "xinping-2021", "program_code": "xinping-2021"}


def _cursor_lists(served: Any) -> list[str]:
    """Every GET path of the service that takes a ``cursor`` query parameter."""
    paths = []
    for path, operations in served.app.openapi()["paths"].items():
        get = operations.get("get") or {}
        names = {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"}
        if "cursor" in names:
            paths.append(path)
    return sorted(paths)


def _fill(path: str, served: Any) -> str:
    for name, value in {**PATH_VALUES, **served.ids}.items():
        path = path.replace("{" + name + "}", str(value))
    return path


@pytest.mark.parametrize("service", ["claims", "logistics", "notify"])
async def test_crafted_cursors_are_400_naming_the_cursor(
    serve: Any, hostile: Any, service: str
) -> None:
    served = await serve(service)
    lists = _cursor_lists(served)
    assert lists, f"{service} has no list with a cursor"
    checked: list[str] = []
    failures: dict[str, str] = {}
    for template in lists:
        path = _fill(template, served)
        plain = await served.call("GET", path)
        if plain.status_code != 200:  # e.g. a path id the seed data has no value for
            continue
        checked.append(template)
        for cursor in CRAFTED_CURSORS:
            r = await served.call("GET", path, params={"cursor": cursor, "limit": 1})
            violation = hostile.problem_violation(r.status_code, r.headers, r.content)
            body = r.json() if violation is None else {}
            if violation or (r.status_code, body.get("code"), body.get("field")) != (
                400, "INVALID_CURSOR", "cursor",
            ):  # fmt: skip
                failures[f"{template} {cursor[:40]}"] = violation or f"{r.status_code} {r.text[:200]}"
    assert failures == {}
    assert len(checked) >= {"claims": 3, "logistics": 2, "notify": 4}[service], (lists, checked)


async def test_a_cursor_the_list_handed_out_still_works(serve: Any) -> None:
    served = await serve("logistics")
    added = await served.call("POST", "/stations", json=_village(served))
    assert added.status_code == 201, added.text
    first = (await served.call("GET", "/network/stations", params={"limit": 1})).json()
    assert first["next_cursor"]
    rest = await served.call("GET", "/network/stations", params={"cursor": first["next_cursor"]})
    assert rest.status_code == 200 and rest.json()["items"], rest.text


def _village(served: Any) -> dict[str, Any]:
    return {
        "county_code": "530427",
        "tier": "town",
        "name": "戛洒镇服务站",
        "address": "新平县戛洒镇",
        "opened_on": "2021-05-01",
        "parent_id": served.ids["station_id"],
    }


NESTED_JSON: Final = b"[" * 10_000 + b"]" * 10_000
NESTED_OBJECTS: Final = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
# Under the parsers' recursion limits but past any document of ours.
DEEP_BUT_PARSEABLE: Final = b'{"format": ' + b"[" * 200 + b"]" * 200 + b"}"
WRITES: Final = {
    "claims": "/enterprises",
    "funds": "/programs/xinping-2021/releases",
    "logistics": "/stations",
    "notify": "/webhooks/subscriptions",
}


@pytest.mark.parametrize("service", list(WRITES))
async def test_deeply_nested_json_bodies_are_400_naming_the_body(
    serve: Any, hostile: Any, service: str
) -> None:
    served = await serve(service, seed=False)
    who = hostile.PEOPLE["finance_bureau"] if service == "funds" else hostile.ADMIN
    for body in (NESTED_JSON, NESTED_OBJECTS):
        r = await served.call(
            "POST", WRITES[service], who, content=body, headers={"Content-Type": "application/json"}
        )
        refused = hostile.assert_refused(r, "body")
        assert (r.status_code, refused["code"]) == (400, "DOCUMENT_TOO_DEEP"), r.text


async def test_program_documents_nested_or_with_aliases_are_refused_naming_the_body(
    serve: Any, hostile: Any
) -> None:
    """The program upload parses JSON and YAML itself: 10,000 nested arrays in either, or a
    document deeper than any program, are 400; YAML aliases ("billion laughs") are refused
    before anything expands. Nothing is stored."""
    served = await serve("claims", seed=False)
    yaml_type = {"Content-Type": "application/yaml"}
    json_type = {"Content-Type": "application/json"}
    deep = [
        (NESTED_JSON, json_type),
        (NESTED_OBJECTS, json_type),
        (NESTED_JSON, yaml_type),  # YAML flow style is JSON's syntax
        (b"a: " + b"[" * 10_000 + b"]" * 10_000, yaml_type),
        (b"- " * 5_000 + b"x", yaml_type),  # block style, one dash per level
        (DEEP_BUT_PARSEABLE, json_type),
    ]
    for path in ("/programs", "/programs/check"):
        for body, headers in deep:
            r = await served.call("POST", path, content=body, headers=headers)
            refused = hostile.assert_refused(r, "body")
            assert (r.status_code, refused["code"]) == (400, "DOCUMENT_TOO_DEEP"), (body[:20], r.text)
    laughs = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    r = await served.call("POST", "/programs", content=laughs, headers=yaml_type)
    refused = hostile.assert_refused(r, "body")
    assert refused["code"] == "PROGRAM_DOCUMENT_INVALID" and "aliases" in refused["detail"]
    assert await served.sql("SELECT count(*) FROM programs") == 0


def test_the_crafted_cursors_are_what_they_claim() -> None:
    """Guards the table above: each decodes (or fails to) as its comment says."""
    assert json.loads(base64.urlsafe_b64decode(CRAFTED_CURSORS[3] + "==")) == []
    assert all(len(c) <= 512 for c in CRAFTED_CURSORS)  # within the parameter's own limit
