"""Enterprises over HTTP: GB 32100 codes, the county check, and each enterprise sees only itself."""

from __future__ import annotations

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


async def test_registering_an_enterprise_emits_enterprise_registered(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    enterprise = await claims.register()
    assert (enterprise["credit_code"], enterprise["county_code"], enterprise["programs"]) == (
        claims.LOCAL,
        "530427",
        ["xinping-2021"],
    )
    (envelope,) = await eventually(lambda: claims.events("enterprise_registered"))
    assert envelope["data"]["credit_code"] == claims.LOCAL
    assert (envelope["data"]["county_code"], envelope["data"]["contact_email"]) == (
        "530427",
        "lihua@example.cn",
    )


async def test_a_wrong_check_character_is_refused(claims) -> None:  # type: ignore[no-untyped-def]
    corrupted = claims.LOCAL[:17] + ("0" if claims.LOCAL[17] != "0" else "1")
    response = await claims.http.post(
        "/enterprises",
        json=claims.enterprise_body(corrupted, program_code=None),
        headers=claims.ADMIN,
    )
    assert (response.status_code, response.json()["code"]) == (422, "CREDIT_CODE_INVALID")
    assert f"第18位校验码应为 {claims.LOCAL[17]}" in response.json()["detail_zh"]
    assert await claims.sql("SELECT count(*) FROM enterprises") == 0


async def test_registration_division_must_be_the_programs_county(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    response = await claims.http.post(
        "/enterprises", json=claims.enterprise_body(claims.OUTSIDE), headers=claims.ADMIN
    )
    assert (response.status_code, response.json()["code"]) == (422, "ENTERPRISE_NOT_IN_COUNTY")
    assert response.json()["details"] == {
        "registration_division": "530400",
        "program_county": "530427",
    }
    assert await claims.sql("SELECT count(*) FROM enterprises") == 0
    # Without a program it may be registered (e.g. a provider from the prefecture).
    assert (
        await claims.http.post(
            "/enterprises",
            json=claims.enterprise_body(claims.OUTSIDE, program_code=None),
            headers=claims.ADMIN,
        )
    ).status_code == 201


async def test_an_enterprise_sees_and_changes_only_itself(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register(claims.LOCAL)
    await claims.register(claims.OTHER, name="新平县戛洒镇快递服务站", kind="station_operator")

    own = await claims.http.get(f"/enterprises/{claims.LOCAL}", headers=claims.ENTERPRISE)
    assert own.status_code == 200 and own.json()["bank_account_no"] == "6228 4800 0000 0000 017"
    other = await claims.http.get(f"/enterprises/{claims.OTHER}", headers=claims.ENTERPRISE)
    assert (other.status_code, other.json()["code"]) == (404, "ENTERPRISE_NOT_FOUND")
    listed = await claims.http.get("/enterprises", headers=claims.ENTERPRISE)
    assert [e["credit_code"] for e in listed.json()["items"]] == [claims.LOCAL]
    assert len((await claims.http.get("/enterprises", headers=claims.AUDITOR)).json()["items"]) == 2

    new_bank = {"bank_account": {"bank_name": "富滇银行新平支行", "account_no": "1234 5678 9012"}}
    changed = await claims.http.patch(
        f"/enterprises/{claims.LOCAL}", json=new_bank, headers=claims.ENTERPRISE
    )
    assert changed.status_code == 200 and changed.json()["bank_name"] == "富滇银行新平支行"
    assert changed.json()["version"] == 2
    hijack = await claims.http.patch(
        f"/enterprises/{claims.OTHER}", json=new_bank, headers=claims.ENTERPRISE
    )
    assert hijack.status_code == 404
    assert (
        await claims.sql("SELECT bank_name FROM enterprises WHERE credit_code = $1", claims.OTHER)
        == "中国农业银行新平县支行"
    )
    events = await eventually(lambda: claims.at_least("enterprise_registered", 3))
    assert [e["data"]["credit_code"] for e in events] == [claims.LOCAL, claims.OTHER, claims.LOCAL]


async def test_an_enterprise_registers_itself_only_and_twice_is_a_conflict(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    # another enterprise's code: refused before anything is looked up, in Chinese
    other = await claims.http.post("/enterprises", json=claims.enterprise_body(), headers=claims.OTHER_ENTERPRISE)
    assert (other.status_code, other.json()["code"], other.json()["field"]) == (403, "NOT_YOUR_CREDIT_CODE", "credit_code")
    assert claims.OTHER in other.json()["detail_zh"] and other.json()["title_zh"] == "只能登记本企业"
    # a contractor or provider is the bureau's to register
    contractor = claims.enterprise_body(kind="contractor")
    refused = await claims.http.post("/enterprises", json=contractor, headers=claims.ENTERPRISE)
    assert (refused.status_code, refused.json()["code"]) == (403, "KIND_REGISTERED_BY_BUREAU")
    assert await claims.sql("SELECT count(*) FROM enterprises") == 0

    body = claims.enterprise_body()
    mine = await claims.http.post("/enterprises", json=body, headers=claims.ENTERPRISE)
    assert mine.status_code == 201, mine.text
    assert (mine.json()["credit_code"], mine.json()["programs"]) == (claims.LOCAL, ["xinping-2021"])
    again = await claims.http.post("/enterprises", json=body, headers=claims.ADMIN)
    assert (again.status_code, again.json()["code"]) == (409, "ENTERPRISE_EXISTS")
    # the bureau still registers anyone in the county
    station = claims.enterprise_body(claims.OTHER, kind="station_operator")
    assert (await claims.http.post("/enterprises", json=station, headers=claims.ADMIN)).status_code == 201
