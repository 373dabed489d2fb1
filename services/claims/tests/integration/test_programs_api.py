"""Programs over HTTP: activation emits the budgets; a document that does not add up is
refused and leaves nothing behind."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from ruralfund_claims import service
from ruralfund_common.auth import Role
from ruralfund_common.clock import SystemClock
from ruralfund_common.db.pool import connect
from ruralfund_common.errors import Conflict
from ruralfund_common.messaging import Tx
from ruralfund_common.testing.services import person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


async def test_loading_xinping_emits_program_activated_with_the_11_item_budgets(claims) -> None:  # type: ignore[no-untyped-def]
    program = await claims.load_xinping()
    assert (program["code"], program["county_code"], program["total_fen"], program["status"]) == (
        "xinping-2021",
        "530427",
        500_000_000,
        "active",
    )

    (envelope,) = await eventually(
        lambda: claims.events("program_activated"), description="ProgramActivated on the stream"
    )
    event = envelope["data"]
    items = [item for line in event["lines"] for item in line["items"]]
    assert len(items) == 11
    assert sum(item["budget_fen"] for item in items) == 500_000_000 == event["total_fen"]
    assert [(line["code"], line["budget_fen"]) for line in event["lines"]] == [
        ("brand-promotion", 314_000_000),
        ("logistics-upgrade", 186_000_000),
    ]
    assert {i["code"]: i["mode"] for i in items}["station-upgrade"] == "reward"
    assert (event["county_code"], event["year"], event["phase"]) == ("530427", 2021, "follow_up")
    assert event["contractor_credit_code"] == "91530427MA6DEM0008"
    assert envelope["subject"] == "xinping-2021"


async def test_program_can_be_read_and_checked_by_any_role(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    read = await claims.http.get("/programs/xinping-2021?document=true", headers=claims.ENTERPRISE)
    assert read.status_code == 200
    body = read.json()
    assert len(body["items"]) == 11 and body["document"]["code"] == "xinping-2021"
    assert {i["code"]: i["rule_version"] for i in body["items"]}["brand-packaging"].startswith(
        "per_unit/v1+"
    )
    check = await claims.http.get("/programs/xinping-2021/check", headers=claims.AUDITOR)
    assert check.status_code == 200
    assert check.json()["can_activate"] and [w["code"] for w in check.json()["warnings"]] == [
        "ESTIMATED_DATES",
        "DEMO_DATA",
        "DEMO_DATA",
    ]


async def test_the_same_program_cannot_be_activated_twice(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    again = await claims.http.post(
        "/programs", json=yaml.safe_load(claims.XINPING_YAML), headers=claims.ADMIN
    )
    assert (again.status_code, again.json()["code"]) == (409, "PROGRAM_EXISTS")
    assert await claims.sql("SELECT count(*) FROM outbox") == 1


async def test_attachment_2_is_refused_naming_the_line_mismatch_and_nothing_is_stored(
    claims,
) -> None:  # type: ignore[no-untyped-def]
    response = await claims.http.post(
        "/programs", content=claims.ATTACHMENT2_YAML, headers={**claims.ADMIN, **claims.YAML}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "PROGRAM_INVALID"
    assert "2,900,000.00" in problem["detail"] and "3,140,000.00" in problem["detail"]
    assert "2,100,000.00" in problem["detail"] and "1,860,000.00" in problem["detail"]
    assert [e["code"] for e in problem["details"]["errors"]] == [
        "LINE_SUM_MISMATCH",
        "LINE_SUM_MISMATCH",
    ]

    assert (
        await claims.http.get("/programs/xinping-2021", headers=claims.ADMIN)
    ).status_code == 404
    assert await claims.sql("SELECT count(*) FROM programs") == 0
    assert await claims.sql("SELECT count(*) FROM program_items") == 0
    assert await claims.sql("SELECT count(*) FROM outbox") == 0


async def test_dry_run_check_reports_without_storing(claims) -> None:  # type: ignore[no-untyped-def]
    response = await claims.http.post(
        "/programs/check", content=claims.ATTACHMENT2_YAML, headers={**claims.ADMIN, **claims.YAML}
    )
    assert response.status_code == 200
    report = response.json()
    assert not report["can_activate"]
    assert [
        (e["figures"]["items_sum_yuan"], e["figures"]["line_budget_yuan"]) for e in report["errors"]
    ] == [("2,900,000.00", "3,140,000.00"), ("2,100,000.00", "1,860,000.00")]
    assert await claims.sql("SELECT count(*) FROM programs") == 0


async def test_only_the_bureau_activates_programs(claims) -> None:  # type: ignore[no-untyped-def]
    for headers, code in (
        (claims.MEMBER, "ROLE_REQUIRED"),
        (claims.AUDITOR, "READ_ONLY"),
        ({}, "AUTH_MISSING"),
    ):
        response = await claims.http.post(
            "/programs", content=claims.XINPING_YAML, headers={**headers, **claims.YAML}
        )
        assert response.json()["code"] == code
    assert await claims.sql("SELECT count(*) FROM programs") == 0


async def test_unreadable_documents_are_refused(claims) -> None:  # type: ignore[no-untyped-def]
    broken = await claims.http.post(
        "/programs", content=b"lines: [", headers={**claims.ADMIN, **claims.YAML}
    )
    assert (broken.status_code, broken.json()["code"]) == (422, "PROGRAM_DOCUMENT_INVALID")
    text = await claims.http.post(
        "/programs", content=b"hello", headers={**claims.ADMIN, "Content-Type": "text/plain"}
    )
    assert (text.status_code, text.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    float_budget = yaml.safe_load(claims.XINPING_YAML)
    float_budget["total_yuan"] = 5000000.0
    refused = await claims.http.post(
        "/programs",
        content=json.dumps(float_budget),
        headers={**claims.ADMIN, "Content-Type": "application/json"},
    )
    assert (
        refused.status_code == 422
        and refused.json()["details"]["errors"][0]["path"] == "total_yuan"
    )


async def test_a_racing_second_activation_gets_409_not_500(claims) -> None:  # type: ignore[no-untyped-def]
    """Two activations that both pass the existence check: the loser's insert waits for the
    winner's row lock, then fails on the primary key, which must read as PROGRAM_EXISTS."""
    document = yaml.safe_load(claims.XINPING_YAML)
    admin = person("Wang Admin", Role.BUREAU_ADMIN)
    winner, loser, observer = [await connect(claims.database_url, "claims") for _ in range(3)]
    try:
        async with winner.transaction():
            await service.activate_program(Tx(winner, "claims", SystemClock()), admin, document)

            async def second() -> None:
                async with loser.transaction():
                    await service.activate_program(
                        Tx(loser, "claims", SystemClock()), admin, document
                    )

            racing = asyncio.create_task(second())
            await eventually(
                lambda: observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ),
                expect=1,
                description="the second activation waits on the first one's row",
            )
        with pytest.raises(Conflict) as refused:
            await racing
        assert refused.value.code == "PROGRAM_EXISTS"
    finally:
        for conn in (winner, loser, observer):
            await conn.close()
    assert await claims.sql("SELECT count(*) FROM programs") == 1
