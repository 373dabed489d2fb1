"""Who may call which claims endpoint: the role x endpoint matrix, then what the use cases add
on top of the roles (an enterprise never reaches another's data, a linked leading group member
must recuse, only the contracted provider reports).

The matrix covers every route the app serves (a new endpoint without a row fails the first
test). Writes are sent with a body the endpoint refuses (422/415) so an allowed caller gets
past the gate and changes nothing; refused callers get the exact 401/403 code.
"""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import API_DOCS_PATHS, Principal, Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.routes import api_routes
from ruralfund_common.testing.services import bearer, person

pytestmark = pytest.mark.integration

LOCAL = with_check_character("91530427MA6K5XQ21")  # = conftest's LOCAL, owner of the claim
OTHER = with_check_character("92530427MA6T00012")  # = conftest's OTHER
PROVIDER = with_check_character("91530427MA6P00071")
CALLERS: dict[str, Principal | None] = {
    "anonymous": None,
    "bureau_admin": person("M Admin", Role.BUREAU_ADMIN),
    "leading_group": person("M Member", Role.LEADING_GROUP),
    "contractor_signatory": person("M Signatory", Role.CONTRACTOR_SIGNATORY),
    "finance_bureau": person("M Finance", Role.FINANCE_BUREAU),
    "auditor": person("M Auditor", Role.AUDITOR),
    "system": person("M System", Role.SYSTEM),
    "own_enterprise": person("M Local", Role.ENTERPRISE, credit_code=LOCAL),
    "other_enterprise": person("M Other", Role.ENTERPRISE, credit_code=OTHER),
    "provider": person("M Provider", Role.ENTERPRISE, credit_code=PROVIDER),
}
OK = "ok"  # past the gate and the ownership check: whatever the use case then answers
ANON, ROLE, RO = "401 AUTH_MISSING", "403 ROLE_REQUIRED", "403 READ_ONLY"
STAFF = (
    "bureau_admin",
    "leading_group",
    "contractor_signatory",
    "finance_bureau",
    "auditor",
    "system",
)
ENTERPRISES = ("own_enterprise", "other_enterprise", "provider")


def rule(allowed: tuple[str, ...], *, write: bool, **special: str) -> dict[str, str]:
    """Outcome per caller: allowed ones pass; a write refuses auditors as read-only."""
    out = {}
    for caller in CALLERS:
        if caller == "anonymous":
            out[caller] = ANON
        elif caller in allowed:
            out[caller] = OK
        elif caller == "auditor" and write:
            out[caller] = RO
        else:
            out[caller] = ROLE
    return out | special


EVERYONE = rule((*STAFF, *ENTERPRISES), write=False)
BUREAU_WRITE = rule(("bureau_admin",), write=True)
ENTERPRISE_WRITE = rule(ENTERPRISES, write=True)
OWN_CLAIM_READ = EVERYONE | {
    "other_enterprise": "404 CLAIM_NOT_FOUND",
    "provider": "404 CLAIM_NOT_FOUND",
}
BAD = {"__not_a_field__": 1}  # refused by every write endpoint's body model (extra="forbid")


def outcome(status: int, body: Any) -> str:
    if status in (401, 403, 404):
        return f"{status} {body.get('code') if isinstance(body, dict) else body}"
    return OK


def _routes(app: Any) -> set[str]:
    """ "METHOD /path" of every API route, through included routers (FastAPI >= 0.16x wraps
    them, so ``app.routes`` alone does not list them)."""

    common = {"/healthz", "/readyz", "/asyncapi.json", "/event-schemas/{subject}.json", "/metrics",
              "/.well-known/ruralfund/event-keys",
              "/admin/clock"} | API_DOCS_PATHS
    return {
        f"{m} {r.path}" for r in api_routes(app) for m in r.methods if r.path not in common
    }


def _declared_roles(app: Any) -> dict[str, frozenset[str] | None]:
    """The roles each route's auth dependency names (None: it declares none)."""

    def roles_of(dependant: Any) -> frozenset[str] | None:
        for sub in dependant.dependencies:
            if hasattr(sub.call, "required_roles"):
                return frozenset(sub.call.required_roles)
            found = roles_of(sub)
            if found is not None:
                return found
        return None

    out: dict[str, frozenset[str] | None] = {}
    for route in api_routes(app):
        for m in route.methods:
            out[f"{m} {route.path}"] = roles_of(route.dependant)
    return out


async def _world(claims) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Xinping, three enterprises, LOCAL's claim awaiting decision with a file, a contract."""
    await claims.load_xinping()
    await claims.register()
    await claims.register(OTHER, name="新平县戛洒镇快递服务站", kind="station_operator")
    await claims.register(PROVIDER, name="新平县主播培训有限公司", kind="service_provider")
    claim_id = (await claims.submit()).json()["id"]
    await claims.http.post(
        f"/claims/{claim_id}/review", json={"outcome": "complete"}, headers=claims.ADMIN
    )
    upload = await claims.http.post(
        f"/claims/{claim_id}/files", params={"filename": "a.pdf"}, content=b"%PDF-1.7\n%%EOF\n",
        headers={**claims.ENTERPRISE, "Content-Type": "application/pdf"},
    )  # fmt: skip
    assert upload.status_code == 201, upload.text
    contract = await claims.http.post(
        "/programs/xinping-2021/contracts",
        json={
            "item_code": "anchor-training",
            "contract_no": "M-1",
            "provider_credit_code": PROVIDER,
            "amount_yuan": "1.00",
            "signed_on": "2023-05-10",
            "ends_on": "2023-12-31",
        },
        headers=claims.ADMIN,
    )
    assert contract.status_code == 201, contract.text
    package = await claims.http.post(
        "/programs/xinping-2021/packages",
        json={"code": "p1", "name": "主播培训", "line_code": "brand-promotion",
              "item_codes": ["anchor-training"], "budget_yuan": "1.00",
              "method": "competitive_consultation", "winner_credit_code": PROVIDER,
              "awarded_on": "2023-05-01"},
        headers=claims.ADMIN,
    )  # fmt: skip
    assert package.status_code == 201, package.text
    contract_file = await claims.http.post(
        f"/contracts/{contract.json()['id']}/files", params={"filename": "c.pdf"},
        content=b"%PDF-1.7\n%%EOF\n",
        headers={**bearer(CALLERS["provider"]), "Content-Type": "application/pdf"},  # type: ignore[arg-type]
    )  # fmt: skip
    assert contract_file.status_code == 201, contract_file.text
    return {
        "claim": claim_id,
        "file": upload.json()["id"],
        "contract": contract.json()["id"],
        "contract_file": contract_file.json()["id"],
    }


def _endpoints(ids: dict[str, str]) -> list[tuple[str, str, Any, dict[str, str]]]:
    c, f, k, cf = ids["claim"], ids["file"], ids["contract"], ids["contract_file"]
    not_provider = {
        "own_enterprise": "404 CONTRACT_NOT_FOUND",
        "other_enterprise": "404 CONTRACT_NOT_FOUND",
    }
    return [
        ("POST", "/programs", "text", BUREAU_WRITE),
        ("POST", "/programs/check", "text", rule(("bureau_admin", "auditor"), write=False)),
        ("GET", "/programs", None, EVERYONE),
        ("GET", "/programs/xinping-2021", None, EVERYONE),
        ("GET", "/programs/xinping-2021/check", None, EVERYONE),
        ("GET", "/programs/xinping-2021/targets", None, EVERYONE),
        ("GET", "/programs/xinping-2021/items/sales-reward", None, EVERYONE),
        ("GET", "/programs/xinping-2021/milestones", None, EVERYONE),
        ("POST", "/programs/xinping-2021/milestones/m/acceptance", BAD, BUREAU_WRITE),
        ("POST", "/admin/milestones/check", None, rule(("bureau_admin", "system"), write=True)),
        ("POST", "/enterprises", BAD, rule(("bureau_admin", *ENTERPRISES), write=True)),
        ("GET", "/enterprises", None, EVERYONE),
        ("GET", f"/enterprises/{LOCAL}", None, EVERYONE | {"other_enterprise": "404 ENTERPRISE_NOT_FOUND", "provider": "404 ENTERPRISE_NOT_FOUND"}),
        ("PATCH", f"/enterprises/{LOCAL}", BAD, rule(("bureau_admin", *ENTERPRISES), write=True)),
        ("POST", "/claims", BAD, ENTERPRISE_WRITE),
        ("GET", "/claims", None, EVERYONE),
        ("GET", f"/claims/{c}", None, OWN_CLAIM_READ),
        ("POST", f"/claims/{c}/resubmit", BAD, ENTERPRISE_WRITE),
        ("POST", f"/claims/{c}/review", BAD, BUREAU_WRITE),
        ("POST", f"/claims/{c}/decision", BAD, rule(("leading_group",), write=True)),
        ("POST", f"/claims/{c}/withdraw", BAD, ENTERPRISE_WRITE),
        ("POST", f"/claims/{c}/files", "no-filename", rule(("bureau_admin", *ENTERPRISES), write=True)),
        ("GET", f"/claims/{c}/files", None, OWN_CLAIM_READ),
        ("GET", f"/claims/{c}/files/{f}", None, OWN_CLAIM_READ),
        ("POST", "/programs/xinping-2021/contracts", BAD, BUREAU_WRITE),
        ("GET", "/programs/xinping-2021/contracts", None, EVERYONE),
        ("GET", f"/contracts/{k}", None, EVERYONE | not_provider),
        ("POST", f"/contracts/{k}/deliverables/trainee-times/report", BAD, rule(("bureau_admin", *ENTERPRISES), write=True)),
        ("POST", f"/contracts/{k}/milestones/m/acceptance", BAD, BUREAU_WRITE),
        ("POST", f"/contracts/{k}/acceptance", BAD, rule(("bureau_admin", "leading_group"), write=True)),
        ("POST", f"/contracts/{k}/files", "no-filename", rule(("bureau_admin", *ENTERPRISES), write=True)),
        ("GET", f"/contracts/{k}/files", None, EVERYONE | not_provider),
        ("GET", f"/contracts/{k}/files/{cf}", None, EVERYONE | not_provider),
        ("POST", "/programs/xinping-2021/packages", BAD, BUREAU_WRITE),
        ("GET", "/programs/xinping-2021/packages", None, EVERYONE),
        ("GET", "/programs/xinping-2021/packages/p1", None, EVERYONE),
        ("GET", "/programs/xinping-2021/execution-report", None,
         rule(("bureau_admin", "leading_group", "contractor_signatory", "finance_bureau", "auditor"), write=False)),
    ]  # fmt: skip


async def _call(http, method: str, path: str, body: Any, who: Principal | None):  # type: ignore[no-untyped-def]
    headers = bearer(who) if who else {}
    if body == "text":  # a raw-document endpoint: a media type it refuses (415) after the gate
        return await http.request(
            method, path, content=b"x", headers={**headers, "Content-Type": "text/plain"}
        )
    if body == "no-filename":  # the upload without its filename query: 422 after the gate
        return await http.request(method, path, content=b"%PDF-", headers=headers)
    return await http.request(method, path, json=body, headers=headers)


async def test_the_matrix_names_every_route_and_every_route_declares_roles(claims) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(claims.http.app)
    listed = {
        f"{m} {p}"
        for m, p, _, _ in _endpoints(
            {"claim": "{claim_id}", "file": "{file_id}", "contract": "{contract_id}",
             "contract_file": "{file_id}"}
        )
    }
    normalised = {
        r.replace("xinping-2021", "{code}").replace(LOCAL, "{credit_code}")
        .replace("/m/acceptance", "/{milestone}/acceptance").replace("trainee-times", "{deliverable}")
        .replace("/packages/p1", "/packages/{package}").replace("/items/sales-reward", "/items/{item_code}")
        for r in listed
    }  # fmt: skip
    assert routes == normalised
    undeclared = [
        r for r, roles in _declared_roles(claims.http.app).items() if roles is None and r in routes
    ]
    assert undeclared == []


async def test_role_matrix(claims) -> None:  # type: ignore[no-untyped-def]
    ids = await _world(claims)
    expected, actual = {}, {}
    for method, path, body, outcomes in _endpoints(ids):
        for caller, who in CALLERS.items():
            cell = f"{method} {path} as {caller}"
            response = await _call(claims.http, method, path, body, who)
            expected[cell] = outcomes[caller]
            is_json = "json" in response.headers.get("content-type", "")
            actual[cell] = outcome(response.status_code, response.json() if is_json else {})
    wrong = {
        cell: f"expected {expected[cell]}, got {got}"
        for cell, got in actual.items()
        if got != expected[cell]
    }
    assert wrong == {}
    # nothing changed: the claim still awaits its decision, nothing new was stored
    assert await claims.status_of(ids["claim"]) == "awaiting_decision"
    assert await claims.sql("SELECT count(*) FROM claims") == 1
    assert await claims.sql("SELECT count(*) FROM enterprises") == 3


async def test_what_the_use_cases_add_to_the_roles(claims) -> None:  # type: ignore[no-untyped-def]
    ids = await _world(claims)
    c = ids["claim"]
    other = bearer(CALLERS["other_enterprise"])  # type: ignore[arg-type]
    for path, body in (
        (f"/claims/{c}/withdraw", {}),
        (f"/claims/{c}/resubmit", {"evidence": {"quarter": "2023Q3", "units": 20_000}}),
    ):
        refused = await claims.http.post(path, json=body, headers=other)
        assert (refused.status_code, refused.json()["code"]) == (404, "CLAIM_NOT_FOUND"), path
    upload = await claims.http.post(
        f"/claims/{c}/files",
        params={"filename": "b.pdf"},
        content=b"%PDF-1.4\n",
        headers={**other, "Content-Type": "application/pdf"},
    )
    assert upload.status_code == 404, upload.text
    patch = await claims.http.patch(f"/enterprises/{LOCAL}", json={"name": "冒名"}, headers=other)
    assert (patch.status_code, patch.json()["code"]) == (404, "ENTERPRISE_NOT_FOUND")
    assert (await claims.http.get("/claims", headers=other)).json()["items"] == []
    assert [
        e["credit_code"]
        for e in (await claims.http.get("/enterprises", headers=other)).json()["items"]
    ] == [OTHER]

    report = f"/contracts/{ids['contract']}/deliverables/trainee-times/report"
    not_provider = await claims.http.post(
        report, json={"actual_value": 100}, headers=claims.ENTERPRISE
    )
    assert (not_provider.status_code, not_provider.json()["code"]) == (404, "CONTRACT_NOT_FOUND")
    provider = await claims.http.post(
        report, json={"actual_value": 100}, headers=bearer(CALLERS["provider"])
    )  # type: ignore[arg-type]
    assert provider.status_code == 200

    recused = await claims.http.post(
        f"/claims/{c}/decision", json={"decision": "approve"}, headers=claims.LINKED_MEMBER
    )
    assert (recused.status_code, recused.json()["code"]) == (403, "RECUSAL_REQUIRED")
    assert await claims.status_of(c) == "awaiting_decision"
    decided = await claims.http.post(
        f"/claims/{c}/decision", json={"decision": "approve"}, headers=claims.MEMBER
    )
    assert decided.json()["status"] == "approved"
