"""The authorization matrix, continued: conflict of interest (回避) at every decision endpoint.

Every write route of every service is either a decision about an enterprise
(``DECISIONS``: a claim, a contract, a package, a payment order, an approval, a bank fact, a
bank account, a pre-allocation, a default, a repayment; ``DECIDED_ELSEWHERE``: an objection's
outcome, a logistics certification) or listed in ``NOT_ABOUT_AN_ENTERPRISE`` with why; a new write route fails the first
test until it is put in one of them.

For each decision, and each role its gate lets in (but the ``system`` automation, which is
bound to no enterprise), two people are sent a request the use case would otherwise take:
one whose *own* credit code is the enterprise's (the role plus ``enterprise``), one *linked*
to it. Both must get 403 ``RECUSAL_REQUIRED`` (problem+json, Chinese title and detail) and
the service's business tables must not change. Then the attack of issue 15, whole: two
people bound to enterprise A's own code, one per side, execute A's payment together.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import pytest
from ruralfund_common.auth import Principal, Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.routes import api_routes
from ruralfund_common.testing.services import person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

PROVIDER: Final = with_check_character("91530427MA6P00071")  # a service provider (claims)
RESOLUTION: Final = {"resolution_number": "新电商领〔2026〕3号", "resolution_date": "2026-03-02"}

# What each service's use cases may change; a refusal changes none of it. (funds records a
# refused command and emits its refusal event by design: commands and outbox are not here;
# claims emits nothing on a refusal: its outbox keeps its number of rows.)
BUSINESS_TABLES: Final[dict[str, tuple[str, ...]]] = {
    "claims": (
        "claims", "claim_history", "service_contracts", "contract_milestones",
        "contract_tranches", "procurement_packages", "enterprises",
    ),
    "funds": (
        "awards", "payments", "approvals", "postings", "balances", "audit_log", "defaults",
        "repayments", "bank_statement_lines",
    ),
}  # fmt: skip

NOT_ABOUT_AN_ENTERPRISE: Final[dict[str, dict[str, str]]] = {
    "claims": {
        "POST /admin/clock": "development clock",
        "POST /programs": "a program document",
        "POST /programs/check": "checks a document, stores nothing",
        "POST /enterprises": "registration records facts the enterprise gives",
        "PATCH /enterprises/{credit_code}": "the enterprise's own data, or the bureau's edit of it",
        "POST /claims": "the enterprise's own claim",
        "POST /claims/{claim_id}/resubmit": "the enterprise's own claim",
        "POST /claims/{claim_id}/withdraw": "the enterprise's own claim",
        "POST /claims/{claim_id}/files": "evidence, judged at review",
        "POST /contracts/{contract_id}/files": "evidence, judged at acceptance",
        "POST /contracts/{contract_id}/deliverables/{deliverable}/report": (
            "the provider reports its own figures; acceptance decides on them"
        ),
        "POST /programs/{code}/milestones/{milestone}/acceptance": "a program milestone",
        "POST /admin/milestones/check": "announces overdue milestones",
    },
    "funds": {
        "POST /admin/clock": "development clock",
        "POST /programs/{program_code}/releases": "central funds into the joint account",
        "POST /programs/{program_code}/adjustments": "budget between items",
        "POST /programs/{program_code}/history": "an earlier phase's accounts",
        "POST /ledger/checkpoints": "signs the ledger's tree head",
    },
    "notify": {
        "POST /admin/clock": "development clock",
        "POST /notices/{notice_id}/publish": "makes an approved award public (the publicity it needs)",
        "POST /publicity/notices/{notice_id}/objections": "the public objects: anyone may",
        "POST /webhooks/subscriptions": "a delivery target",
        "DELETE /webhooks/subscriptions/{subscription_id}": "a delivery target",
        "POST /webhooks/deliveries/{delivery_id}/replay": "re-sends an event",
    },
    "logistics": {
        "POST /admin/clock": "development clock",
        "POST /admin/sla/sweep": "reports late parcels",
        "POST /stations": "the network as built (the bureau's registry)",
        "POST /stations/{station_id}/close": "the network as built",
        "POST /stations/{station_id}/volumes": "an operator reports its own figures",
        "POST /stations/{station_id}/carriers": "the network as built",
        "POST /stations/{station_id}/carriers/{carrier_id}/leave": "the network as built",
        "POST /stations/{station_id}/retail-partnerships": "the network as built",
        "POST /stations/{station_id}/retail-partnerships/{partnership_id}/end": "the network as built",
        "POST /stations/{station_id}/carriers/{carrier_id}/prices": "a carrier's published price",
        "POST /prices/baseline": "the county's price baseline",
        "POST /scans": "parcel scans from the sorting line",
    },
}
# Decisions whose refusal is played by the service's own tests (they need a filed objection).
DECIDED_ELSEWHERE: Final[dict[str, dict[str, str]]] = {
    "notify": {
        "POST /objections/{objection_id}/resolve": "services/notify/tests/integration/"
        "test_objections.py::test_a_person_of_the_awardee_cannot_resolve_an_objection_against_it",
    },
    "logistics": {
        "POST /stations/{station_id}/certified-enterprises": "services/logistics/tests/integration/"
        "test_prices_api.py::test_a_person_of_the_enterprise_cannot_certify_or_revoke_it",
        "POST /stations/{station_id}/certified-enterprises/{enterprise_id}/revoke": "the same test",
    },
}


@dataclass
class World:
    """A seeded service and the ids the requests below need."""

    served: Any
    ids: dict[str, str]


Request = Callable[[World], tuple[str, str, dict[str, Any]]]  # method, path, httpx kwargs


def _json(method: str, path: str, body: dict[str, Any] | None = None) -> Request:
    return lambda w: (method, path.format(**w.ids), {"json": body} if body is not None else {})


def _statement(w: World) -> tuple[str, str, dict[str, Any]]:
    header = "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,"
    header += "counterparty_account,counterparty_name\n"
    line = f"2026-03-03,TXN-RECUSAL,6222000000000000,debit,\"2,469.00\",ok,{w.ids['bank_reference']},"
    line += "6228480000000000001,新平礼好农业有限公司\n"
    return (
        "POST", "/programs/xinping-2021/bank-statements",
        {"content": (header + line).encode(), "headers": {"Content-Type": "text/csv"}},
    )  # fmt: skip


def _batch(w: World) -> tuple[str, str, dict[str, Any]]:
    item = {"payment_id": w.ids["payment_id"], "content_sha256": w.ids["content_sha256"]}
    return "POST", "/payment-approvals", {"json": {"approvals": [item]}}


# route -> (the enterprise concerned, the request). The enterprise is a key of World.ids.
DECISIONS: Final[dict[str, dict[str, tuple[str, Request]]]] = {
    "claims": {
        "POST /claims/{claim_id}/review": (
            "claimant", _json("POST", "/claims/{claim_id}/review", {"outcome": "complete"}),
        ),
        "POST /claims/{claim_id}/decision": (
            "claimant", _json("POST", "/claims/{claim_id}/decision", {"decision": "approve"}),
        ),
        "POST /programs/{code}/contracts": (
            "provider", _json("POST", "/programs/xinping-2021/contracts", {
                "item_code": "anchor-training", "contract_no": "R-2", "provider_credit_code": PROVIDER,
                "amount_yuan": "1.00", "signed_on": "2023-05-10", "ends_on": "2023-12-31",
            }),
        ),
        "POST /contracts/{contract_id}/milestones/{milestone}/acceptance": (
            "provider", _json("POST", "/contracts/{contract_id}/milestones/m1/acceptance", {}),
        ),
        "POST /contracts/{contract_id}/acceptance": (
            "provider", _json("POST", "/contracts/{contract_id}/acceptance",
                              {"outcome": "failed", "note": "培训人次未达标"}),
        ),
        "POST /programs/{code}/packages": (
            "provider", _json("POST", "/programs/xinping-2021/packages", {
                "code": "p9", "name": "主播培训", "line_code": "brand-promotion",
                "item_codes": ["anchor-training"], "budget_yuan": "1.00",
                "method": "competitive_consultation", "winner_credit_code": PROVIDER,
                "awarded_on": "2023-05-01",
            }),
        ),
    },
    "funds": {
        "POST /payments": ("payee", _json("POST", "/payments", {"award_id": "award-2"})),
        "POST /payments/{payment_id}/approvals": (
            "payee", lambda w: ("POST", f"/payments/{w.ids['payment_id']}/approvals",
                                {"json": {"content_sha256": w.ids["content_sha256"]}}),
        ),
        "POST /payment-approvals": ("payee", _batch),
        "POST /payments/{payment_id}/settlement": (
            "payee", _json("POST", "/payments/{payment_id}/settlement", {"bank_txn_id": "TXN-1"}),
        ),
        "POST /payments/{payment_id}/failure": (
            "payee", _json("POST", "/payments/{payment_id}/failure", {"reason": "户名不符"}),
        ),
        "POST /programs/{program_code}/bank-statements": ("payee", _statement),
        "PUT /awards/{award_id}/payee-bank": (
            "payee", _json("PUT", "/awards/award-2/payee-bank",
                           {"bank_name": "某银行", "bank_account": "6228480000009999"}),
        ),
        "POST /programs/{program_code}/preallocations": (
            "payee", lambda w: ("POST", "/programs/xinping-2021/preallocations", {"json": {
                "item_code": "anchor-training", "provider_credit_code": w.ids["payee"],
                "provider_name": "新平礼好农业有限公司", "bank_name": "某银行",
                "bank_account": "6228480000000001", "amount_yuan": "1,000.00",
                "contract_reference": "合同〔2026〕1号",
            }}),
        ),
        "POST /programs/{program_code}/defaults": (
            "payee", lambda w: ("POST", "/programs/xinping-2021/defaults",
                                {"json": {"credit_code": w.ids["payee"], **RESOLUTION}}),
        ),
        "POST /programs/{program_code}/repayments": (
            "payee", lambda w: ("POST", "/programs/xinping-2021/repayments",
                                {"json": {"credit_code": w.ids["payee"], "amount_yuan": "1.00"}}),
        ),
    },
}  # fmt: skip


# ------------------------------------------------------------------------------ helpers


def _write_routes(app: Any) -> dict[str, frozenset[Role]]:
    """Every state-changing route and the roles its gate names."""

    def roles(dependant: Any) -> frozenset[Role] | None:
        if hasattr(dependant.call, "required_roles"):
            return frozenset(dependant.call.required_roles)
        for sub in dependant.dependencies:
            found = roles(sub)
            if found is not None:
                return found
        return None

    out = {}
    for route in api_routes(app):
        for method in route.methods - {"GET", "HEAD"}:
            out[f"{method} {route.path}"] = roles(route.dependant) or frozenset()
    return out


def _conflicted(role: Role, credit_code: str) -> dict[str, Principal]:
    """The two ways to be the enterprise's own party: its own code, or a link to it."""
    return {
        "own": person(f"Own {role.value}", role, Role.ENTERPRISE, credit_code=credit_code),
        "linked": person(f"Linked {role.value}", role, linked=[credit_code]),
    }


async def _snapshot(served: Any, service: str) -> dict[str, str]:
    out = {}
    for table in BUSINESS_TABLES[service]:
        # a payment run locks its accounts (creating zero rows) even when it refuses an order
        nonzero = " WHERE debits_fen <> 0 OR credits_fen <> 0" if table == "balances" else ""
        out[table] = await served.sql(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            + nonzero
        )
    if service == "claims":
        out["outbox rows"] = await served.sql("SELECT count(*) FROM outbox")
    return out


async def _post(served: Any, who: Principal, method: str, path: str, kwargs: dict[str, Any]) -> Any:
    headers = {"Idempotency-Key": str(uuid.uuid4()), **kwargs.pop("headers", {})}
    return await served.call(method, path, who, headers=headers, **kwargs)


async def _claims_world(serve: Any, hostile: Any) -> World:
    claims = await serve("claims")
    admin = hostile.ADMIN
    body = hostile.enterprise_body(PROVIDER, "新平县主播培训有限公司", kind="service_provider")
    r = await claims.call("POST", "/enterprises", admin, json=body)
    assert r.status_code == 201, r.text
    contract = {
        "item_code": "anchor-training", "contract_no": "R-1", "provider_credit_code": PROVIDER,
        "amount_yuan": "1.00", "signed_on": "2023-05-10", "ends_on": "2023-12-31",
        "milestones": [{"code": "m1", "name": "完成首期培训", "due_on": "2023-08-31"}],
    }  # fmt: skip
    r = await claims.call("POST", "/programs/xinping-2021/contracts", admin, json=contract)
    assert r.status_code == 201, r.text
    ids = {"claim_id": claims.ids["claim_id"], "contract_id": r.json()["id"]}
    return World(claims, ids | {"claimant": hostile.LOCAL, "provider": PROVIDER})


async def _funds_world(serve: Any, hostile: Any) -> World:
    funds = await serve("funds")
    assert "payment_id" in funds.ids, "the seed requests a payment for award-1"
    await funds.upstream["claims"].emit(hostile.claim_approved("award-2", publicity=False), "award-2")

    async def award_2() -> bool:
        return (await funds.call("GET", "/awards/award-2")).status_code == 200

    await eventually(award_2, description="funds holds award-2")
    payment = (await funds.call("GET", f"/payments/{funds.ids['payment_id']}")).json()
    ids = {
        "payment_id": payment["payment_id"],
        "content_sha256": payment["content_sha256"],
        "bank_reference": payment["bank_reference"],
        "payee": hostile.LOCAL,
    }
    return World(funds, ids)


WORLDS: Final[dict[str, Callable[[Any, Any], Awaitable[World]]]] = {
    "claims": _claims_world,
    "funds": _funds_world,
}


def _refused_for_recusal(r: Any, hostile: Any, route: str) -> str | None:
    """Why ``r`` is not the recusal refusal (None when it is)."""
    violation = hostile.problem_violation(r.status_code, r.headers, r.content)
    if violation:
        return violation
    body = r.json()
    if route == "POST /payment-approvals" and r.status_code == 200:
        # a payment run decides each order on its own: the order is refused, not the run
        (item,) = body["results"]
        body = {"code": item.get("code"), "detail_zh": item.get("detail_zh"), "title_zh": "回避"}
        if item.get("status") != "refused":
            return f"the order was {item.get('status')}"
    elif r.status_code != 403:
        return f"{r.status_code} {body.get('code')}"
    if body.get("code") != "RECUSAL_REQUIRED":
        return f"{r.status_code} {body.get('code')}: {body.get('detail')}"
    if "回避" not in body.get("title_zh", "") or "回避" not in (body.get("detail_zh") or ""):
        return f"no Chinese title and detail: {body}"
    return None


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("service", list(NOT_ABOUT_AN_ENTERPRISE))
async def test_every_write_route_is_classified_for_recusal(serve: Any, service: str) -> None:
    app = (await serve(service, seed=False)).app
    routes = set(_write_routes(app))
    decisions = set(DECISIONS.get(service, {})) | set(DECIDED_ELSEWHERE.get(service, {}))
    assert routes == decisions | set(NOT_ABOUT_AN_ENTERPRISE[service])
    assert not decisions & set(NOT_ABOUT_AN_ENTERPRISE[service])


@pytest.mark.parametrize("service", list(DECISIONS))
async def test_a_person_of_the_enterprise_is_refused_at_every_decision(
    serve: Any, hostile: Any, service: str
) -> None:
    world = await WORLDS[service](serve, hostile)
    gates = _write_routes(world.served.app)
    before = await _snapshot(world.served, service)
    wrong: dict[str, str] = {}
    asked = 0
    for route, (concerned, request) in DECISIONS[service].items():
        people = [role for role in sorted(gates[route]) if role is not Role.SYSTEM]
        assert people, f"{route}: no person may call it?"
        for role in people:
            for how, who in _conflicted(role, world.ids[concerned]).items():
                method, path, kwargs = request(world)
                r = await _post(world.served, who, method, path, kwargs)
                asked += 1
                why = _refused_for_recusal(r, hostile, route)
                if why:
                    wrong[f"{route} as {role.value} ({how})"] = why
    assert wrong == {}
    assert asked >= 2 * len(DECISIONS[service])
    assert await _snapshot(world.served, service) == before


async def test_two_people_bound_to_the_payees_own_code_cannot_execute_its_payment(
    serve: Any, hostile: Any
) -> None:
    """Issue 15: roles leading_group + enterprise A, and contractor_signatory + enterprise A
    (both bound to A's own credit code, neither linked) executed A's payment together."""
    funds = await serve("funds")
    release = {"amount_yuan": "1,500,000.00", "approval_reference": "纪要〔2026〕1号"}
    r = await _post(funds, hostile.PEOPLE["finance_bureau"], "POST",
                    "/programs/xinping-2021/releases", {"json": release})  # fmt: skip
    assert r.status_code == 201, r.text
    payment_id = funds.ids["payment_id"]
    payment = (await funds.call("GET", f"/payments/{payment_id}")).json()
    member = person("Member of A", Role.LEADING_GROUP, Role.ENTERPRISE, credit_code=hostile.LOCAL)
    signatory = person(
        "Signatory of A", Role.CONTRACTOR_SIGNATORY, Role.ENTERPRISE, credit_code=hostile.LOCAL
    )
    sign = {"json": {"content_sha256": payment["content_sha256"]}}
    for who in (member, signatory):
        r = await _post(funds, who, "POST", f"/payments/{payment_id}/approvals", dict(sign))
        assert (r.status_code, r.json().get("code")) == (403, "RECUSAL_REQUIRED"), r.text
        assert hostile.LOCAL in r.json()["detail_zh"] and "回避" in r.json()["title_zh"]
    after = (await funds.call("GET", f"/payments/{payment_id}")).json()
    assert after["status"] == "awaiting_approval" and after["approvals"] == []
    assert await funds.sql("SELECT count(*) FROM payments WHERE status = 'executed'") == 0
    # two people without a stake in A execute it: the refusals were the rule, not a broken flow
    for who in (hostile.PEOPLE["leading_group"], hostile.PEOPLE["contractor_signatory"]):
        r = await _post(funds, who, "POST", f"/payments/{payment_id}/approvals", dict(sign))
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "executed"
