"""The 24-hour promise end to end on real NATS + PostgreSQL: the same scans delivered in order
once, or shuffled, re-batched, redelivered and replayed, give the same parcels, statuses and
breaches (each emitted once); on-time rates per station and town by Asia/Shanghai day and month.

The scenario (local times, +08:00), in two phases with a sweep after each:
  A1-A4  left 07-03 08:0x, delivered the same day                  on time
  B      left 07-03 08:00, delivered 07-04 10:00                    late    -> breach at sweep 1
  C      left 07-03 09:00, reached V2; delivered 07-04 20:00 in phase 2      -> breach at sweep 1 only
  D      left 07-03 09:30; a delivery at 07-04 07:00 arrives in phase 2     -> breach at sweep 1
         (the scanner was offline): on time by the data, but the breach was already reported
  E      left 07-04 11:00; delivered 07-05 09:00 (phase 2, before its deadline) -> no breach
  F      left 07-03 10:00, returned 07-03 20:00                     returned
  G      only received                                               no promise
  H      left 07-04 11:30, nothing since                             -> breach at sweep 2
  I      left 07-03 23:50, delivered 07-04 23:40 (phase 2)          on time, counts on 07-03
  J      left 07-04 00:10 (07-03 16:10 UTC), delivered 07-04 09:00  on time, counts on 07-04
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from ruralfund_common.testing.infra import create_database, drop_database
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

SWEEP_1 = "2021-07-04T12:00:00+08:00"
SWEEP_2 = "2021-07-06T12:00:00+08:00"
EXPECTED_BREACHES = ["B", "C", "D", "H"]
# parcel, kind, station name, local time, declared destination
Step = tuple[str, str, str, str, str | None]
PHASE_1: list[Step] = [
    *[
        s
        for p, dest, m in (("A1", "V1", 1), ("A2", "V1", 2), ("A3", "V1", 3), ("A4", "V2", 4))
        for s in (
            (p, "received_at_center", "C", "2021-07-03T07:00", None),
            (p, "left_center", "C", f"2021-07-03T08:0{m}", dest),
            (p, "arrived_at_town", "T1" if dest == "V1" else "T2", "2021-07-03T11:00", None),
            (p, "arrived_at_village", dest, "2021-07-03T15:00", None),
            (p, "delivered", dest, "2021-07-03T17:30", None),
        )
    ],
    ("B", "left_center", "C", "2021-07-03T08:00", "V1"),
    ("B", "delivered", "V1", "2021-07-04T10:00", None),
    ("C", "left_center", "C", "2021-07-03T09:00", None),
    ("C", "arrived_at_village", "V2", "2021-07-03T15:00", None),
    ("D", "left_center", "C", "2021-07-03T09:30", "V1"),
    ("E", "left_center", "C", "2021-07-04T11:00", "V2"),
    ("F", "left_center", "C", "2021-07-03T10:00", "V1"),
    ("F", "returned", "V1", "2021-07-03T20:00", None),
    ("G", "received_at_center", "C", "2021-07-03T07:30", None),
    ("H", "left_center", "C", "2021-07-04T11:30", "V1"),
    ("I", "left_center", "C", "2021-07-03T23:50", "V2"),
    ("J", "left_center", "C", "2021-07-04T00:10", "V1"),
    ("J", "delivered", "V1", "2021-07-04T09:00", None),
]
PHASE_2: list[Step] = [
    ("C", "delivered", "V2", "2021-07-04T20:00", None),  # late, after its breach: no second one
    ("D", "delivered", "V1", "2021-07-04T07:00", None),  # in time, but reported after the breach
    ("E", "arrived_at_town", "T2", "2021-07-05T06:00", None),
    ("E", "delivered", "V2", "2021-07-05T09:00", None),  # before E's deadline: no breach
    ("I", "delivered", "V2", "2021-07-04T23:40", None),
]


async def _network(lx) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Center C, towns T1 and T2, villages V1 (under T1) and V2 (under T2): name -> id."""
    center, t1, v1 = await lx.tree()
    t2 = await lx.station(lx.station_body("town", center["id"], "漠沙镇站"))
    v2 = await lx.station(lx.station_body("village", t2["id"], "曼线村站"))
    return {"C": center["id"], "T1": t1["id"], "V1": v1["id"], "T2": t2["id"], "V2": v2["id"]}


def _scans(steps: list[Step], ids: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for parcel, kind, station, local, dest in steps:
        scan = {
            "scan_id": f"{parcel}-{kind}-{local[-5:]}",
            "parcel_id": parcel,
            "station_id": ids[station],
            "kind": kind,
            "scanned_at": f"{local}:00+08:00",
        }
        if dest:
            scan["destination_station_id"] = ids[dest]
        out.append(scan)
    return out


async def _applied(lx, scans: int, commands: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until the stored scans and the handled commands reach these counts."""

    async def done() -> tuple[int, int]:
        return (
            await lx.count("SELECT count(*) FROM scans"),
            await lx.count("SELECT count(*) FROM inbox"),
        )

    await eventually(done, expect=(scans, commands), description="scans applied")


async def _in_order(lx, ids: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The reference: each phase as one command, in time order, once."""
    await lx.set_clock(SWEEP_1)
    await lx.publish_scans(_scans(PHASE_1, ids))
    await _applied(lx, len(PHASE_1), 1)
    assert await lx.sweep() == 3
    await lx.set_clock(SWEEP_2)
    await lx.publish_scans(_scans(PHASE_2, ids))
    await _applied(lx, len(PHASE_1) + len(PHASE_2), 2)
    assert await lx.sweep() == 1


async def _chaos_phase(lx, scans: list[dict[str, Any]], rnd: random.Random) -> int:  # type: ignore[no-untyped-def]
    """Shuffled, cut into batches of 1..6; every other command also redelivered under another
    Nats-Msg-Id; one batch over HTTP; some scans re-sent in new commands. Returns the number
    of distinct commands published."""
    shuffled = scans[:]
    rnd.shuffle(shuffled)
    commands = 0
    i = 0
    while i < len(shuffled):
        batch = shuffled[i : i + rnd.randint(1, 6)]
        i += len(batch)
        if commands == 1:
            r = await lx.post_scans(batch)
            assert r.status_code == 200 and r.json()["rejected"] == [], r.text
            commands -= 1  # not a command: no inbox row
        else:
            env_id = await lx.publish_scans(batch)
            if commands % 2 == 0:
                await lx.publish_scans(batch, envelope_id=env_id, msg_id=f"{env_id}:redelivered")
        commands += 1
        if rnd.random() < 0.3:  # the sender retries some scans in a new command
            await lx.publish_scans(rnd.sample(batch, k=1))
            commands += 1
    return commands


async def _shuffled(lx, ids: dict[str, str], seed: int) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(seed)
    await lx.set_clock(SWEEP_1)
    phase_1 = _scans(PHASE_1, ids)
    commands = await _chaos_phase(lx, phase_1, rnd)
    await _applied(lx, len(PHASE_1), commands)
    assert await lx.sweep() == 3
    assert await lx.sweep() == 0  # nothing twice
    await lx.set_clock(SWEEP_2)
    commands += await _chaos_phase(lx, _scans(PHASE_2, ids), rnd)
    await lx.publish_scans(phase_1)  # the whole first phase replayed after the breaches
    commands += 1
    await _applied(lx, len(PHASE_1) + len(PHASE_2), commands)
    assert await lx.sweep() == 1


async def _state(lx, ids: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Parcels, statuses and breach events, with station ids replaced by station names."""
    names = {v: k for k, v in ids.items()}

    def plain(row: dict[str, Any]) -> dict[str, Any]:
        # updated_at and merged_from_count (the optimistic-write token) depend on the batching
        skip = ("updated_at", "merged_from_count")
        out = {k: names.get(str(v), v) for k, v in row.items() if k not in skip}
        out["breach_emitted_at"] = row["breach_emitted_at"] is not None
        return out

    parcels = [plain(r) for r in await lx.fetch("SELECT * FROM parcels ORDER BY parcel_id")]
    statuses = {p["parcel_id"]: (await lx.parcel(p["parcel_id"]))["status"] for p in parcels}
    await lx.wait_for_events("delivery_sla_breached", len(EXPECTED_BREACHES))
    assert await lx.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    breaches = []
    for e in await lx.events("delivery_sla_breached"):
        d = e["data"]
        breaches.append(
            (
                d["parcel_id"],
                names.get(d["destination_station_id"]),
                names.get(d["town_station_id"]),
                d["left_center_at"],
                d["deadline_at"],
                d["last_scan_kind"],
            )
        )
    return {"parcels": parcels, "statuses": statuses, "breaches": sorted(breaches)}


async def test_replayed_and_shuffled_batches_give_the_same_state(
    logistics, start_logistics: Callable[..., Any], pg_admin_dsn: str, namespace: str
) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    ids = await _network(lx)
    await _in_order(lx, ids)
    reference = await _state(lx, ids)
    assert [b[0] for b in reference["breaches"]] == EXPECTED_BREACHES  # each once
    assert reference["statuses"] == {
        **dict.fromkeys(["A1", "A2", "A3", "A4", "B", "C", "D", "E", "I", "J"], "delivered"),
        "F": "returned",
        "G": "at_center",
        "H": "in_transit",
    }

    for seed in (1, 2):
        db = f"t_{uuid.uuid4().hex[:12]}"
        url = await create_database(pg_admin_dsn, db)
        try:
            async with start_logistics(url, f"{namespace}s{seed}") as other:
                other_ids = await _network(other)
                await _shuffled(other, other_ids, seed)
                assert await _state(other, other_ids) == reference
        finally:
            await drop_database(pg_admin_dsn, db)


async def test_on_time_rates_per_station_and_town_by_local_day_and_month(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    ids = await _network(lx)
    await _in_order(lx, ids)

    r = await lx.get(
        lx.AUDITOR,
        "/sla/on-time",
        county_code=lx.XINPING,
        **{"from": "2021-07-03", "to": "2021-07-04"},
    )
    assert r.status_code == 200, r.text
    names = {v: k for k, v in ids.items()}
    rows = {
        (x["period"], names.get(x["station_id"])): (
            x["on_time"],
            x["late"],
            x["returned"],
            x["on_time_rate_bp"],
        )
        for x in r.json()["rows"]
    }
    assert rows == {
        ("2021-07-03", "V1"): (4, 1, 1, 8_000),  # A1-A3, D on time; B late; F returned
        ("2021-07-03", "V2"): (2, 1, 0, 6_667),  # A4 and I (left 23:50) on time; C late
        ("2021-07-04", "V1"): (1, 1, 0, 5_000),  # J (left 00:10 local) on time; H overdue
        ("2021-07-04", "V2"): (1, 0, 0, 10_000),  # E
    }  # G never left the center: it is in no row
    assert r.json()["total"]["on_time_rate"] == "72.73%"  # 8 of 11 decided

    month = await lx.get(
        lx.AUDITOR,
        "/sla/on-time",
        county_code=lx.XINPING,
        by="town",
        granularity="month",
        **{"from": "2021-07-15", "to": "2021-07-15"},
    )
    body = month.json()
    assert (body["from"], body["to"]) == ("2021-07-01", "2021-07-31")
    assert {
        (x["period"], names[x["station_id"]]): (x["on_time"], x["late"], x["on_time_rate"])
        for x in body["rows"]
    } == {("2021-07-01", "T1"): (5, 2, "71.43%"), ("2021-07-01", "T2"): (3, 1, "75.00%")}

    # before the parcels' deadlines pass, an undelivered parcel is pending, not late
    await lx.set_clock("2021-07-04T12:00:00+08:00")
    early = await lx.get(
        lx.AUDITOR,
        "/sla/on-time",
        county_code=lx.XINPING,
        **{"from": "2021-07-04", "to": "2021-07-04"},
    )
    v1 = next(x for x in early.json()["rows"] if x["station_id"] == ids["V1"])
    assert (v1["on_time"], v1["late"], v1["pending"]) == (1, 0, 1)


async def test_the_background_sweep_reports_a_breach_without_being_asked(
    start_logistics: Callable[..., Any], database_url: str, namespace: str
) -> None:
    from ruralfund_logistics.settings import LogisticsSettings

    async with start_logistics(
        database_url, namespace, own=LogisticsSettings(sla_sweep_seconds=0.1), now=SWEEP_1
    ) as lx:
        ids = await _network(lx)
        await lx.publish_scans(_scans([("K", "left_center", "C", "2021-07-04T11:00", "V1")], ids))
        await _applied(lx, 1, 1)
        assert (await lx.parcel("K"))["counts_as"] == "pending"
        await lx.set_clock("2021-07-05T11:00:01+08:00")  # one second past the deadline
        [event] = await lx.wait_for_events("delivery_sla_breached", 1)
        assert event["subject"] == "K"
        assert (event["data"]["deadline_at"], event["data"]["county_code"]) == (
            "2021-07-05T03:00:00Z",
            lx.XINPING,
        )
        assert (await lx.parcel("K"))["breach_reported_at"] is not None
