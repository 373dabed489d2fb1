"""A program not from the seeds (a fictional county) activates and computes awards over HTTP
with no code change; Ruyuan phase 2 activates with its warnings stored."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

STATION_OPERATOR = with_check_character("92999901MA0000001")  # registered in the fictional county
OPERATOR = bearer(person("Zhang Operator", Role.ENTERPRISE, credit_code=STATION_OPERATOR))


async def test_the_fictional_county_pays_80_percent_of_a_town_station_capped_at_50000(
    claims,
) -> None:  # type: ignore[no-untyped-def]
    program = await claims.load_program_file("examples/fictional-county-2024.yaml")
    assert (program["county_code"], program["total_yuan"]) == ("999901", "2,000,000.00")
    await claims.register(
        STATION_OPERATOR,
        name="示例县某镇电商服务站（虚构）",
        kind="station_operator",
        program_code="fictional-county-2024",
    )
    body = {
        "program_code": "fictional-county-2024",
        "item_code": "station-build",
        "evidence": {
            "year": 2024,
            "station_id": "town-01",
            "category": "town",
            "investment_yuan": "70,000.00",
        },
    }
    response = await claims.http.post("/claims", json=body, headers=OPERATOR)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert (claim["amount_fen"], claim["period"]) == (5_000_000, "station:town-01")
    assert "cap for town 50,000.00" in claim["calculation"]

    again = {**body, "evidence": {**body["evidence"], "year": 2025}}
    duplicate = await claims.http.post("/claims", json=again, headers=OPERATOR)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "DUPLICATE_CLAIM")

    village = {
        **body,
        "evidence": {**body["evidence"], "station_id": "v-07", "category": "village"},
    }
    second = await claims.http.post("/claims", json=village, headers=OPERATOR)
    assert second.json()["amount_fen"] == 2_000_000


async def test_ruyuan_phase_2_activates_with_its_warnings(claims) -> None:  # type: ignore[no-untyped-def]
    program = await claims.load_program_file("ruyuan-2021-p2.yaml")
    assert (program["code"], program["county_code"], program["phase"]) == (
        "ruyuan-2021-p2",
        "440232",
        "second",
    )
    codes = [w["code"] for w in program["warnings"]]
    assert "RATIO_BELOW_MIN" in codes and "RATIO_UNVERIFIED" in codes
    (envelope,) = await eventually(lambda: claims.events("program_activated"))
    lines = {line["code"]: line["budget_fen"] for line in envelope["data"]["lines"]}
    assert lines == {
        "public-service-system": 490_000_000,
        "three-tier-logistics": 220_000_000,
        "retail-upgrade": 235_000_000,
        "entrepreneur-training": 55_000_000,
    }


async def test_a_stored_program_document_cannot_be_changed_in_place(claims) -> None:  # type: ignore[no-untyped-def]
    """Checked programs are cached by document hash: the database refuses an edit under them."""
    import asyncpg

    await claims.load_xinping()
    conn = await asyncpg.connect(claims.database_url, server_settings={"search_path": "claims"})
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
            await conn.execute(
                "UPDATE programs SET document = jsonb_set(document, '{total_yuan}', '\"1.00\"')"
            )
        await conn.execute("UPDATE programs SET warnings = '[]'")  # other columns may change
    finally:
        await conn.close()
