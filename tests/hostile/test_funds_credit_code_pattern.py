"""FIXED (was a finding of RURALFUND_HOSTILE_DEEP=1 fuzzing): funds' request
models accept a credit code the event contracts refuse, and the refusal surfaces as a 500
when the event is emitted, inside the use case.

services/funds/src/ruralfund_funds/entrypoints/api.py: DefaultRequest.credit_code,
PreallocationRequest.provider_credit_code and RepaymentRequest.credit_code use the pattern
^[0-9A-HJ-NPQRTUWXY]{18}$; the contracts (shared/src/ruralfund_common/contracts/_types.py
CreditCode, used by ContractorDefaulted, PreallocationExecuted, ClawbackRepaid) require
^[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}$ (digits for the region code).

Input: POST /programs/xinping-2021/defaults as a leading group member,
{"credit_code": "5HW000000000000000", "resolution_number": "决议1", "resolution_date": "2026-03-01"}.
Observed: 500 (pydantic ValidationError for ContractorDefaulted.credit_code).
Expected: 422 problem naming credit_code (validate as the contract does, better with the
GB 32100 check character as ruralfund_common.credit_code does), nothing stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ODD_CODE = "5HW000000000000000"  # 18 characters of the alphabet, no 6-digit region code


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("defaults", {"credit_code": ODD_CODE, "resolution_number": "决议1", "resolution_date": "2026-03-01"}, "credit_code"),
        ("preallocations", {
            "item_code": "anchor-training", "provider_credit_code": ODD_CODE, "provider_name": "某公司",
            "bank_name": "某银行", "bank_account": "6228480000000000002", "amount_yuan": "1.00",
            "contract_reference": "XP-1",
        }, "provider_credit_code"),
    ],
)  # fmt: skip
async def test_a_credit_code_the_contracts_refuse_is_a_422_not_a_500(
    serve: Any, hostile: Any, path: str, body: dict[str, Any], field: str
) -> None:
    funds = await serve("funds")
    before = await funds.sql("SELECT count(*) FROM postings")
    r = await funds.call(
        "POST", f"/programs/xinping-2021/{path}", hostile.PEOPLE["leading_group"], json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    hostile.assert_refused(r, field)
    assert await funds.sql("SELECT count(*) FROM postings") == before
