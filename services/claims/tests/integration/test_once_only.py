"""Issue 16 against the running service and PostgreSQL: what the seeds pay once is paid once,
whatever the claim drawn around it, and every refusal says why in Chinese with the figures."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _sales(months: list[str], *, store_id: str = "66880001", platform: str = "taobao") -> dict:
    return {
        "program_code": "xinping-2021",
        "item_code": "sales-reward",
        "evidence": {
            "platform": platform, "store_id": store_id, "store_name": "新平礼好淘宝店",
            "opened_on": "2023-01-03",
            "months": [{"month": m, "sales_yuan": "60,000.00"} for m in months],
        },
    }  # fmt: skip


async def _post(claims, body: dict, headers: dict | None = None) -> Any:  # type: ignore[no-untyped-def]
    return await claims.http.post("/claims", json=body, headers=headers or claims.ENTERPRISE)


async def test_a_stores_months_are_paid_once_whatever_the_windows(claims) -> None:  # type: ignore[no-untyped-def]
    # Issue 16 §1: 01..03, 01..04 and 02..04 paid 9,000 + 12,000 + 9,000 = 30,000 yuan on
    # 240,000 yuan of sales (60,000 a month). Only the first window may be paid.
    await claims.load_xinping()
    await claims.register()
    first = await _post(claims, _sales(["2023-01", "2023-02", "2023-03"]))
    assert first.status_code == 201, first.text
    assert first.json()["amount_fen"] == 900_000  # 5% of 180,000.00
    second = await _post(claims, _sales(["2023-01", "2023-02", "2023-03", "2023-04"]))
    third = await _post(claims, _sales(["2023-02", "2023-03", "2023-04"]))
    for refused in (second, third):
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "MONTHS_ALREADY_CLAIMED"
        assert problem["title_zh"] == "店铺的这些月份已申报过"
        assert first.json()["id"] in problem["detail_zh"]
        assert "taobao 店铺 66880001 的 2023年2月、taobao 店铺 66880001 的 2023年3月" in (
            problem["detail_zh"]
        )
        assert problem["details"]["claims"] == {first.json()["id"]: "taobao:66880001/2023-01..2023-03"}
    assert await claims.sql("SELECT count(*) FROM claims") == 1
    # The month after is the store's own: 2023-04..06 is paid (another window, other months).
    later = await _post(claims, _sales(["2023-04", "2023-05", "2023-06"]))
    assert later.status_code == 201, later.text
    assert await claims.sql("SELECT sum(amount_fen) FROM claims") == 1_800_000


async def test_the_store_is_its_platform_id_and_a_withdrawal_frees_its_months(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    await claims.register(claims.OTHER, name="新平另一家公司")
    first = (await _post(claims, _sales(["2023-01", "2023-02", "2023-03"]))).json()
    # Another enterprise, the same store written in full width: the same store; the earlier
    # claim belongs to someone else, so its id is not disclosed.
    other = await _post(
        claims, _sales(["2023-03", "2023-04", "2023-05"], store_id="６６８８０００１"),
        claims.OTHER_ENTERPRISE,
    )  # fmt: skip
    assert other.status_code == 409 and other.json()["code"] == "MONTHS_ALREADY_CLAIMED"
    assert "另一企业的申报" in other.json()["detail_zh"]
    assert first["id"] not in other.text
    withdrawn = await claims.http.post(
        f"/claims/{first['id']}/withdraw", json={}, headers=claims.ENTERPRISE
    )
    assert withdrawn.status_code == 200, withdrawn.text
    again = await _post(claims, _sales(["2023-01", "2023-02", "2023-03", "2023-04"]))
    assert again.status_code == 201, again.text


async def test_the_database_itself_holds_a_month_once(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    claim = (await _post(claims, _sales(["2023-01", "2023-02", "2023-03"]))).json()
    conn = await asyncpg.connect(claims.database_url, server_settings={"search_path": "claims"})
    try:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO claim_once_keys VALUES ('xinping-2021', 'sales-reward', "
                "'store:taobao:66880001/month:2023-02', $1::uuid, $2, 'x')",
                claim["id"], claims.LOCAL,
            )  # fmt: skip
    finally:
        await conn.close()


def _product(name: str, code: str | None = None) -> dict:
    evidence: dict = {
        "product_name": name, "launched_on": "2023-03-10",
        "months": [{"month": m, "online_sales_yuan": "50,000.00"}
                   for m in ("2023-03", "2023-04", "2023-05")],
    }  # fmt: skip
    if code:
        evidence["product_code"] = code
    return {"program_code": "xinping-2021", "item_code": "new-product", "evidence": evidence}


async def test_a_new_product_is_paid_once_whatever_its_spelling_or_name(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    first = await _post(claims, _product("新平橙礼盒", "6901234567890"))
    assert first.status_code == 201 and first.json()["amount_fen"] == 2_000_000, first.text
    spaced = await _post(claims, _product("新平橙 礼盒"))
    assert spaced.status_code == 409 and spaced.json()["code"] == "DUPLICATE_CLAIM"
    assert spaced.json()["title_zh"] == "已申报过"
    renamed = await _post(claims, _product("新平冰糖橙礼盒", "6901234567890"))
    assert renamed.status_code == 409, renamed.text
    assert renamed.json()["code"] == "ALREADY_CLAIMED"
    assert "产品编码 6901234567890" in renamed.json()["detail_zh"]


async def test_a_product_launched_before_publication_is_refused_in_chinese(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    body = _product("老产品")
    # launched 22 days before the plan's publication (2022-10-23), sold inside the period
    body["evidence"] |= {"launched_on": "2022-10-01", "months": [
        {"month": m, "online_sales_yuan": "90,000.00"} for m in ("2022-10", "2022-11", "2022-12")
    ]}  # fmt: skip
    refused = await _post(claims, body)
    assert refused.status_code == 422
    problem = refused.json()
    assert (problem["code"], problem["title_zh"]) == ("PRODUCT_NOT_NEW", "产品不是方案公布后上市的新品")
    assert "上市日期（方案公布之日起研发上市）：2022年10月1日，要求不低于 2022年10月23日" in problem["detail_zh"]


SUPPLY_CHAIN = {
    "full_functions": True, "storage_area_m2": 3_000, "county_ecommerce_clients": 10,
    "annual_parcels": 1_000_000, "annual_revenue_yuan": "5,000,000.00",
}  # fmt: skip


async def test_the_supply_chain_award_is_once_per_enterprise(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    bodies = [
        {"program_code": "xinping-2021", "item_code": "supply-chain",
         "evidence": {"year": year, "figures": SUPPLY_CHAIN}}
        for year in (2023, 2024)
    ]  # fmt: skip
    assert (await _post(claims, bodies[0])).status_code == 201
    second = await _post(claims, bodies[1])
    assert second.status_code == 409 and second.json()["code"] == "DUPLICATE_CLAIM"


LIVESTREAM = {
    "in_production_area_or_scenic_spot": True, "resident_anchors": 3,
    "regular_livestreaming": True, "annual_revenue_yuan": "5,000,000.00",
}  # fmt: skip


async def test_livestream_bases_count_distinct_bases_and_enterprises(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    await claims.register(claims.OTHER, name="新平另一家公司")

    def body(base: str) -> dict:
        return {"program_code": "xinping-2021", "item_code": "livestream-base",
                "evidence": {"year": 2023, "identity": base, "figures": LIVESTREAM}}  # fmt: skip

    mine = (await _post(claims, body("者竜乡芒果园直播基地"))).json()
    taken = await _post(claims, body("者竜乡 芒果园 直播基地"), claims.OTHER_ENTERPRISE)
    assert taken.status_code == 409 and taken.json()["code"] == "ALREADY_CLAIMED"
    for claim_id in (mine["id"],):
        await claims.http.post(f"/claims/{claim_id}/review", json={"outcome": "complete"},
                               headers=claims.ADMIN)  # fmt: skip
        await claims.http.post(f"/claims/{claim_id}/decision", json={"decision": "approve"},
                               headers=claims.MEMBER)  # fmt: skip
    targets = (await claims.http.get("/programs/xinping-2021/targets", headers=claims.AUDITOR)).json()
    bases = {t["code"]: t for t in targets["targets"]}["livestream-bases"]
    assert (bases["actual_value"], bases["met"]) == (1, False)  # >= 2 bases


async def test_an_unlisted_platform_is_a_flag_shown_in_review(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    response = await _post(claims, _sales(["2023-01", "2023-02", "2023-03"], platform="xiaohongshu"))
    assert response.status_code == 201, response.text
    claim = (await claims.http.get(f"/claims/{response.json()['id']}", headers=claims.ADMIN)).json()
    assert len(claim["flags"]) == 1 and claim["flags"][0].startswith("PLATFORM_UNLISTED: 平台 xiaohongshu")
    assert claim["history"][0]["data"]["flags"] == claim["flags"]


async def test_sales_of_2015_are_outside_the_program(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    body = _sales(["2015-01", "2015-02", "2015-03"])
    body["evidence"]["opened_on"] = "2015-01-01"
    refused = await _post(claims, body)
    assert refused.status_code == 422
    assert refused.json()["code"] == "CLAIM_OUTSIDE_PROGRAM_PERIOD"
    assert "2015-01, 2015-02, 2015-03 不在方案申报期间 2022年10月23日至项目验收内" in (
        refused.json()["detail_zh"]
    )


async def test_an_item_says_what_a_claim_needs(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    response = await claims.http.get(
        "/programs/xinping-2021/items/sales-reward", headers=claims.ENTERPRISE
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["claimable"] and item["period"]["claims_from"] == "2022-10-23"
    schema = item["evidence_schema"]
    assert {"store_id", "opened_on", "platform", "months"} <= set(schema["required"])
    assert item["paid_once"]["per"] == "store_month"
    station = (await claims.http.get(
        "/programs/xinping-2021/items/station-upgrade", headers=claims.ENTERPRISE)).json()
    assert set(station["evidence_schema"]["properties"]["figures"]["required"]) == {
        "ecommerce_operation", "livestream_sales", "warehousing_shipping", "retail_sales"
    }
    supply = (await claims.http.get(
        "/programs/xinping-2021/items/supply-chain", headers=claims.ENTERPRISE)).json()
    assert supply["paid_once"] == {"per": "enterprise"}
    assert supply["evidence_schema"]["properties"]["figures"]["properties"]["storage_area_m2"][
        "type"] == "integer"
    # the form in Chinese: each field with its unit and threshold, the quarters on offer
    packaging = (await claims.http.get(
        "/programs/xinping-2021/items/brand-packaging", headers=claims.ENTERPRISE)).json()["form"]
    quarter, units = packaging["fields"]
    assert (quarter["name"], quarter["input"], units["name"], units["input"]) == (
        "quarter", "quarter", "units", "integer")
    assert quarter["choices"][-1] == {"value": "2022Q4", "label_zh": "2022年第4季度"}  # published 2022-10-23
    assert units["threshold_zh"] == "不低于 10,000 个（每个补助 0.20 元）" and units["unit_zh"] == "个"
    assert "新平礼好" in units["label_zh"] and "2022-10-23" in packaging["period_zh"]
    supply_fields = {f["name"]: f for f in supply["form"]["fields"]}
    assert supply_fields["figures.storage_area_m2"]["label_zh"] == "单一或整体仓储面积（平方米）"
    assert supply_fields["figures.storage_area_m2"]["threshold_zh"].startswith("不低于 ")
    service = await claims.http.get("/programs/xinping-2021/items/anchor-training", headers=claims.ENTERPRISE)
    assert service.status_code == 200, service.text  # purchase of service: no form to build
    assert (service.json()["claimable"], service.json()["form"], service.json()["rule"]) == (False, None, None)
    missing = await claims.http.get("/programs/xinping-2021/items/nope", headers=claims.ENTERPRISE)
    assert missing.status_code == 404


async def test_two_overlapping_claims_at_once_one_wins(claims) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    await claims.load_xinping()
    await claims.register()
    answers = await asyncio.gather(
        _post(claims, _sales(["2023-01", "2023-02", "2023-03"])),
        _post(claims, _sales(["2023-02", "2023-03", "2023-04"])),
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    assert await claims.sql("SELECT count(*) FROM claim_once_keys") == 3


async def test_a_resubmitted_claim_cannot_take_months_another_claim_holds(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    first = (await _post(claims, _sales(["2023-01", "2023-02", "2023-03"]))).json()
    second = (await _post(claims, _sales(["2023-04", "2023-05", "2023-06"]))).json()
    returned = await claims.http.post(f"/claims/{second['id']}/review",
                                      json={"outcome": "return", "note": "请核对月份"},
                                      headers=claims.ADMIN)  # fmt: skip
    assert returned.status_code == 200, returned.text
    overlapping = _sales(["2023-03", "2023-04", "2023-05"])["evidence"]
    refused = await claims.http.post(f"/claims/{second['id']}/resubmit",
                                     json={"evidence": overlapping}, headers=claims.ENTERPRISE)  # fmt: skip
    assert refused.status_code == 409 and refused.json()["code"] == "MONTHS_ALREADY_CLAIMED"
    assert first["id"] in refused.json()["detail_zh"]
    # nothing changed: the returned claim still holds its own months
    held = await claims.sql(
        "SELECT string_agg(once_key, ',' ORDER BY once_key) FROM claim_once_keys WHERE claim_id = $1::uuid",
        second["id"],
    )
    assert held.endswith("month:2023-06") and "2023-03" not in held
