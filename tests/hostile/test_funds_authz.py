"""What funds adds to the role gates: a payment needs two different people, one per side, and
never executes twice; an enterprise never sees another payee's statement; an auditor's valid
write is refused and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import person

pytestmark = pytest.mark.integration


async def _post(funds: Any, who: Any, path: str, body: dict[str, Any]) -> Any:
    return await funds.call(
        "POST", path, who, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )


async def _payment(funds: Any, hostile: Any) -> dict[str, Any]:
    assert "payment_id" in funds.ids, "the seed requests a payment for award-1"
    release = {"amount_yuan": "1,500,000.00", "approval_reference": "纪要〔2026〕1号"}
    r = await _post(funds, hostile.PEOPLE["finance_bureau"], "/programs/xinping-2021/releases", release)  # fmt: skip
    assert r.status_code == 201, r.text
    r = await funds.call("GET", f"/payments/{funds.ids['payment_id']}", hostile.PEOPLE["auditor"])
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_contractor_signatory_cannot_approve_twice_nor_give_both_sides(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    payment = await _payment(funds, hostile)
    path = f"/payments/{payment['payment_id']}/approvals"
    sign = {"content_sha256": payment["content_sha256"]}
    signatory = hostile.PEOPLE["contractor_signatory"]
    first = await _post(funds, signatory, path, sign)
    assert first.status_code == 200, first.text
    again = await _post(funds, signatory, path, sign)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "SAME_PERSON_BOTH_APPROVALS"
    # another signatory: the contractor's side is already approved
    second_signatory = person("Second Signatory", Role.CONTRACTOR_SIGNATORY)
    taken = await _post(funds, second_signatory, path, sign)
    assert (taken.status_code, taken.json()["code"]) == (409, "APPROVAL_ALREADY_GIVEN")
    # one person holding both roles who signed for the contractor cannot sign for the group
    both = person("Hostile Signatory", Role.CONTRACTOR_SIGNATORY, Role.LEADING_GROUP)
    assert both.subject == signatory.subject
    same = await _post(funds, both, path, sign)
    assert (same.status_code, same.json()["code"]) == (409, "SAME_PERSON_BOTH_APPROVALS")
    state = (await funds.call("GET", f"/payments/{payment['payment_id']}")).json()
    assert state["status"] != "executed" and len(state["approvals"]) == 1
    # the group's member completes it; nothing executes twice afterwards
    done = await _post(funds, hostile.PEOPLE["leading_group"], path, sign)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "executed"
    late = await _post(funds, person("Late Member", Role.LEADING_GROUP), path, sign)
    assert 400 <= late.status_code < 500, late.text
    twice = await _post(funds, hostile.ADMIN, "/payments", {"award_id": "award-1"})
    assert twice.status_code == 409, twice.text
    assert await funds.sql("SELECT count(*) FROM payments WHERE status = 'executed'") == 1


async def test_an_enterprise_never_sees_another_payees_statement(serve: Any, hostile: Any) -> None:
    funds = await serve("funds")
    statement = f"/programs/xinping-2021/payees/{hostile.LOCAL}/statement"
    own = await funds.call("GET", statement, hostile.PEOPLE["enterprise"])
    assert own.status_code == 200, own.text
    other = person("Other Enterprise", Role.ENTERPRISE, credit_code=hostile.OTHER)
    refused = await funds.call("GET", statement, other)
    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_YOUR_DATA")
    assert "246900" not in refused.text and "2,469" not in refused.text
    for path in ("/awards/award-1", f"/payments/{funds.ids['payment_id']}"):
        r = await funds.call("GET", path, other)
        assert (r.status_code, r.json()["code"]) == (403, "ROLE_REQUIRED"), path
        assert hostile.LOCAL not in r.text


async def test_an_auditors_valid_writes_are_refused_and_change_nothing(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    auditor = hostile.PEOPLE["auditor"]
    before = (
        await funds.sql("SELECT count(*) FROM postings"),
        await funds.sql("SELECT count(*) FROM payments"),
    )
    writes = [
        ("/payments", {"award_id": "award-1"}),
        ("/programs/xinping-2021/releases", {"amount_yuan": "1.00", "approval_reference": "x"}),
    ]
    for path, body in writes:
        r = await _post(funds, auditor, path, body)
        assert (r.status_code, r.json()["code"]) == (403, "READ_ONLY"), path
    after = (
        await funds.sql("SELECT count(*) FROM postings"),
        await funds.sql("SELECT count(*) FROM payments"),
    )
    assert after == before
