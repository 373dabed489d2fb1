"""GET /programs/{code}/targets: each performance target with the actual value computed from
approved claims, logistics' station volumes and service contracts' reported deliverables."""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.contracts import StationRegistered, StationVolumeReported
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

PROVIDER = with_check_character("91530427MA6P00071")
PROVIDER_USER = bearer(person("Chen Trainer", Role.ENTERPRISE, credit_code=PROVIDER))
OPERATOR_XP = with_check_character("92530427MA6T00011")  # station operator in Xinping
OPERATOR_ELSEWHERE = with_check_character("92530402MA6T00021")  # in another county


async def _targets(claims) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = await claims.http.get("/programs/xinping-2021/targets", headers=claims.AUDITOR)
    assert response.status_code == 200, response.text
    return {t["code"]: t for t in response.json()["targets"]}


async def _approve(claims, quarter: str, units: int) -> None:  # type: ignore[no-untyped-def]
    claim = (await claims.submit(units, quarter=quarter)).json()
    await claims.http.post(
        f"/claims/{claim['id']}/review", json={"outcome": "complete"}, headers=claims.ADMIN
    )
    await claims.http.post(
        f"/claims/{claim['id']}/decision", json={"decision": "approve"}, headers=claims.MEMBER
    )


async def test_logo_packaging_units_count_approved_claims_only(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.approved_claim()  # 12,345 units in 2023Q3
    await _approve(claims, "2023Q4", 20_000)
    await claims.submit(30_000, quarter="2024Q1")  # submitted, not approved: not counted
    target = (await _targets(claims))["logo-packaging-units"]
    assert (target["target"], target["actual_value"], target["met"]) == (
        ">= 4,500,000",
        32_345,
        False,
    )
    assert target["source"] == "units of approved claims under brand-packaging"


async def test_unmeasured_targets_say_so(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    targets = await _targets(claims)
    assert len(targets) == 18
    assert (
        targets["new-ecommerce-enterprises"]["actual_value"],
        targets["new-ecommerce-enterprises"]["met"],
    ) == (None, None)
    assert targets["new-products"]["actual_value"] == 0
    assert targets["anchor-trainees"]["actual_value"] is None  # no contract has reported yet


def _volume(
    station: str, operator: str | None, volume_fen: int, year: int = 2023
) -> StationVolumeReported:
    return StationVolumeReported(
        station_id=station, station_name=station, operator_credit_code=operator, year=year,
        month=12, month_volume_fen=0, month_parcels=0, annual_volume_fen=volume_fen, annual_parcels=1,
    )  # fmt: skip


async def test_stations_per_volume_tier_from_logistics(claims, logistics) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    registered = [
        ("st-a", OPERATOR_XP, "530427"),
        ("st-b", None, "530427"),
        ("st-x", None, "530402"),
    ]
    for station, operator, county in registered:
        await logistics(
            StationRegistered(
                station_id=station,
                name=station,
                tier="village",
                county_code=county,
                operator_credit_code=operator,
            ),
            station,
        )
    volumes = [
        _volume("st-a", OPERATOR_XP, 520_000_000),  # 5.2M: the >=5M band and >=200k
        _volume("st-a", OPERATOR_XP, 90_000_000, year=2022),  # an older, lower year
        _volume("st-b", None, 100_000_000),  # exactly 1M: the 1M-5M band
        _volume("st-c", OPERATOR_XP, 99_999_999),  # not registered: placed by its operator
        _volume("st-x", None, 600_000_000),  # registered in another county
        _volume("st-y", OPERATOR_ELSEWHERE, 600_000_000),
    ]
    for v in volumes:
        await logistics(v, v.station_id)
    await eventually(lambda: claims.sql("SELECT count(*) FROM station_volumes"), expect=6)
    await eventually(lambda: claims.sql("SELECT count(*) FROM stations"), expect=3)
    targets = await _targets(claims)
    actual = {
        code: targets[code]["actual_value"]
        for code in ("stations-5m", "stations-1m-5m", "stations-500k-1m", "stations-200k")
    }
    assert actual == {
        "stations-5m": 1,
        "stations-1m-5m": 1,
        "stations-500k-1m": 1,
        "stations-200k": 3,
    }


async def test_contract_deliverables_feed_their_targets(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register(PROVIDER, name="新平县主播培训有限公司", kind="service_provider")
    body = {
        "item_code": "anchor-training", "contract_no": "XP-9", "provider_credit_code": PROVIDER,
        "amount_yuan": "500,000.00", "signed_on": "2023-05-10", "ends_on": "2023-12-31",
    }  # fmt: skip
    contract = (
        await claims.http.post("/programs/xinping-2021/contracts", json=body, headers=claims.ADMIN)
    ).json()
    report = await claims.http.post(
        f"/contracts/{contract['id']}/deliverables/trainee-times/report",
        json={"actual_value": 120},
        headers=PROVIDER_USER,
    )
    assert report.status_code == 200, report.text
    target = (await _targets(claims))["anchor-trainees"]
    assert (target["actual_value"], target["met"], target["target"]) == (120, True, ">= 100")
