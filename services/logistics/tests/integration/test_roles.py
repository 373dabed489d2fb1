"""Who may call which endpoint. Allowed callers must get past the gate (any answer but 401/403);
refused ones get the exact 401/403 code. One table, one comparison, so a failure shows every
cell that differs."""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import Principal, Role, unguarded_routes
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration

CALLERS: dict[str, Principal | None] = {
    "anonymous": None,
    "bureau_admin": person("Matrix Bureau", Role.BUREAU_ADMIN),
    "system": person("Matrix System", Role.SYSTEM),
    "auditor": person("Matrix Auditor", Role.AUDITOR),
    "leading_group": person("Matrix Leader", Role.LEADING_GROUP),
    "finance_bureau": person("Matrix Finance", Role.FINANCE_BUREAU),
    "contractor_signatory": person("Matrix Signatory", Role.CONTRACTOR_SIGNATORY),
    "own_operator": person("Matrix Operator", Role.ENTERPRISE, credit_code="91530427MA6K7QXR3Y"),
    "other_enterprise": person("Matrix Other", Role.ENTERPRISE, credit_code="91530427MA6N0B1X2L"),
}
OK = "ok"  # past the gate: whatever the use case then answers
ANON = "401 AUTH_MISSING"
ROLE = "403 ROLE_REQUIRED"
RO = "403 READ_ONLY"
NOT_OWN = "403 NOT_STATION_OPERATOR"

# caller -> outcome, per endpoint
ADMIN_WRITE = {
    "anonymous": ANON,
    "bureau_admin": OK,
    "system": OK,
    "auditor": RO,
    "leading_group": ROLE,
    "finance_bureau": ROLE,
    "contractor_signatory": ROLE,
    "own_operator": ROLE,
    "other_enterprise": ROLE,
}
VOLUME_WRITE = ADMIN_WRITE | {"own_operator": OK, "other_enterprise": NOT_OWN}
STAFF_READ = {
    "anonymous": ANON,
    "bureau_admin": OK,
    "system": OK,
    "auditor": OK,
    "leading_group": OK,
    "finance_bureau": OK,
    "contractor_signatory": ROLE,
    "own_operator": ROLE,
    "other_enterprise": ROLE,
}
STATION_READ = STAFF_READ | {"own_operator": OK, "other_enterprise": NOT_OWN}
PUBLIC = dict.fromkeys(CALLERS, OK)
# enterprises pass the gate; the use case then admits only the carrier itself (NOT_THE_CARRIER)
PRICE_WRITE = ADMIN_WRITE | {"own_operator": OK, "other_enterprise": OK}


def outcome(status: int, body: dict[str, Any]) -> str:
    return f"{status} {body.get('code')}" if status in (401, 403) else OK


async def test_every_route_declares_its_auth(logistics) -> None:  # type: ignore[no-untyped-def]
    assert unguarded_routes(logistics.http.app) == []


async def test_role_matrix(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, _town, village = await lx.tree()
    c, v = f"/stations/{center['id']}", f"/stations/{village['id']}"
    # write bodies the use case would refuse on its own (unknown ids, duplicates): the gate is under test
    zero = "00000000-0000-7000-8000-000000000000"
    endpoints: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("POST", "/stations", lx.center_body(), ADMIN_WRITE),
        ("GET", v, None, STATION_READ),
        (
            "POST",
            f"/stations/{zero}/close",
            {"closed_on": "2021-12-31", "reason": "x"},
            ADMIN_WRITE,
        ),
        (
            "POST",
            f"{v}/volumes",
            {"year": 2021, "month": 7, "volume": "1.00", "parcels": 1},
            VOLUME_WRITE,
        ),
        ("GET", f"{v}/volumes", None, STATION_READ),
        (
            "POST",
            f"{c}/carriers",
            {"kind": "express", "name": "中国邮政", "settled_on": "2021-06-01"},
            ADMIN_WRITE,
        ),
        ("POST", f"{c}/carriers/{zero}/leave", {"left_on": "2021-12-31"}, ADMIN_WRITE),
        (
            "POST",
            f"{c}/retail-partnerships",
            {"partner_name": "新平百货", "started_on": "2021-07-01"},
            ADMIN_WRITE,
        ),
        ("POST", f"{c}/retail-partnerships/{zero}/end", {"ended_on": "2021-12-31"}, ADMIN_WRITE),
        ("GET", "/network/stations", None, PUBLIC),
        ("GET", f"/network/coverage?county_code={lx.XINPING}", None, STAFF_READ),
        (
            "POST",
            "/scans",
            {
                "scans": [
                    {
                        "scan_id": "x",
                        "parcel_id": "p",
                        "station_id": zero,
                        "kind": "delivered",
                        "scanned_at": "2021-07-03T08:00:00Z",
                    }
                ]
            },
            ADMIN_WRITE,
        ),
        ("GET", "/parcels/SF1", None, STAFF_READ),
        ("GET", "/scans/rejected", None, STAFF_READ),
        ("POST", "/admin/sla/sweep", {}, ADMIN_WRITE),
        ("GET", f"/sla/on-time?county_code={lx.XINPING}", None, STAFF_READ),
        (
            "POST",
            f"{c}/carriers/{zero}/prices",
            {
                "effective_from": "2022-01-10",
                "bands": [{"up_to_g": 1000, "min_price": "3.00", "max_price": "4.00"}],
            },
            PRICE_WRITE,
        ),
        ("GET", f"/prices?county_code={lx.XINPING}", None, PUBLIC),
        ("GET", f"/prices/history?county_code={lx.XINPING}", None, PUBLIC),
        ("GET", f"/prices/target?county_code={lx.XINPING}", None, PUBLIC),
        (
            "POST",
            "/prices/baseline",
            {
                "county_code": lx.XINPING,
                "target": "xinping-2021",
                "reference_weight_g": 3000,
                "price": "8.00",
                "measured": "2020",
            },
            ADMIN_WRITE,
        ),
        (
            "POST",
            f"{c}/certified-enterprises",
            {"credit_code": "91530427MA6N0B1X2L", "name": "x", "certified_on": "2021-09-01"},
            ADMIN_WRITE,
        ),
        (
            "POST",
            f"{c}/certified-enterprises/{zero}/revoke",
            {"revoked_on": "2021-12-31", "reason": "x"},
            ADMIN_WRITE,
        ),
    ]
    expected: dict[str, str] = {}
    actual: dict[str, str] = {}
    for method, path, body, rule in endpoints:
        for caller, who in CALLERS.items():
            cell = f"{method} {path.replace(center['id'], '{center}').replace(village['id'], '{village}')} as {caller}"
            r = await (lx.post(who, path, body) if method == "POST" else lx.get(who, path))
            expected[cell], actual[cell] = rule[caller], outcome(r.status_code, r.json())
    wrong = {
        cell: f"expected {expected[cell]}, got {got}"
        for cell, got in actual.items()
        if got != expected[cell]
    }
    assert wrong == {}
    assert "ok" in actual.values() and ROLE in actual.values()
