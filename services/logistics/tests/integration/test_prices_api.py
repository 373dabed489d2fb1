"""Range prices over HTTP: a carrier publishes its own bands, anyone reads the board and its
history, the bureau sets the baseline; the target report says met or not."""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration

EMS_CODE = "91530427MA6P2W8T4C"  # the center operator's code doubles as a carrier's here
EMS = person("EMS Xinping", Role.ENTERPRISE, credit_code=EMS_CODE)


def bands(*spec: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"up_to_g": g, "min_price": lo, "max_price": hi} for g, lo, hi in spec]


async def _carriers(lx) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    center, _town, _village = await lx.tree()
    ids = {}
    for kind, name, code in [
        ("express", "中国邮政", EMS_CODE),
        ("express", "中通快递", None),
        ("bulk_freight", "德邦物流", None),
    ]:
        body = {"kind": kind, "name": name, "settled_on": "2021-06-01"} | (
            {"credit_code": code} if code else {}
        )
        r = await lx.post(lx.BUREAU, f"/stations/{center['id']}/carriers", body)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return center["id"], ids


async def test_carriers_publish_ranges_and_the_public_reads_board_and_history(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, ids = await _carriers(lx)
    ems = f"/stations/{center}/carriers/{ids['中国邮政']}/prices"
    first = {
        "effective_from": "2022-01-10",
        "bands": bands((1000, "3.00", "4.50"), (3000, "5.00", "7.00")),
    }
    r = await lx.post(EMS, ems, first)  # the carrier itself, by its credit code
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["bands"][1]) == (
        1,
        {
            "above_g": 1000,
            "up_to_g": 3000,
            "min_price": "5.00",
            "max_price": "7.00",
            "min_fen": 500,
            "max_fen": 700,
        },
    )
    cheaper = {
        "effective_from": "2022-02-01",
        "bands": bands((1000, "2.80", "4.00"), (3000, "4.50", "6.50")),
        "note": "统仓共配后降价",
    }
    assert (await lx.post(EMS, ems, cheaper)).json()["version"] == 2
    lx.assert_problem(
        await lx.post(EMS, f"/stations/{center}/carriers/{ids['中通快递']}/prices", first),
        403,
        "NOT_THE_CARRIER",
    )
    lx.assert_problem(
        await lx.post(EMS, ems, first | {"effective_from": "2022-01-09"}),
        422,
        "PRICE_BACKDATED",
        "effective_from",
    )
    lx.assert_problem(
        await lx.post(EMS, ems, first | {"bands": bands((1000, "4.00", "3.00"))}),
        422,
        "PRICE_RANGE_INVALID",
        "bands[0].max_price",
    )
    lx.assert_problem(
        await lx.post(
            EMS, ems, {**first, "bands": [{"up_to_g": 1000, "min_price": 3.0, "max_price": "4.00"}]}
        ),
        422,
        "INVALID_INPUT",
    )

    board = (await lx.get(None, "/prices", county_code=lx.XINPING)).json()  # public
    by_name = {c["carrier_name"]: c for c in board["carriers"]}
    assert by_name["中国邮政"]["in_force"]["version"] == 1
    assert [u["version"] for u in by_name["中国邮政"]["upcoming"]] == [2]
    assert by_name["中通快递"]["in_force"] is None
    later = (await lx.get(None, "/prices", county_code=lx.XINPING, as_of="2022-02-01")).json()
    ems_later = next(c for c in later["carriers"] if c["carrier_name"] == "中国邮政")
    assert ems_later["in_force"]["bands"][0]["min_price"] == "2.80"

    history = (await lx.get(None, "/prices/history", county_code=lx.XINPING)).json()
    assert [(v["carrier_name"], v["version"]) for v in history["versions"]] == [
        ("中国邮政", 2),
        ("中国邮政", 1),
    ]
    assert "published_by" not in history["versions"][0]  # who typed it in is not public
    assert await lx.count("SELECT count(*) FROM price_bands") == 4


async def test_the_price_target_is_met_or_not_against_the_baseline(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, ids = await _carriers(lx)
    r = await lx.get(None, "/prices/target", county_code=lx.XINPING)
    lx.assert_problem(r, 404, "PRICE_BASELINE_NOT_SET")
    baseline = {
        "county_code": lx.XINPING,
        "target": "xinping-2021",
        "reference_weight_g": 3000,
        "price": "8.00",
        "measured": "2020 年县内快递驿站 3 公斤农产品平均发货价",
    }
    r = await lx.post(lx.BUREAU, "/prices/baseline", baseline)
    assert (r.status_code, r.json()["price_fen"], r.json()["target_reduction_bp"]) == (
        201,
        800,
        1000,
    ), r.text
    lx.assert_problem(await lx.post(EMS, "/prices/baseline", baseline), 403, "ROLE_REQUIRED")

    async def publish(name: str, lo: str, hi: str, day: str = "2022-01-10") -> None:
        body = {"effective_from": day, "bands": bands((1000, "2.00", "3.00"), (3000, lo, hi))}
        r = await lx.post(lx.BUREAU, f"/stations/{center}/carriers/{ids[name]}/prices", body)
        assert r.status_code == 201, r.text

    await publish("中国邮政", "6.50", "7.50")  # middle 7.00
    await publish("中通快递", "7.00", "7.42")  # middle 7.21
    await publish("德邦物流", "1.00", "1.00")  # bulk freight: not an express parcel price
    target = (await lx.get(None, "/prices/target", county_code=lx.XINPING)).json()
    assert (
        target["carriers_counted"],
        target["average_price"],
        target["change"],
        target["met"],
    ) == (
        2,
        "7.11",  # 7.105 rounded half up
        "-11.19%",  # (7.105 - 8.00) / 8.00 = -11.1875 %
        True,
    )
    await publish("中通快递", "7.50", "8.00", day="2022-03-01")  # middle 7.75 from March
    march = (
        await lx.get(None, "/prices/target", county_code=lx.XINPING, as_of="2022-03-01")
    ).json()
    assert (march["average_price"], march["change"], march["met"]) == ("7.38", "-7.81%", False)

    corrected = baseline | {"price": "8.50", "correction_reason": "抽样复核后更正"}
    r = await lx.post(lx.BUREAU, "/prices/baseline", corrected)
    assert r.json()["revision"] == 2, r.text
    march = (
        await lx.get(None, "/prices/target", county_code=lx.XINPING, as_of="2022-03-01")
    ).json()
    assert (march["change"], march["met"], len(march["baseline_history"])) == ("-13.24%", True, 2)


async def test_certified_enterprises_are_listed_with_the_prices(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, _ids = await _carriers(lx)
    path = f"/stations/{center}/certified-enterprises"
    body = {"credit_code": lx.OPERATOR, "name": "新平礼好农业", "certified_on": "2021-09-01"}
    r = await lx.post(lx.BUREAU, path, body)
    assert r.status_code == 201, r.text
    lx.assert_problem(
        await lx.post(lx.BUREAU, path, body), 409, "SHIPPER_ALREADY_CERTIFIED", "credit_code"
    )
    board = (await lx.get(None, "/prices", county_code=lx.XINPING)).json()
    assert [e["name"] for e in board["certified_enterprises"]] == ["新平礼好农业"]
    revoke = await lx.post(
        lx.BUREAU, f"{path}/{r.json()['id']}/revoke", {"revoked_on": "2022-01-05", "reason": "停业"}
    )
    assert revoke.status_code == 200, revoke.text
    assert (await lx.get(None, "/prices", county_code=lx.XINPING)).json()[
        "certified_enterprises"
    ] == []
    again = await lx.get(None, "/prices", county_code=lx.XINPING, as_of="2022-01-04")
    assert len(again.json()["certified_enterprises"]) == 1


async def test_a_person_of_the_enterprise_cannot_certify_or_revoke_it(logistics) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: one conflict-of-interest rule in every service - a bureau admin whose own code
    or a link is the enterprise is refused RECUSAL_REQUIRED, and nothing is certified."""
    lx = logistics
    center, _ids = await _carriers(lx)
    path = f"/stations/{center}/certified-enterprises"
    body = {"credit_code": lx.OPERATOR, "name": "新平礼好农业", "certified_on": "2021-09-01"}
    conflicted = (
        person("Own Bureau", Role.BUREAU_ADMIN, Role.ENTERPRISE, credit_code=lx.OPERATOR),
        person("Linked Bureau", Role.BUREAU_ADMIN, linked=[lx.OPERATOR]),
    )
    for who in conflicted:
        refused = lx.assert_problem(await lx.post(who, path, body), 403, "RECUSAL_REQUIRED")
        assert lx.OPERATOR in refused["detail_zh"] and "回避" in refused["title_zh"]
    board = (await lx.get(None, "/prices", county_code=lx.XINPING)).json()
    assert board["certified_enterprises"] == []
    certified = await lx.post(lx.BUREAU, path, body)
    assert certified.status_code == 201, certified.text
    revoke = f"{path}/{certified.json()['id']}/revoke"
    for who in conflicted:
        r = await lx.post(who, revoke, {"revoked_on": "2022-01-05", "reason": "停业"})
        lx.assert_problem(r, 403, "RECUSAL_REQUIRED")
    board = (await lx.get(None, "/prices", county_code=lx.XINPING)).json()
    assert [e["name"] for e in board["certified_enterprises"]] == ["新平礼好农业"]
