"""The station registry over HTTP, with its events on JetStream and its rows in PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration


async def test_register_center_town_and_village_emits_station_registered(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, town, village = await lx.tree()
    assert (center["tier"], center["parent_id"], center["status"]) == (
        "county_center",
        None,
        "active",
    )
    assert (town["tier"], town["parent_id"]) == ("town", center["id"])
    assert (village["tier"], village["parent_id"], village["operator_credit_code"]) == (
        "village",
        town["id"],
        lx.OPERATOR,
    )
    assert center["geo"] == {"lat": 24.07, "lon": 101.99}

    events = await lx.wait_for_events("station_registered", 3)
    assert len(events) == 3
    assert [e["data"]["station_id"] for e in events] == [center["id"], town["id"], village["id"]]
    v = events[2]
    assert v["subject"] == village["id"]
    assert v["data"] == {
        "station_id": village["id"],
        "name": "南碱村站",
        "tier": "village",
        "parent_id": town["id"],
        "county_code": lx.XINPING,
        "operator_credit_code": lx.OPERATOR,
        "opened_on": "2021-06-01",
    }


@pytest.mark.parametrize(
    ("parent", "code"),
    [
        ("center", "STATION_PARENT_INVALID"),  # a village straight under the county center
        ("village", "STATION_PARENT_INVALID"),  # a village under a village
        ("missing", "STATION_PARENT_NOT_FOUND"),
        ("garbage", "INVALID_INPUT"),
    ],
)
async def test_a_bad_parent_is_a_problem_naming_parent_id_and_changes_nothing(
    logistics, parent: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, _town, village = await lx.tree()
    parent_id = {
        "center": center["id"],
        "village": village["id"],
        "missing": str(uuid.uuid4()),
        "garbage": "abc",
    }[parent]
    stations_before = await lx.count("SELECT count(*) FROM stations")
    outbox_before = await lx.count("SELECT count(*) FROM outbox")

    r = await lx.post(lx.BUREAU, "/stations", lx.station_body("village", parent_id, "新村站"))

    problem = lx.assert_problem(r, 422, code, field="parent_id")
    assert problem["status"] == 422 and problem["type"].startswith(
        "https://ruralfund.dev/problems/"
    )
    assert await lx.count("SELECT count(*) FROM stations") == stations_before
    assert await lx.count("SELECT count(*) FROM outbox") == outbox_before
    listed = (
        await lx.get(
            None, "/network/stations", parent_id=parent_id if parent != "garbage" else center["id"]
        )
    ).json()
    assert "新村站" not in [s["name"] for s in listed["items"]]


async def test_one_active_center_per_county_and_unique_names_under_a_parent(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, town, _village = await lx.tree()
    lx.assert_problem(
        await lx.post(lx.BUREAU, "/stations", lx.center_body(name="第二中心")),
        409,
        "STATION_CENTER_EXISTS",
        field="tier",
    )
    lx.assert_problem(
        await lx.post(lx.BUREAU, "/stations", lx.station_body("village", town["id"], "南碱村站")),
        409,
        "STATION_NAME_TAKEN",
        field="name",
    )
    # another county may have its own center
    ruyuan = await lx.station(lx.center_body(county_code="440232", name="乳源县物流中心"))
    assert ruyuan["county_code"] == "440232"
    # and a town there cannot hang under Xinping's center
    r = await lx.post(
        lx.BUREAU,
        "/stations",
        lx.station_body("town", center["id"], "大桥镇站", county_code="440232"),
    )
    lx.assert_problem(r, 422, "STATION_PARENT_INVALID", field="parent_id")


async def test_the_public_list_has_no_contact_details_and_pages(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, town, village = await lx.tree()
    full = (await lx.get(lx.AUDITOR, f"/stations/{village['id']}")).json()
    assert (full["contact_name"], full["contact_phone"]) == ("张站长", "13800000000")

    first = await lx.get(None, "/network/stations", limit=2)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [s["id"] for s in page["items"]] == [center["id"], town["id"]]
    assert all("contact_name" not in s and "contact_phone" not in s for s in page["items"])
    rest = (await lx.get(None, "/network/stations", limit=2, cursor=page["next_cursor"])).json()
    assert [s["id"] for s in rest["items"]] == [village["id"]] and rest["next_cursor"] is None
    villages = (
        await lx.get(None, "/network/stations", tier="village", county_code=lx.XINPING)
    ).json()
    assert [s["name"] for s in villages["items"]] == ["南碱村站"]


async def test_closing_goes_leaves_first_and_a_closed_station_takes_no_children(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, town, village = await lx.tree()
    close = {"closed_on": "2021-12-31", "reason": "并入镇站"}
    lx.assert_problem(
        await lx.post(lx.BUREAU, f"/stations/{town['id']}/close", close),
        409,
        "STATION_HAS_ACTIVE_CHILDREN",
    )
    r = await lx.post(lx.BUREAU, f"/stations/{village['id']}/close", close)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["closed_on"]) == ("closed", "2021-12-31")
    assert (await lx.post(lx.BUREAU, f"/stations/{town['id']}/close", close)).status_code == 200
    r = await lx.post(lx.BUREAU, "/stations", lx.station_body("village", town["id"], "新村站"))
    lx.assert_problem(r, 422, "STATION_PARENT_CLOSED", field="parent_id")


EXPRESS = ["中国邮政", "顺丰速运", "中通快递", "圆通速递", "韵达快递", "申通快递"]


async def _settle(lx, center_id: str, kind: str, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    for name in names:
        body = {"kind": kind, "name": name, "settled_on": "2021-06-01"}
        r = await lx.post(lx.BUREAU, f"/stations/{center_id}/carriers", body)
        assert r.status_code == 201, r.text


async def _coverage(lx, **params: str) -> dict[str, tuple[int, int, bool]]:  # type: ignore[no-untyped-def]
    r = await lx.get(lx.AUDITOR, "/network/coverage", county_code=lx.XINPING, **params)
    assert r.status_code == 200, r.text
    return {t["target"]: (t["required"], t["actual"], t["met"]) for t in r.json()["targets"]}


async def test_coverage_reports_the_centers_xinping_targets(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, _town, _village = await lx.tree()
    await _settle(lx, center["id"], "express", EXPRESS)
    await _settle(lx, center["id"], "bulk_freight", ["德邦物流", "安能物流"])
    for name in ["新平百货", "桂山超市", "戛洒供销社"]:
        body = {"partner_name": name, "started_on": "2021-07-01"}
        r = await lx.post(lx.BUREAU, f"/stations/{center['id']}/retail-partnerships", body)
        assert r.status_code == 201, r.text

    r = await lx.get(lx.AUDITOR, "/network/coverage", county_code=lx.XINPING)
    assert r.status_code == 200, r.text
    body = r.json()
    # as_of defaults to the county's today by the dev clock
    assert (body["center_id"], body["as_of"], body["all_met"]) == (
        center["id"],
        "2022-01-10",
        False,
    )
    assert await _coverage(lx) == {
        "express_companies": (6, 6, True),
        "bulk_freight_companies": (3, 2, False),
        "retail_partnerships": (3, 3, True),
    }
    assert sorted(c["name"] for c in body["carriers"]) == sorted([*EXPRESS, "德邦物流", "安能物流"])
    r = await lx.get(lx.AUDITOR, "/network/coverage", county_code="440232")
    lx.assert_problem(r, 404, "COUNTY_CENTER_NOT_FOUND")


async def test_carriers_settle_in_the_center_only_and_stop_counting_when_they_leave(
    logistics,
) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, town, _village = await lx.tree()
    await _settle(lx, center["id"], "express", EXPRESS)
    body = {"kind": "express", "name": "极兔速递", "settled_on": "2021-06-01"}
    r = await lx.post(lx.BUREAU, f"/stations/{town['id']}/carriers", body)
    lx.assert_problem(r, 422, "STATION_NOT_A_CENTER")

    listed = (await lx.get(lx.AUDITOR, "/network/coverage", county_code=lx.XINPING)).json()
    post_office = next(c["id"] for c in listed["carriers"] if c["name"] == "中国邮政")
    leave = f"/stations/{center['id']}/carriers/{post_office}/leave"
    r = await lx.post(lx.BUREAU, leave, {"left_on": "2021-12-31"})
    assert r.status_code == 200, r.text
    assert (await _coverage(lx))["express_companies"] == (6, 5, False)
    assert (await _coverage(lx, as_of="2021-12-30"))["express_companies"] == (6, 6, True)
    lx.assert_problem(
        await lx.post(lx.BUREAU, leave, {"left_on": "2022-01-01"}), 409, "CARRIER_ALREADY_LEFT"
    )


async def test_openapi_and_asyncapi_describe_the_service(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    asyncapi = (await lx.get(None, "/asyncapi.json")).json()
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert addresses == {
        f"{lx.namespace}.logistics.evt.station_registered.v1",
        f"{lx.namespace}.logistics.evt.station_volume_reported.v1",
        f"{lx.namespace}.logistics.evt.delivery_sla_breached.v1",
        f"{lx.namespace}.logistics.cmd.record_scans.v1",  # consumed: scans from sorting lines
    }
    openapi = lx.http.app.openapi()
    report = openapi["paths"]["/stations/{station_id}/volumes"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in report["parameters"]]
