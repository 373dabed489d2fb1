"""Monthly station volumes over HTTP: StationVolumeReported carries the annual total so far,
corrections re-emit it, Idempotency-Key replays answer once, operators report only their own."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

EVENT = "station_volume_reported"


def month(m: int, volume: str | None = None, parcels: int = 100, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"year": 2021, "month": m, "parcels": parcels}
    if volume is not None:
        body["volume"] = volume
    return body | kw


async def test_each_monthly_report_emits_the_annual_total_so_far(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, _town, village = await lx.tree()
    path = f"/stations/{village['id']}/volumes"
    r = await lx.post(lx.OPERATOR_ZHANG, path, month(7, "100,000.00", 1000))
    assert r.status_code == 201, r.text
    assert (r.json()["revision"], r.json()["volume_fen"], r.json()["annual"]["volume"]) == (
        1,
        10_000_000,
        "100,000.00",
    )
    r = await lx.post(lx.OPERATOR_ZHANG, path, month(8, volume_fen=9_999_999, parcels=900))
    assert r.status_code == 201, r.text
    annual = r.json()["annual"]
    assert (
        annual["volume_fen"],
        annual["parcels"],
        annual["months_reported"],
        annual["award_tier"],
    ) == (19_999_999, 1900, [7, 8], None)  # 199,999.99 yuan: one fen short of the lowest tier

    events = await lx.wait_for_events(EVENT, 2)
    assert len(events) == 2
    assert [
        (
            e["data"]["month"],
            e["data"]["month_volume_fen"],
            e["data"]["annual_volume_fen"],
            e["data"]["annual_parcels"],
        )
        for e in events
    ] == [(7, 10_000_000, 10_000_000, 1000), (8, 9_999_999, 19_999_999, 1900)]
    data = events[1]["data"]
    assert (
        data["station_id"],
        data["station_name"],
        data["operator_credit_code"],
        data["year"],
    ) == (village["id"], "南碱村站", lx.OPERATOR, 2021)
    assert data["correction_reason"] is None and events[1]["subject"] == village["id"]


async def test_a_correction_needs_a_reason_and_re_emits_the_new_total(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, _town, village = await lx.tree()
    path = f"/stations/{village['id']}/volumes"
    await lx.post(lx.OPERATOR_ZHANG, path, month(7, "100,000.00", 1000))
    await lx.post(lx.OPERATOR_ZHANG, path, month(8, "99,999.99", 900))
    r = await lx.post(lx.OPERATOR_ZHANG, path, month(8, "100,000.00", 901))
    lx.assert_problem(r, 409, "VOLUME_ALREADY_REPORTED", field="correction_reason")

    r = await lx.post(
        lx.OPERATOR_ZHANG, path, month(8, "100,000.00", 901, correction_reason="漏记一笔订单")
    )
    assert r.status_code == 201, r.text
    assert (r.json()["revision"], r.json()["annual"]["volume"]) == (2, "200,000.00")
    assert (
        r.json()["annual"]["award_tier"]["award"] == "20,000.00"
    )  # exactly 200,000.00 yuan qualifies

    events = await lx.wait_for_events(EVENT, 3)
    assert len(events) == 3
    last = events[2]["data"]
    assert (
        last["month"],
        last["month_volume_fen"],
        last["annual_volume_fen"],
        last["annual_parcels"],
        last["correction_reason"],
    ) == (8, 10_000_000, 20_000_000, 1901, "漏记一笔订单")

    got = await lx.get(lx.AUDITOR, path, year=2021)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(m["month"], m["revision"], m["volume"]) for m in body["months"]] == [
        (7, 1, "100,000.00"),
        (8, 2, "100,000.00"),
    ]
    assert (body["annual"]["volume_fen"], body["annual"]["award_tier"]["award_fen"]) == (
        20_000_000,
        2_000_000,
    )
    assert await lx.count("SELECT count(*) FROM station_volume_reports") == 3  # history is kept


async def test_replaying_an_idempotency_key_answers_the_same_and_emits_once(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, _town, village = await lx.tree()
    path = f"/stations/{village['id']}/volumes"
    first = await lx.post(lx.OPERATOR_ZHANG, path, month(7, "412,345.60", 2000), key="jul-2021")
    again = await lx.post(lx.OPERATOR_ZHANG, path, month(7, "412,345.60", 2000), key="jul-2021")
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    reused = await lx.post(lx.OPERATOR_ZHANG, path, month(7, "412,345.61", 2000), key="jul-2021")
    lx.assert_problem(reused, 409, "IDEMPOTENCY_KEY_REUSED")

    # a later report is relayed after the first one: once it is on the stream, a duplicate would be too
    sentinel = await lx.post(lx.OPERATOR_ZHANG, path, month(8, "1.00", 1), key="aug-2021")
    assert sentinel.status_code == 201, sentinel.text
    events = await lx.wait_for_events(EVENT, 2)
    assert [e["data"]["month"] for e in events] == [7, 8]
    assert await lx.count("SELECT count(*) FROM station_volume_reports WHERE month = 7") == 1
    assert (
        await lx.count(
            "SELECT count(*) FROM outbox WHERE subject = 'logistics.evt.station_volume_reported.v1'"
        )
        == 2
    )


async def test_an_enterprise_cannot_report_for_another_operators_station(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, town, village = await lx.tree()
    r = await lx.post(
        lx.OTHER_ENTERPRISE, f"/stations/{village['id']}/volumes", month(7, "1,000.00")
    )
    lx.assert_problem(r, 403, "NOT_STATION_OPERATOR")
    # nor for a station without an operator, nor read someone else's figures
    lx.assert_problem(
        await lx.post(lx.OPERATOR_ZHANG, f"/stations/{town['id']}/volumes", month(7, "1.00")),
        403,
        "NOT_STATION_OPERATOR",
    )
    lx.assert_problem(
        await lx.get(lx.OTHER_ENTERPRISE, f"/stations/{village['id']}/volumes", year=2021),
        403,
        "NOT_STATION_OPERATOR",
    )
    assert await lx.count("SELECT count(*) FROM station_volume_reports") == 0
    assert await lx.count("SELECT count(*) FROM outbox WHERE subject LIKE '%volume%'") == 0
    # the bureau may enter a report for any station (e.g. from a paper form)
    assert (
        await lx.post(lx.BUREAU, f"/stations/{town['id']}/volumes", month(7, "1.00"))
    ).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (month(7, "412,345.605"), 422, "VOLUME_AMOUNT_INVALID", "volume"),
        (month(7, "41,23,45.60"), 422, "VOLUME_AMOUNT_INVALID", "volume"),
        (month(7, "1.00", volume_fen=100), 422, "VOLUME_AMOUNT_INVALID", "volume"),
        (month(7), 422, "VOLUME_AMOUNT_INVALID", "volume"),
        (month(7, volume=412345.6), 422, "INVALID_INPUT", "volume"),  # a JSON float is never money
        (month(7, volume_fen=100.0), 422, "INVALID_INPUT", "volume_fen"),
        (
            month(7, "1.00", volume_yuan="1.00"),
            422,
            "INVALID_INPUT",
            "volume_yuan",
        ),  # unknown field
        (
            month(1, "1.00", year=2022),
            422,
            "VOLUME_MONTH_NOT_ENDED",
            "month",
        ),  # the dev clock says 2022-01-10
        (month(5, "1.00"), 422, "VOLUME_BEFORE_OPENING", "month"),  # opened 2021-06-01
        (
            month(7, "1.00", correction_reason="typo"),
            422,
            "VOLUME_NOTHING_TO_CORRECT",
            "correction_reason",
        ),
    ],
)
async def test_bad_reports_are_refused_with_the_field(logistics, body, status, code, field) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    _center, _town, village = await lx.tree()
    r = await lx.post(lx.OPERATOR_ZHANG, f"/stations/{village['id']}/volumes", body)
    lx.assert_problem(r, status, code, field=field)
    assert await lx.count("SELECT count(*) FROM station_volume_reports") == 0


async def test_concurrent_reports_of_one_station_each_carry_every_month_before_them(
    logistics,
) -> None:  # type: ignore[no-untyped-def]
    """Claims pre-fills the station-upgrade claim from the latest event, so the last event of a
    year must carry the true total even when months are reported at the same moment."""
    import asyncio

    lx = logistics
    _center, _town, village = await lx.tree()
    path = f"/stations/{village['id']}/volumes"
    months = range(6, 13)
    answers = await asyncio.gather(
        *(
            lx.post(lx.OPERATOR_ZHANG, path, month(m, volume_fen=m * 1_000_000, parcels=m))
            for m in months
        )
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    events = await lx.wait_for_events(EVENT, len(months))
    totals = [e["data"]["annual_volume_fen"] for e in events]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)  # each adds one month
    assert totals[-1] == sum(m * 1_000_000 for m in months) == 63_000_000
    assert events[-1]["data"]["annual_parcels"] == sum(months)
    r = await lx.post(
        lx.OPERATOR_ZHANG, path, month(6, volume_fen=0, parcels=0, correction_reason="6 月尚未营业")
    )
    assert r.json()["annual"]["volume_fen"] == 57_000_000, r.text
    last = (await lx.wait_for_events(EVENT, len(months) + 1))[-1]["data"]
    assert (last["month"], last["annual_volume_fen"], last["correction_reason"]) == (
        6,
        57_000_000,
        "6 月尚未营业",
    )
