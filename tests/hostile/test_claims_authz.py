"""What claims adds to the role gates: an enterprise never reaches another's claim (and the
refusal leaks nothing of it), an auditor's valid write is refused and changes nothing, and a
leading group member linked to the claimant must recuse (RECUSAL_REQUIRED)."""

from __future__ import annotations

from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration


async def _status(claims: Any, claim_id: str) -> str:
    r = await claims.call("GET", f"/claims/{claim_id}")
    assert r.status_code == 200, r.text
    return r.json()["status"]


async def test_an_enterprise_reading_anothers_claim_learns_nothing(
    serve: Any, hostile: Any
) -> None:
    claims = await serve("claims")
    claim_id = claims.ids["claim_id"]
    own = await claims.call("GET", f"/claims/{claim_id}", hostile.PEOPLE["enterprise"])
    assert own.status_code == 200 and own.json()["credit_code"] == hostile.LOCAL
    other = person("Other Enterprise", Role.ENTERPRISE, credit_code=hostile.OTHER)
    unknown = await claims.call("GET", f"/claims/{hostile.LOCAL}-no-such-claim", other)
    for path in (f"/claims/{claim_id}", f"/claims/{claim_id}/files"):
        r = await claims.call("GET", path, other)
        assert (r.status_code, r.json()["code"]) == (404, "CLAIM_NOT_FOUND"), path
        # the same answer as for a claim that does not exist: nothing tells it exists
        assert r.json()["detail"].replace(claim_id, "?") == unknown.json()["detail"].replace(
            f"{hostile.LOCAL}-no-such-claim", "?"
        )
        assert hostile.LOCAL not in r.text and "新平礼好" not in r.text
    listed = await claims.call("GET", "/claims", other, params={"program": "xinping-2021"})
    assert listed.status_code == 200 and listed.json()["items"] == []
    for path, body in (
        (f"/claims/{claim_id}/withdraw", {}),
        (f"/claims/{claim_id}/resubmit", {"evidence": {"quarter": "2023Q3", "units": 20_000}}),
    ):
        r = await claims.call("POST", path, other, json=body)
        assert (r.status_code, r.json()["code"]) == (404, "CLAIM_NOT_FOUND"), path
    assert await _status(claims, claim_id) == "submitted"


async def test_an_auditors_valid_writes_are_refused(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    claim_id = claims.ids["claim_id"]
    auditor = hostile.PEOPLE["auditor"]
    review = await claims.call(
        "POST", f"/claims/{claim_id}/review", auditor, json={"outcome": "complete"}
    )
    assert (review.status_code, review.json()["code"]) == (403, "READ_ONLY")
    body = hostile.enterprise_body(hostile.CONTRACTOR, "新平县某公司")
    register = await claims.call("POST", "/enterprises", auditor, json=body)
    assert (register.status_code, register.json()["code"]) == (403, "READ_ONLY")
    assert await _status(claims, claim_id) == "submitted"
    assert await claims.sql("SELECT count(*) FROM enterprises") == 2


async def test_a_linked_leading_group_member_must_recuse(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    claim_id = claims.ids["claim_id"]
    review = await claims.call("POST", f"/claims/{claim_id}/review", json={"outcome": "complete"})
    assert review.status_code == 200, review.text
    decision = f"/claims/{claim_id}/decision"
    linked = person("Linked Member", Role.LEADING_GROUP, linked=[hostile.LOCAL])
    for verdict in ({"decision": "approve"}, {"decision": "reject", "reason": "不符合条件"}):
        r = await claims.call("POST", decision, linked, json=verdict)
        assert (r.status_code, r.json()["code"]) == (403, "RECUSAL_REQUIRED"), r.text
    assert await _status(claims, claim_id) == "awaiting_decision"
    # linked to someone else: free to decide
    unrelated = person("Unrelated Member", Role.LEADING_GROUP, linked=[hostile.OTHER])
    r = await claims.call("POST", decision, unrelated, json={"decision": "approve"})
    assert r.status_code == 200, r.text
    assert await _status(claims, claim_id) == "approved"
