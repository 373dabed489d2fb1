"""Money edge cases over HTTP against logistics: a station's monthly volume (yuan text or
integer fen) and the price baseline refuse every amount that is not exact, non-negative and
within the service's limits with a 4xx problem naming the field, and store nothing. Valid
requests at the limits are accepted (positive control), and reading twelve months at the
monthly ceiling back (a sum far above any one month) is no 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

MAX_MONTH_VOLUME_YUAN = "10,000,000,000.00"  # the service's monthly ceiling


async def _post(lx: Any, path: str, body: dict[str, Any]) -> Any:
    return await lx.call("POST", path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})


async def _counts(lx: Any) -> tuple[int, int]:
    return (
        await lx.sql("SELECT count(*) FROM station_volume_reports"),
        await lx.sql("SELECT count(*) FROM price_baselines"),
    )


async def test_monthly_volumes(serve: Any, hostile: Any) -> None:
    lx = await serve("logistics")
    volumes = f"/stations/{lx.ids['station_id']}/volumes"
    before = await _counts(lx)
    month = {"year": 2022, "month": 1, "parcels": 10}
    for text in (*hostile.HOSTILE_YUAN, *hostile.HOSTILE_YUAN_JSON, "10,000,000,000.01"):
        hostile.assert_refused(await _post(lx, volumes, month | {"volume": text}), "volume")
    present = [f for f in hostile.HOSTILE_FEN if f is not None]  # null: "give one of the two"
    for fen in (*present, 10_000_000_000 * 100 + 1, 2**63 - 1):
        hostile.assert_refused(await _post(lx, volumes, month | {"volume_fen": fen}), "volume_fen")
    both = month | {"volume": "1.00", "volume_fen": 100}
    hostile.assert_refused(await _post(lx, volumes, both), "volume")
    assert await _counts(lx) == before
    for m in range(1, 13):  # every month at the ceiling
        r = await _post(lx, volumes, {"year": 2022, "month": m, "parcels": 1, "volume": MAX_MONTH_VOLUME_YUAN})  # fmt: skip
        assert r.status_code == 201, r.text
    read = await lx.call("GET", volumes, params={"year": 2022})
    assert read.status_code == 200, read.text
    assert await _counts(lx) != before


async def test_price_baseline(serve: Any, hostile: Any) -> None:
    lx = await serve("logistics")
    before = await _counts(lx)
    baseline = {
        "county_code": "530427",
        "target": "xinping-2021",
        "reference_weight_g": 3000,
        "measured": "2020 年县内快递驿站 3 公斤农产品平均发货价",
    }
    for price in (*hostile.HOSTILE_YUAN, *hostile.HOSTILE_YUAN_JSON, "0", hostile.MAX_FEN_AS_YUAN):
        r = await _post(lx, "/prices/baseline", baseline | {"price": price})
        hostile.assert_refused(r, "price")
    for grams in (-1, 0, 2**63, 1.5, "3000", None):
        r = await _post(lx, "/prices/baseline", baseline | {"price": "8.00", "reference_weight_g": grams})  # fmt: skip
        hostile.assert_refused(r, "reference_weight_g")
    assert await _counts(lx) == before
    ok = await _post(lx, "/prices/baseline", baseline | {"price": "8.00"})
    assert ok.status_code == 201, ok.text
    assert await _counts(lx) != before
