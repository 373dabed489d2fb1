"""FIXED (was a finding): PerUnitEvidence.units
(services/claims/src/ruralfund_claims/domain/rules.py, `units: int = Field(ge=0, le=MAX_UNITS)`)
is validated in pydantic's lax mode: the JSON text "100" counts as 100 boxes and `true` as
1 box. The claim is then judged (CLAIM_INELIGIBLE below 10,000), so the refusal hides that
the input was not a number at all; "12345" as text would be accepted and awarded.

Expected: 422 EVIDENCE_INVALID for a count that is not a JSON integer (StrictInt, as
logistics does for its counts), nothing stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("units", ["12345", True])
async def test_a_count_that_is_not_a_json_integer_is_refused(
    serve: Any, hostile: Any, units: Any
) -> None:
    claims = await serve("claims")
    before = await claims.sql("SELECT count(*) FROM claims")
    body = {
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q4", "units": units},
    }
    r = await claims.call(
        "POST", "/claims", hostile.PEOPLE["enterprise"], json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    problem = hostile.assert_refused(r, "evidence")
    assert problem["code"] == "EVIDENCE_INVALID", problem
    assert await claims.sql("SELECT count(*) FROM claims") == before
