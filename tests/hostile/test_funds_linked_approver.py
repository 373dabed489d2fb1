"""FIXED (was a finding): a leading group member linked to the payee
(Principal.linked_credit_codes: relative, former employer, shareholder) can co-sign the
payment of that payee's award. claims makes such a member recuse from deciding the claim
(RECUSAL_REQUIRED, services/claims/.../domain/claim.py), but funds' approval check
(services/funds/src/ruralfund_funds/domain/payments.py, check_can_approve) never looks at the
link, so the member who had to recuse from the decision can still release the money.

Input: POST /payments/{id}/approvals {"content_sha256": ...} by a leading_group member whose
token links them to the payee's credit code. Observed: 200 (approval recorded). Expected: 403
RECUSAL_REQUIRED and no approval recorded.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration


async def test_a_member_linked_to_the_payee_cannot_cosign_its_payment(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    payment_id = funds.ids["payment_id"]
    payment = (await funds.call("GET", f"/payments/{payment_id}")).json()
    linked = person("Linked Member", Role.LEADING_GROUP, linked=[hostile.LOCAL])
    r = await funds.call(
        "POST", f"/payments/{payment_id}/approvals", linked,
        json={"content_sha256": payment["content_sha256"]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert (r.status_code, r.json().get("code")) == (403, "RECUSAL_REQUIRED"), r.text
    after = (await funds.call("GET", f"/payments/{payment_id}")).json()
    assert after["approvals"] == []
