"""GET /payments and GET /awards (#17): the second approver finds the order waiting for them,
with exactly the content they sign; lists page; unknown filters are refused."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

from .conftest import ADMIN, AUDITOR, CC, ENTERPRISE, FINANCE, LEADER, SIGNATORY, approved

pytestmark = pytest.mark.integration

LEADER_QIAN = person("Leader Qian", Role.LEADING_GROUP)
LINKED_LEADER = person("Leader Sun", Role.LEADING_GROUP, linked=[CC])  # a relative runs the payee
P = "/programs/xinping-2021"


async def _three_orders(w) -> list[dict]:
    r = await w.post(f"{P}/releases", {"amount_yuan": "500,000.00", "approval_reference": "新电商领〔2026〕1号"},
                     FINANCE)
    assert r.status_code == 201, r.text
    for n, fen in ((1, 97_531_00), (2, 1_000_00), (3, 2_000_00)):
        await w.claims.emit(approved(f"list-{n}", fen, publicity=False), f"list-{n}")
    for n in (1, 2, 3):
        await eventually(lambda n=n: w.status(f"list-{n}"), expect="reserved")
    await w.clock("2026-03-02T21:00:00Z")  # the next working day: payable
    orders = []
    for n in (1, 2, 3):
        r = await w.post("/payments", {"award_id": f"list-{n}"}, ADMIN)
        assert r.status_code == 201, r.text
        orders.append(r.json())
    return orders


async def _ids(w, who, **params) -> list[str]:
    r = await w.funds.get("/payments", params=params, headers=bearer(who))
    assert r.status_code == 200, r.text
    return [p["award_id"] for p in r.json()["items"]]


async def test_each_approver_sees_the_orders_awaiting_their_signature(world) -> None:

    o1, o2, _o3 = await _three_orders(world)
    r = await world.post(f"/payments/{o1['payment_id']}/approvals", {"content_sha256": o1["content_sha256"]}, LEADER)
    assert r.status_code == 200, r.text
    r = await world.post(f"/payments/{o2['payment_id']}/approvals", {"content_sha256": o2["content_sha256"]},
                         SIGNATORY)
    assert r.status_code == 200, r.text

    mine = {"awaiting_my_approval": "true"}
    assert await _ids(world, LEADER, **mine) == ["list-2", "list-3"]
    # another member: the leading group's side of list-1 is given already
    assert await _ids(world, LEADER_QIAN, **mine) == ["list-2", "list-3"]
    assert await _ids(world, SIGNATORY, **mine) == ["list-1", "list-3"]
    assert await _ids(world, ADMIN, **mine) == []  # the bureau signs no payment
    assert await _ids(world, ADMIN) == ["list-1", "list-2", "list-3"]
    assert await _ids(world, AUDITOR, program="xinping-2021") == ["list-1", "list-2", "list-3"]
    assert await _ids(world, AUDITOR, program="another-program") == []

    r = await world.funds.get("/payments", params={**mine, "limit": 1}, headers=bearer(SIGNATORY))
    (first,) = r.json()["items"]
    assert first["payment_id"] == o1["payment_id"] and first["content_sha256"] == o1["content_sha256"]
    assert first["amount_fen"] == 97_531_00 and first["amount_yuan"] == "97,531.00"
    assert first["payee_bank_account"] == "6228480000000000001" and first["payee_name"]
    assert first["approved_roles"] == ["leading_group"]
    nxt = await world.funds.get("/payments", params={**mine, "limit": 1, "cursor": r.json()["next_cursor"]},
                                headers=bearer(SIGNATORY))
    assert [p["award_id"] for p in nxt.json()["items"]] == ["list-3"]

    # once both sides signed, the order leaves every queue and is executed
    r = await world.post(f"/payments/{o1['payment_id']}/approvals", {"content_sha256": o1["content_sha256"]},
                         SIGNATORY)
    assert r.status_code == 200 and r.json()["status"] == "executed", r.text
    assert await _ids(world, SIGNATORY, **mine) == ["list-3"]
    assert await _ids(world, ADMIN, status="executed") == ["list-1"]


async def test_a_member_linked_to_the_payee_is_told_to_recuse_before_signing(world) -> None:
    o1, *_ = await _three_orders(world)
    r = await world.funds.get("/payments", params={"awaiting_my_approval": "true"}, headers=bearer(LINKED_LEADER))
    assert [p["recusal_required"] for p in r.json()["items"]] == [True, True, True]
    r = await world.funds.get("/payments", params={"awaiting_my_approval": "true"}, headers=bearer(LEADER))
    assert [p["recusal_required"] for p in r.json()["items"]] == [False, False, False]
    # what the list said is what the approval does: refused, in Chinese, naming the payee
    r = await world.post(f"/payments/{o1['payment_id']}/approvals", {"content_sha256": o1["content_sha256"]},
                         LINKED_LEADER)
    assert r.status_code == 403 and r.json()["code"] == "RECUSAL_REQUIRED", r.text
    assert CC in r.json()["detail_zh"]


async def test_awards_are_listed_by_status(world) -> None:

    await _three_orders(world)
    r = await world.funds.get("/awards", params={"status": "reserved", "program": "xinping-2021"},
                              headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [a["award_id"] for a in items] == ["list-1", "list-2", "list-3"]
    assert items[0]["amount_yuan"] == "97,531.00" and items[0]["status"] == "reserved"
    none = await world.funds.get("/awards", params={"status": "paid"}, headers=bearer(ADMIN))
    assert none.json()["items"] == []


async def test_lists_refuse_enterprises_unknown_filters_and_unknown_statuses(world) -> None:

    assert (await world.funds.get("/payments", headers=bearer(ENTERPRISE))).status_code == 403
    assert (await world.funds.get("/awards", headers=bearer(ENTERPRISE))).status_code == 403
    r = await world.funds.get("/payments", params={"awaiting": "true"}, headers=bearer(ADMIN))
    assert r.status_code == 400 and r.json()["code"] == "UNKNOWN_QUERY_PARAMETER", r.text
    assert r.json()["field"] == "awaiting"
    r = await world.funds.get("/awards", params={"status": "approved"}, headers=bearer(ADMIN))
    assert r.status_code == 422 and r.json().get("field") == "status", r.text


async def test_releases_are_listed_oldest_first_with_the_running_total_and_page(world) -> None:
    for n, amount in ((1, "500,000.00"), (2, "250,000.50"), (3, "1.00")):
        r = await world.post(f"{P}/releases", {"release_id": f"rel-{n}", "amount_yuan": amount,
                                               "approval_reference": f"新电商领〔2026〕{n}号"}, FINANCE)
        assert r.status_code == 201, r.text
    r = await world.funds.get(f"{P}/releases", params={"limit": 2}, headers=bearer(AUDITOR))
    assert r.status_code == 200, r.text
    first = r.json()
    assert [x["release_id"] for x in first["items"]] == ["rel-1", "rel-2"]
    assert first["items"][1]["amount_fen"] == 250_000_50 and first["items"][1]["amount_yuan"] == "250,000.50"
    assert first["items"][1]["released_total_fen"] == 750_000_50
    assert first["items"][0]["approval_reference"] == "新电商领〔2026〕1号" and first["items"][0]["released_by"]
    r = await world.funds.get(f"{P}/releases", params={"limit": 2, "cursor": first["next_cursor"]},
                              headers=bearer(AUDITOR))
    (last,) = r.json()["items"]
    assert last["release_id"] == "rel-3" and last["released_total_fen"] == 750_001_50
    assert r.json()["next_cursor"] is None
    balances = (await world.funds.get(f"{P}/balances", headers=bearer(AUDITOR))).json()
    joint = next(a for a in balances["accounts"] if a["account"] == "bank:joint")
    assert joint["name_zh"] == "银行存款-共管账户" and joint["balance_fen"] == 750_001_50
    other = await world.funds.get("/programs/no-such-program/releases", headers=bearer(FINANCE))
    assert other.status_code == 200 and other.json()["items"] == []
    # an enterprise reads no ledger; an unknown filter is named
    assert (await world.funds.get(f"{P}/releases", headers=bearer(ENTERPRISE))).status_code == 403
    r = await world.funds.get(f"{P}/releases", params={"since": "2026-01-01"}, headers=bearer(FINANCE))
    assert r.status_code == 400 and r.json()["field"] == "since", r.text
