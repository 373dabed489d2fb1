"""Ruyuan's milestones with due dates: an overdue one (by the injected clock, Asia/Shanghai day)
is announced once with claims.evt.milestone_overdue.v1, by the admin check or the periodic one."""

from __future__ import annotations

from functools import partial

import pytest
from ruralfund_claims.app import create_app
from ruralfund_claims.settings import ClaimsSettings
from ruralfund_common.testing.services import running_service, service_settings
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


async def _set_clock(http, instant: str, headers) -> None:  # type: ignore[no-untyped-def]
    response = await http.post("/admin/clock", json={"set_to": instant}, headers=headers)
    assert response.status_code == 200, response.text


async def _check(claims) -> int:  # type: ignore[no-untyped-def]
    response = await claims.http.post("/admin/milestones/check", headers=claims.ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["announced"]


async def test_overdue_milestones_are_announced_once(claims) -> None:  # type: ignore[no-untyped-def]
    await _set_clock(claims.http, "2023-01-20T02:00:00Z", claims.ADMIN)
    await claims.load_program_file("ruyuan-2021-p2.yaml")
    milestones = (
        await claims.http.get("/programs/ruyuan-2021-p2/milestones", headers=claims.AUDITOR)
    ).json()
    assert len(milestones) == 16 and not any(m["overdue"] for m in milestones)
    assert await _check(claims) == 0

    accepted = await claims.http.post(
        "/programs/ruyuan-2021-p2/milestones/prep-provider-contracts/acceptance",
        json={"note": "中标企业合同已签订"},
        headers=claims.ADMIN,
    )
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")

    # 2023-05-01 00:30 in Shanghai (2023-04-30 16:30 UTC): April's tendering is due 04-30, so
    # it is overdue from this local day on, although it is still April in UTC.
    await _set_clock(claims.http, "2023-04-30T16:30:00Z", claims.ADMIN)
    assert await _check(claims) == 4  # survey, draft plan, plan approval, tendering
    assert await _check(claims) == 0  # once
    await _set_clock(claims.http, "2023-07-01T02:00:00Z", claims.ADMIN)
    assert await _check(claims) == 0  # provider contracts (due 06-30) was accepted

    events = await eventually(lambda: claims.at_least("milestone_overdue", 4))
    assert [e["data"]["milestone_code"] for e in events] == [
        "prep-survey", "prep-draft-plan", "prep-plan-approval", "prep-tendering",
    ]  # fmt: skip
    tendering = events[3]["data"]
    assert (tendering["due_on"], tendering["responsible_unit"], tendering["responsible_email"]) == (
        "2023-04-30",
        "县工信局",
        "gxj@ruyuan.example",
    )
    assert tendering["program_code"] == "ruyuan-2021-p2"
    listed = {
        m["code"]: m
        for m in (
            await claims.http.get("/programs/ruyuan-2021-p2/milestones", headers=claims.ADMIN)
        ).json()
    }
    assert listed["prep-tendering"]["overdue"] and listed["prep-tendering"]["overdue_notified_at"]
    assert not listed["prep-provider-contracts"]["overdue"]


async def test_a_unit_list_names_every_unit_and_mails_the_lead(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_program_file("ruyuan-2021-p2.yaml")
    await _set_clock(claims.http, "2023-12-01T02:00:00Z", claims.ADMIN)
    # 5 preparation + 4 implementation milestones are due by 11-30; promotion is due 12-31
    assert await _check(claims) == 9
    events = await eventually(lambda: claims.at_least("milestone_overdue", 9))
    logistics = next(e["data"] for e in events if e["data"]["milestone_code"] == "impl-logistics")
    assert (logistics["responsible_unit"], logistics["responsible_email"]) == (
        "县工信局、县交通运输局",
        "gxj@ruyuan.example",
    )


async def test_only_the_bureau_or_automation_runs_the_check(claims) -> None:  # type: ignore[no-untyped-def]
    for headers in (claims.MEMBER, claims.AUDITOR, claims.ENTERPRISE):
        response = await claims.http.post("/admin/milestones/check", headers=headers)
        assert response.status_code == 403


async def test_the_periodic_check_announces_without_being_asked(
    nats_url: str, database_url: str, namespace: str, claims_factory
) -> None:  # type: ignore[no-untyped-def]
    settings = service_settings(
        "claims", nats_url=nats_url, database_url=database_url, namespace=namespace
    )
    fast = partial(create_app, claims_settings=ClaimsSettings(milestone_check_seconds=0.05))
    async with running_service(fast, settings) as http:
        claims = claims_factory(http)
        await _set_clock(http, "2023-02-01T02:00:00Z", claims.ADMIN)
        await claims.load_program_file("ruyuan-2021-p2.yaml")
        (event,) = await eventually(lambda: claims.at_least("milestone_overdue", 1))
        assert event["data"]["milestone_code"] == "prep-survey"
        await eventually(
            lambda: claims.sql(
                "SELECT count(*) FROM program_milestones WHERE overdue_notified_at IS NOT NULL"
            ),
            expect=1,
        )
