"""Refusals as a county clerk or an enterprise meets them, on the wire: each one names itself
in Chinese (title_zh, never the generic by-status "冲突"/"输入有误") and says why in Chinese
with the figures (detail_zh) — issue 17. A representative set per service: the generic ones
(unknown address, wrong method, no token, wrong role, auditor writing, bad input, unknown
query parameter) and the service's own rules, the three 409s the issue complained of among
them. tests/test_refusals_chinese.py checks every raise site in the source."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def _each(served: Any, hostile: Any, cases: list[tuple[str, Any, str, str, dict[str, Any]]]) -> None:
    """(expected code, who, method, path, request kwargs): each refused with that code, in Chinese."""
    seen = []
    for code, who, method, path, kwargs in cases:
        r = await served.call(method, path, who, **kwargs)
        assert r.status_code >= 400, f"{method} {path} was accepted: {r.text[:300]}"
        body = hostile.assert_chinese(r)
        assert body["code"] == code, f"{method} {path}: {body}"
        seen.append((code, body["title_zh"], body["detail_zh"]))
    print("\n".join(f"{c}: {t} — {d}" for c, t, d in seen))  # for whoever reads the log


def _generic(hostile: Any, write_path: str, body: dict[str, Any]) -> list[tuple[str, Any, str, str, dict[str, Any]]]:
    people = hostile.PEOPLE
    return [
        ("NOT_FOUND", hostile.ADMIN, "GET", "/no-such-page", {}),
        ("METHOD_NOT_ALLOWED", hostile.ADMIN, "PUT", "/healthz", {}),
        ("AUTH_MISSING", None, "POST", write_path, {"json": body}),
        ("AUTH_INVALID", None, "POST", write_path, {"json": body, "headers": {"Authorization": "Bearer x.y.z"}}),
        ("READ_ONLY", people["auditor"], "POST", write_path, {"json": body}),
        ("INVALID_INPUT", hostile.ADMIN, "POST", write_path, {"json": {"no_such_field": 1}}),
        ("INVALID_INPUT", hostile.ADMIN, "POST", write_path,
         {"content": b"{", "headers": {"Content-Type": "application/json"}}),
        ("UNKNOWN_QUERY_PARAMETER", hostile.ADMIN, "GET", "/healthz", {"params": {"verbose": "1"}}),
    ]  # fmt: skip


async def test_claims_refusals_are_chinese(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    people, admin = hostile.PEOPLE, hostile.ADMIN
    claim = {"program_code": "xinping-2021", "item_code": "brand-packaging",
             "evidence": {"quarter": "2023Q3", "units": 12_345}}  # fmt: skip
    yaml = (hostile.PROGRAMS / "xinping-2021.yaml").read_bytes()
    await _each(claims, hostile, [
        *_generic(hostile, "/enterprises", hostile.enterprise_body(hostile.CONTRACTOR, "新平县某公司")),
        ("ROLE_REQUIRED", people["enterprise"], "POST", "/programs",
         {"content": yaml, "headers": {"Content-Type": "application/yaml"}}),
        ("PROGRAM_EXISTS", admin, "POST", "/programs", {"content": yaml, "headers": {"Content-Type": "application/yaml"}}),
        ("UNSUPPORTED_MEDIA_TYPE", admin, "POST", "/programs", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        ("ENTERPRISE_EXISTS", admin, "POST", "/enterprises", {"json": hostile.enterprise_body()}),
        ("DUPLICATE_CLAIM", people["enterprise"], "POST", "/claims", {"json": claim}),
        ("EVIDENCE_INVALID", people["enterprise"], "POST", "/claims",
         {"json": {**claim, "evidence": {"quarter": "2023Q5", "units": -1}}}),
        ("CLAIM_NOT_FOUND", admin, "GET", "/claims/no-such-claim", {}),
        ("ENTERPRISE_NOT_FOUND", admin, "GET", f"/enterprises/{hostile.CONTRACTOR}", {}),
        ("PROGRAM_NOT_FOUND", admin, "GET", "/programs/no-such-program", {}),
    ])  # fmt: skip
