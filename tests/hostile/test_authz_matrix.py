"""Authorization matrix: every role x every endpoint of every service.

``GATES`` is the expected gate of each route, written out as data: "public", or
"read:<roles>" / "write:<roles>" (a write also refuses a read-only auditor). The first test
derives the same table from each app's declared dependencies, so a changed, added or removed
route or role shows up as a diff here. The second sends every endpoint a request as nobody
and as a person of each single role and checks the gate's answer:

- nobody: 401 AUTH_MISSING (public routes: anything but 401/403);
- a role the route names: past the gate (no 401, no 403 ROLE_REQUIRED/READ_ONLY);
- an auditor on a write: 403 READ_ONLY; any other role not named: 403 ROLE_REQUIRED.

Writes carry a body the route refuses (an unknown field) and made-up ids, so a caller who
gets past the gate changes nothing. No answer may be a 5xx or a non-problem 4xx.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pytest
from ruralfund_common.auth import (
    API_DOCS_PATHS,
    Principal,
    Role,
    current_principal,
    public_endpoint,
)
from ruralfund_common.routes import api_routes
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration

ANY_ROLE: Final = (
    "read:auditor,bureau_admin,contractor_signatory,enterprise,finance_bureau,leading_group,system"
)
FUNDS_READERS: Final = "read:auditor,bureau_admin,contractor_signatory,finance_bureau,leading_group"

GATES: Final[dict[str, dict[str, str]]] = {
    "claims": {
        "GET /healthz": "public",
        "GET /readyz": "public",
        "GET /asyncapi.json": "public",
        "GET /event-schemas/{subject}.json": "public",
        "GET /.well-known/ruralfund/event-keys": "public",
        "GET /metrics": "public",
        "GET /admin/clock": ANY_ROLE,
        "POST /admin/clock": "write:bureau_admin,system",
        "POST /programs": "write:bureau_admin",
        "POST /programs/check": "read:auditor,bureau_admin",
        "GET /programs": ANY_ROLE,
        "GET /programs/{code}": ANY_ROLE,
        "GET /programs/{code}/check": ANY_ROLE,
        "GET /programs/{code}/targets": ANY_ROLE,
        "GET /programs/{code}/items/{item_code}": ANY_ROLE,
        "POST /enterprises": "write:bureau_admin,enterprise",  # an enterprise registers itself (its own code only)
        "PATCH /enterprises/{credit_code}": "write:bureau_admin,enterprise",
        "GET /enterprises/{credit_code}": ANY_ROLE,
        "GET /enterprises": ANY_ROLE,
        "POST /claims": "write:enterprise",
        "POST /claims/{claim_id}/resubmit": "write:enterprise",
        "POST /claims/{claim_id}/review": "write:bureau_admin",
        "POST /claims/{claim_id}/decision": "write:leading_group",
        "POST /claims/{claim_id}/withdraw": "write:enterprise",
        "GET /claims/{claim_id}": ANY_ROLE,
        "GET /claims": ANY_ROLE,
        "POST /programs/{code}/contracts": "write:bureau_admin",
        "GET /programs/{code}/contracts": ANY_ROLE,
        "GET /contracts/{contract_id}": ANY_ROLE,
        "POST /contracts/{contract_id}/deliverables/{deliverable}/report": "write:bureau_admin,enterprise",
        "POST /contracts/{contract_id}/milestones/{milestone}/acceptance": "write:bureau_admin",
        "POST /contracts/{contract_id}/acceptance": "write:bureau_admin,leading_group",
        "POST /programs/{code}/packages": "write:bureau_admin",
        "GET /programs/{code}/packages": ANY_ROLE,
        "GET /programs/{code}/packages/{package}": ANY_ROLE,
        "GET /programs/{code}/milestones": ANY_ROLE,
        "POST /programs/{code}/milestones/{milestone}/acceptance": "write:bureau_admin",
        "POST /admin/milestones/check": "write:bureau_admin,system",
        "POST /claims/{claim_id}/files": "write:bureau_admin,enterprise",
        "GET /claims/{claim_id}/files": ANY_ROLE,
        "GET /claims/{claim_id}/files/{file_id}": ANY_ROLE,
        "POST /contracts/{contract_id}/files": "write:bureau_admin,enterprise",
        "GET /contracts/{contract_id}/files": ANY_ROLE,
        "GET /contracts/{contract_id}/files/{file_id}": ANY_ROLE,
        "GET /programs/{code}/execution-report": FUNDS_READERS,
    },
    "funds": {
        "GET /healthz": "public",
        "GET /readyz": "public",
        "GET /asyncapi.json": "public",
        "GET /event-schemas/{subject}.json": "public",
        "GET /.well-known/ruralfund/event-keys": "public",
        "GET /metrics": "public",
        "GET /admin/clock": ANY_ROLE,
        "POST /admin/clock": "write:bureau_admin,system",
        "POST /programs/{program_code}/releases": "write:finance_bureau",
        "POST /payments": "write:bureau_admin,leading_group",
        "POST /payments/{payment_id}/approvals": "write:contractor_signatory,leading_group",
        "POST /payment-approvals": "write:contractor_signatory,leading_group",
        "POST /payments/{payment_id}/settlement": "write:contractor_signatory,system",
        "POST /payments/{payment_id}/failure": "write:contractor_signatory,system",
        "POST /programs/{program_code}/bank-statements": "write:contractor_signatory,finance_bureau,system",
        "PUT /awards/{award_id}/payee-bank": "write:bureau_admin",
        "POST /programs/{program_code}/adjustments": "write:leading_group",
        "POST /programs/{program_code}/preallocations": "write:leading_group",
        "POST /programs/{program_code}/defaults": "write:leading_group",
        "POST /programs/{program_code}/repayments": "write:finance_bureau,system",
        "POST /programs/{program_code}/history": "write:bureau_admin",
        "GET /programs/{program_code}/spending": FUNDS_READERS,
        "GET /payments": FUNDS_READERS,
        "GET /awards": FUNDS_READERS,
        "GET /payments/{payment_id}": FUNDS_READERS,
        "GET /awards/{award_id}": FUNDS_READERS,
        "GET /programs/{program_code}/balances": FUNDS_READERS,
        "GET /programs/{program_code}/releases": FUNDS_READERS,
        "GET /programs/{program_code}/trial-balance": FUNDS_READERS,
        "GET /programs/{program_code}/payees/{credit_code}/statement": "read:auditor,bureau_admin,contractor_signatory,enterprise,finance_bureau,leading_group",
        "GET /programs/{program_code}/adjustments": FUNDS_READERS,
        "GET /programs/{program_code}/reconciliation": FUNDS_READERS,
        "GET /programs/{program_code}/postings.csv": FUNDS_READERS,
        "GET /programs/{program_code}/journal": FUNDS_READERS,
        "POST /ledger/checkpoints": "read:auditor,bureau_admin",
        "GET /ledger/checkpoints/latest": "public",
        "GET /ledger/checkpoints/{tree_size}": "public",
        "GET /ledger/proofs/consistency": "public",
        "GET /ledger/proofs/inclusion": "public",
    },
    "logistics": {
        "GET /healthz": "public",
        "GET /readyz": "public",
        "GET /asyncapi.json": "public",
        "GET /event-schemas/{subject}.json": "public",
        "GET /.well-known/ruralfund/event-keys": "public",
        "GET /metrics": "public",
        "GET /admin/clock": ANY_ROLE,
        "POST /admin/clock": "write:bureau_admin,system",
        "POST /stations": "write:bureau_admin,system",
        "GET /stations/{station_id}": "read:auditor,bureau_admin,enterprise,finance_bureau,leading_group,system",
        "POST /stations/{station_id}/close": "write:bureau_admin,system",
        "GET /network/stations": "public",
        "POST /stations/{station_id}/volumes": "write:bureau_admin,enterprise,system",
        "GET /stations/{station_id}/volumes": "read:auditor,bureau_admin,enterprise,finance_bureau,leading_group,system",
        "POST /stations/{station_id}/carriers": "write:bureau_admin,system",
        "POST /stations/{station_id}/carriers/{carrier_id}/leave": "write:bureau_admin,system",
        "POST /stations/{station_id}/retail-partnerships": "write:bureau_admin,system",
        "POST /stations/{station_id}/retail-partnerships/{partnership_id}/end": "write:bureau_admin,system",
        "GET /network/coverage": "read:auditor,bureau_admin,finance_bureau,leading_group,system",
        "POST /scans": "write:bureau_admin,system",
        "GET /parcels/{parcel_id}": "read:auditor,bureau_admin,finance_bureau,leading_group,system",
        "GET /scans/rejected": "read:auditor,bureau_admin,finance_bureau,leading_group,system",
        "POST /admin/sla/sweep": "write:bureau_admin,system",
        "GET /sla/on-time": "read:auditor,bureau_admin,finance_bureau,leading_group,system",
        "POST /stations/{station_id}/carriers/{carrier_id}/prices": "write:bureau_admin,enterprise,system",
        "GET /prices": "public",
        "GET /prices/history": "public",
        "POST /prices/baseline": "write:bureau_admin,system",
        "GET /prices/target": "public",
        "POST /stations/{station_id}/certified-enterprises": "write:bureau_admin,system",
        "POST /stations/{station_id}/certified-enterprises/{enterprise_id}/revoke": "write:bureau_admin,system",
    },
    "notify": {
        "GET /healthz": "public",
        "GET /readyz": "public",
        "GET /asyncapi.json": "public",
        "GET /event-schemas/{subject}.json": "public",
        "GET /.well-known/ruralfund/event-keys": "public",
        "GET /metrics": "public",
        "GET /admin/clock": ANY_ROLE,
        "POST /admin/clock": "write:bureau_admin,system",
        "GET /publicity": "public",
        "GET /publicity/lookup": "public",
        "GET /publicity/notices.json": "public",
        "GET /publicity/feed.atom": "public",
        "GET /publicity/notices/{notice_id}": "public",
        "POST /publicity/notices/{notice_id}/objections": "public",
        "GET /open-data/paid-awards.csv": "public",
        "GET /open-data/paid-awards.json": "public",
        "GET /open-data/ledger-checkpoints.json": "public",
        "GET /open-data/ledger-checkpoints.csv": "public",
        "GET /notices": "read:auditor,bureau_admin,leading_group",
        "POST /notices/{notice_id}/publish": "write:bureau_admin",
        "GET /objections": "read:auditor,bureau_admin,leading_group",
        "GET /objections/{objection_id}": "read:auditor,bureau_admin,leading_group",
        "POST /objections/{objection_id}/resolve": "write:bureau_admin",
        "GET /webhooks/event-types": "read:auditor,bureau_admin",
        "POST /webhooks/subscriptions": "write:bureau_admin",
        "GET /webhooks/subscriptions": "read:auditor,bureau_admin",
        "GET /webhooks/subscriptions/{subscription_id}": "read:auditor,bureau_admin",
        "DELETE /webhooks/subscriptions/{subscription_id}": "write:bureau_admin",
        "GET /webhooks/subscriptions/{subscription_id}/deliveries": "read:auditor,bureau_admin",
        "GET /webhooks/deliveries/{delivery_id}": "read:auditor,bureau_admin",
        "POST /webhooks/deliveries/{delivery_id}/replay": "write:bureau_admin",
    },
}
# The API documentation pages (/docs, /redoc with bundled assets) are plain routes since #17's
# console work, as FastAPI's own were: outside this table (tests/test_offline_docs.py checks them).

CALLERS: Final[dict[str, Principal | None]] = {
    "nobody": None,
    **{
        role.value: person(
            f"Matrix {role.value}",
            role,
            credit_code="91530427MA6K5XQ219" if role is Role.ENTERPRISE else None,
        )
        for role in Role
    },
}
PAST_THE_GATE: Final = "past the gate"
BAD_BODY: Final = {"__not_a_field__": 1}
MADE_UP_ID: Final = "01a21300-0000-7000-8000-000000000000"  # a well-formed id of nothing


# ------------------------------------------------------------------------------ the gates


def _gate(dependant: Any) -> str | None:
    """The gate a route's dependencies declare (the first role check found, depth first)."""
    if dependant.call is public_endpoint:
        return "public"
    if hasattr(dependant.call, "required_roles"):
        roles = ",".join(sorted(dependant.call.required_roles)) or "*"
        return f"{'write' if dependant.call.write else 'read'}:{roles}"
    found = None
    for sub in dependant.dependencies:
        gate = _gate(sub)
        if gate not in (None, "any"):
            return gate
        found = found or gate
    return "any" if dependant.call is current_principal else found


def derived_gates(app: Any) -> dict[str, str]:
    return {
        f"{method} {route.path}": _gate(route.dependant)
        or ("public" if route.path in API_DOCS_PATHS else "UNGUARDED")
        for route in api_routes(app)
        for method in sorted(route.methods)
    }


def expected(gate: str, caller: str) -> str:
    if gate == "public":
        return PAST_THE_GATE
    if caller == "nobody":
        return "401 AUTH_MISSING"
    kind, _, roles = gate.partition(":")
    if kind == "write" and caller == Role.AUDITOR:
        return "403 READ_ONLY"
    if roles == "*" or caller in roles.split(","):
        return PAST_THE_GATE
    return "403 ROLE_REQUIRED"


def observed(status: int, body: Any) -> str:
    code = body.get("code") if isinstance(body, dict) else None
    if status == 401 or (status == 403 and code in ("ROLE_REQUIRED", "READ_ONLY")):
        return f"{status} {code}"
    return PAST_THE_GATE


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("service", list(GATES))
async def test_the_gates_table_is_what_the_routes_declare(serve: Any, service: str) -> None:
    app = (await serve(service, seed=False)).app
    assert derived_gates(app) == GATES[service]


@pytest.mark.parametrize("service", list(GATES))
async def test_every_role_at_every_endpoint(serve: Any, hostile: Any, service: str) -> None:
    served = await serve(service, seed=False)
    wrong: dict[str, str] = {}
    broken: dict[str, str] = {}
    for route, gate in GATES[service].items():
        method, path = route.split(" ", 1)
        path = _made_up_ids(path)
        for caller, who in CALLERS.items():
            body = BAD_BODY if method in ("POST", "PUT", "PATCH") else None
            r = await served.call(method, path, who, json=body)
            cell = f"{route} as {caller}"
            problem = hostile.problem_violation(r.status_code, r.headers, r.content)
            if problem:
                broken[cell] = problem
            is_json = "json" in r.headers.get("content-type", "")
            got = observed(r.status_code, r.json() if is_json else None)
            if got != expected(gate, caller):
                wrong[cell] = f"expected {expected(gate, caller)}, got {r.status_code} {got}"
    assert wrong == {}
    assert broken == {}


def _made_up_ids(path: str) -> str:
    return re.sub(r"{[^}]+}", MADE_UP_ID, path)
