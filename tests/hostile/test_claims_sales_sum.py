"""FIXED (was a finding): a sales-reward claim whose months each fit a bigint but whose
cumulative sales do not is a 500. services/claims/src/ruralfund_claims/domain/rules.py,
_percent_of_amount: `total_fen = sum(_fen(m.sales_yuan) ...)` (line ~232) is unbounded, then
`format_yuan(total_fen)` (~264) and `percent_of(total_fen, ...)` (~268) raise
AmountOutOfRange (an OverflowError) that nothing turns into a refusal.

Input: POST /claims as the enterprise, item sales-reward, three months of
"92233720368547758.07" yuan each. Observed: 500 (AmountOutOfRange: 27670116110564327421 fen).
Expected: 422 EVIDENCE_INVALID naming evidence.months (e.g. a per-month and a cumulative
ceiling in PercentOfAmountEvidence), and no claim stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_cumulative_sales_beyond_a_bigint_are_refused_not_a_500(
    serve: Any, hostile: Any
) -> None:
    claims = await serve("claims")
    before = await claims.sql("SELECT count(*) FROM claims")
    big = hostile.MAX_FEN_AS_YUAN
    months = [{"month": f"2023-0{m}", "sales_yuan": big} for m in (7, 8, 9)]
    body = {
        "program_code": "xinping-2021",
        "item_code": "sales-reward",
        "evidence": {"platform": "taobao", "store_id": "66880001", "opened_on": "2023-07-01",
                     "months": months},
    }
    r = await claims.call(
        "POST", "/claims", hostile.PEOPLE["enterprise"], json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    hostile.assert_refused(r, "evidence")
    assert await claims.sql("SELECT count(*) FROM claims") == before
