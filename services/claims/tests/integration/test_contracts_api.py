"""Purchase-of-service items are contracts: the provider, the amount within the item budget,
the deliverables the program promises (anchor training: >= 100 trainee-times ...), milestones
and acceptance."""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person

pytestmark = pytest.mark.integration

PROVIDER = with_check_character("91530427MA6P00071")  # a training company in Xinping
PROVIDER_USER = bearer(person("Chen Trainer", Role.ENTERPRISE, credit_code=PROVIDER))


def contract_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "item_code": "anchor-training",
        "contract_no": "XP-2023-FW-009",
        "provider_credit_code": PROVIDER,
        "amount_yuan": "480,000.00",
        "signed_on": "2023-05-10",
        "ends_on": "2023-12-31",
        "procurement": "竞争性磋商",
        "milestones": [
            {"code": "course-plan", "name": "培训方案备案", "due_on": "2023-06-15"},
            {"code": "final-report", "name": "项目总结报告", "due_on": "2023-12-20"},
        ],
    }
    return {**body, **overrides}


async def _contract(claims) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register(PROVIDER, name="新平县主播培训有限公司", kind="service_provider")
    response = await claims.http.post(
        "/programs/xinping-2021/contracts", json=contract_body(), headers=claims.ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _report(claims, contract_id: str, code: str, headers=PROVIDER_USER, **value: Any):  # type: ignore[no-untyped-def]
    return await claims.http.post(
        f"/contracts/{contract_id}/deliverables/{code}/report", json=value, headers=headers
    )


async def test_a_contract_carries_the_programs_deliverables_for_its_item(claims) -> None:  # type: ignore[no-untyped-def]
    contract = await _contract(claims)
    assert (contract["status"], contract["amount_fen"], contract["provider_name"]) == (
        "active",
        48_000_000,
        "新平县主播培训有限公司",
    )
    targets = {d["code"]: d["target"] for d in contract["deliverables"]}
    assert targets == {
        "trainee-times": ">= 100",
        "anchors-10k-fans": ">= 15",
        "anchor-team": ">= 1",
        "livestreams-per-month": ">= 20",
        "livestream-sales": ">= 5,000,000.00",
        "towns-without-team": "<= 0",  # attachment 2: 各乡镇孵化一支3人以上直播带货团队
    }
    gaps = contract["acceptance_gaps"]
    assert len(gaps) == 2 + 5  # 2 milestones, 5 deliverables (a pair of which either suffices)
    assert " — or anchor-team (孵化10人以上直播带货团队): not reported, required >= 1" in gaps[1]


async def test_acceptance_passes_only_when_everything_is_delivered(claims) -> None:  # type: ignore[no-untyped-def]
    contract = await _contract(claims)
    cid = contract["id"]
    await _report(claims, cid, "trainee-times", actual_value=99)
    early = await claims.http.post(
        f"/contracts/{cid}/acceptance", json={"outcome": "passed"}, headers=claims.ADMIN
    )
    assert (early.status_code, early.json()["code"]) == (409, "ACCEPTANCE_REFUSED")
    gaps = early.json()["details"]["gaps"]
    assert "deliverable trainee-times (培训对象): 99, required >= 100" in gaps
    # people read the same gaps in Chinese, with the figures
    assert early.json()["title_zh"] == "合同尚不能验收合格"
    assert "「培训对象」实际 99，要求不低于 100" in early.json()["detail_zh"]
    assert "节点「培训方案备案」尚未验收" in early.json()["detail_zh"]

    assert (await _report(claims, cid, "trainee-times", actual_value=100)).json()["deliverables"][
        0
    ]["met"]
    await _report(claims, cid, "anchor-team", actual_value=1)  # the team suffices for the pair
    await _report(claims, cid, "livestreams-per-month", actual_value=22)
    sales = await _report(claims, cid, "livestream-sales", actual_yuan="5,000,000.00")
    assert sales.status_code == 200, sales.text
    one_town_short = await claims.http.get(f"/contracts/{cid}", headers=claims.AUDITOR)
    assert any("towns-without-team" in g for g in one_town_short.json()["acceptance_gaps"])
    await _report(claims, cid, "towns-without-team", actual_value=0)  # every town has its team
    for milestone in ("course-plan", "final-report"):
        accepted = await claims.http.post(
            f"/contracts/{cid}/milestones/{milestone}/acceptance", json={}, headers=claims.ADMIN
        )
        assert accepted.status_code == 200, accepted.text
    ready = (await claims.http.get(f"/contracts/{cid}", headers=claims.AUDITOR)).json()
    assert ready["acceptance_gaps"] == []
    passed = await claims.http.post(
        f"/contracts/{cid}/acceptance",
        json={"outcome": "passed", "note": "验收合格"},
        headers=claims.MEMBER,
    )
    assert (passed.status_code, passed.json()["status"]) == (200, "accepted")
    late = await _report(claims, cid, "trainee-times", actual_value=150)
    assert (late.status_code, late.json()["code"]) == (409, "CONTRACT_CLOSED")


async def test_a_failed_acceptance_needs_its_reason(claims) -> None:  # type: ignore[no-untyped-def]
    cid = (await _contract(claims))["id"]
    no_reason = await claims.http.post(
        f"/contracts/{cid}/acceptance", json={"outcome": "failed"}, headers=claims.ADMIN
    )
    assert no_reason.json()["code"] == "NOTE_REQUIRED" and no_reason.json()["field"] == "note"
    assert "验收不合格时须写明理由" in no_reason.json()["detail_zh"]
    failed = await claims.http.post(
        f"/contracts/{cid}/acceptance",
        json={"outcome": "failed", "note": "培训人次不足，影响项目验收"},
        headers=claims.ADMIN,
    )
    assert failed.json()["status"] == "failed"


async def test_contracts_stay_within_the_item_budget(claims) -> None:  # type: ignore[no-untyped-def]
    await _contract(claims)  # 480,000 of 500,000
    second = await claims.http.post(
        "/programs/xinping-2021/contracts",
        json=contract_body(contract_no="XP-2023-FW-010", amount_yuan="20,000.01"),
        headers=claims.ADMIN,
    )
    assert (second.status_code, second.json()["code"]) == (409, "CONTRACT_EXCEEDS_BUDGET")
    fits = await claims.http.post(
        "/programs/xinping-2021/contracts",
        json=contract_body(contract_no="XP-2023-FW-010", amount_yuan="20,000.00", milestones=[]),
        headers=claims.ADMIN,
    )
    assert fits.status_code == 201, fits.text
    same_no = await claims.http.post(
        "/programs/xinping-2021/contracts",
        json=contract_body(contract_no="XP-2023-FW-010", amount_yuan="1.00"),
        headers=claims.ADMIN,
    )
    assert same_no.status_code == 409


async def test_reward_items_are_not_contracted_and_providers_must_be_registered(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    unregistered = await claims.http.post(
        "/programs/xinping-2021/contracts", json=contract_body(), headers=claims.ADMIN
    )
    assert unregistered.json()["code"] == "ENTERPRISE_NOT_REGISTERED"
    await claims.register(PROVIDER, name="新平县主播培训有限公司", kind="service_provider")
    reward = await claims.http.post(
        "/programs/xinping-2021/contracts",
        json=contract_body(item_code="brand-packaging"),
        headers=claims.ADMIN,
    )
    assert (reward.status_code, reward.json()["code"]) == (422, "ITEM_NOT_SERVICE")


async def test_only_the_provider_reports_and_sees_its_contract(claims) -> None:  # type: ignore[no-untyped-def]
    cid = (await _contract(claims))["id"]
    other = await _report(claims, cid, "trainee-times", headers=claims.ENTERPRISE, actual_value=500)
    assert (other.status_code, other.json()["code"]) == (404, "CONTRACT_NOT_FOUND")
    assert (
        await claims.http.get(f"/contracts/{cid}", headers=claims.ENTERPRISE)
    ).status_code == 404
    listed = await claims.http.get("/programs/xinping-2021/contracts", headers=claims.ENTERPRISE)
    assert listed.json() == []
    own = await claims.http.get("/programs/xinping-2021/contracts", headers=PROVIDER_USER)
    assert [c["id"] for c in own.json()] == [cid]
    unknown = await _report(claims, cid, "no-such-thing", actual_value=1)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "DELIVERABLE_NOT_FOUND")
