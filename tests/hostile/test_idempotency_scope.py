"""Idempotency scoped to the caller (issue 15): an ``Idempotency-Key`` or a funds
``command_id`` replays its stored answer only to the principal who sent it first. Another
principal sending the same key gets 409 ``IDEMPOTENCY_KEY_REUSED`` naming the header or the
field, never the first one's answer, and their request changes nothing.

Found: the second approver reusing the first approver's ``command_id`` got the first one's
answer (200, one approval) and their own approval was silently not recorded; the same on
``POST /payments``. The same principal's replay keeps working (the services' own tests)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


def _reused(r: Any, hostile: Any, field: str) -> dict[str, Any]:
    body = hostile.assert_refused(r, field)
    assert (r.status_code, body["code"]) == (409, "IDEMPOTENCY_KEY_REUSED"), r.text
    assert "Idempotent-Replayed" not in r.headers
    assert body.get("title_zh") == "幂等键已被使用"
    assert "其他人使用" in body.get("detail_zh", "") and field in body["detail_zh"]
    return body


async def _payment(funds: Any, hostile: Any) -> dict[str, Any]:
    release = {"amount_yuan": "1,500,000.00", "approval_reference": "纪要〔2026〕1号"}
    r = await funds.call(
        "POST", "/programs/xinping-2021/releases", hostile.PEOPLE["finance_bureau"],
        json=release, headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return (await funds.call("GET", f"/payments/{funds.ids['payment_id']}")).json()


async def test_the_second_approver_reusing_the_first_ones_command_id_is_refused(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    payment = await _payment(funds, hostile)
    path = f"/payments/{payment['payment_id']}/approvals"
    body = {"content_sha256": payment["content_sha256"], "command_id": "approve-1"}
    first = await funds.call("POST", path, hostile.PEOPLE["leading_group"], json=body)
    assert first.status_code == 200 and len(first.json()["approvals"]) == 1, first.text
    again = await funds.call("POST", path, hostile.PEOPLE["leading_group"], json=body)
    assert again.json() == first.json()  # the same person's replay: the first answer

    signatory = hostile.PEOPLE["contractor_signatory"]
    stolen = await funds.call("POST", path, signatory, json=body)
    problem = _reused(stolen, hostile, "command_id")
    assert "approvals" not in problem and hostile.LOCAL not in stolen.text
    state = (await funds.call("GET", f"/payments/{payment['payment_id']}")).json()
    assert state["status"] == "awaiting_approval"
    assert [a["person"] for a in state["approvals"]] == [hostile.PEOPLE["leading_group"].subject]
    # with an id of their own, the second approval is recorded and executes the payment
    own = await funds.call("POST", path, signatory, json={**body, "command_id": "approve-2"})
    assert own.status_code == 200 and own.json()["status"] == "executed", own.text


async def test_another_person_reusing_a_payment_request_command_id_is_refused(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    await funds.upstream["claims"].emit(hostile.claim_approved("award-2", publicity=False), "award-2")

    async def award_2() -> bool:
        return (await funds.call("GET", "/awards/award-2")).status_code == 200

    await eventually(award_2, description="funds holds award-2")
    body = {"award_id": "award-2", "command_id": "pay-award-2"}
    first = await funds.call("POST", "/payments", hostile.ADMIN, json=body)
    assert first.status_code == 201, first.text
    member = hostile.PEOPLE["leading_group"]
    before = await funds.sql("SELECT count(*) FROM payments")
    stolen = await funds.call("POST", "/payments", member, json=body)
    _reused(stolen, hostile, "command_id")
    assert first.json()["payment_id"] not in stolen.text
    # the same id for another award: still the other person's id, not "a different command"
    other = await funds.call("POST", "/payments", member, json={**body, "award_id": "award-1"})
    _reused(other, hostile, "command_id")
    assert await funds.sql("SELECT count(*) FROM payments") == before
    assert await funds.sql(
        "SELECT count(*) FROM commands WHERE principal = $1", member.subject
    ) == 0  # fmt: skip
    replay = await funds.call("POST", "/payments", hostile.ADMIN, json=body)
    assert replay.json() == first.json()


async def test_a_funds_idempotency_key_of_another_person_is_refused(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    payment = await _payment(funds, hostile)
    path = f"/payments/{payment['payment_id']}/approvals"
    key = {"Idempotency-Key": "approval-of-the-day"}
    sign = {"content_sha256": payment["content_sha256"]}
    first = await funds.call("POST", path, hostile.PEOPLE["leading_group"], json=sign, headers=key)
    assert first.status_code == 200, first.text
    stolen = await funds.call(
        "POST", path, hostile.PEOPLE["contractor_signatory"], json=sign, headers=key
    )
    _reused(stolen, hostile, "Idempotency-Key")
    state = (await funds.call("GET", f"/payments/{payment['payment_id']}")).json()
    assert len(state["approvals"]) == 1 and state["status"] == "awaiting_approval"


async def test_a_claims_idempotency_key_of_another_enterprise_is_refused(
    serve: Any, hostile: Any
) -> None:
    claims = await serve("claims")
    mine = hostile.PEOPLE["enterprise"]
    other = person("Other Enterprise", Role.ENTERPRISE, credit_code=hostile.OTHER)
    body = {
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q4", "units": 20_000},
    }
    key = {"Idempotency-Key": "claim-2021q4"}
    first = await claims.call("POST", "/claims", mine, json=body, headers=key)
    assert first.status_code == 201, first.text
    before = await claims.sql("SELECT count(*) FROM claims")
    outbox = await claims.sql("SELECT count(*) FROM outbox")
    stolen = await claims.call("POST", "/claims", other, json=body, headers=key)
    _reused(stolen, hostile, "Idempotency-Key")
    assert first.json()["id"] not in stolen.text and hostile.LOCAL not in stolen.text
    assert await claims.sql("SELECT count(*) FROM claims") == before
    assert await claims.sql("SELECT count(*) FROM outbox") == outbox
    replay = await claims.call("POST", "/claims", mine, json=body, headers=key)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"


async def test_two_people_racing_with_one_new_key_store_one_answer(
    serve: Any, hostile: Any
) -> None:
    claims = await serve("claims")
    people = [
        hostile.PEOPLE["enterprise"],
        person("Other Enterprise", Role.ENTERPRISE, credit_code=hostile.OTHER),
    ]
    body = {
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q4", "units": 20_000},
    }
    before = await claims.sql("SELECT count(*) FROM claims")
    key = {"Idempotency-Key": "race-1"}
    answers = await asyncio.gather(
        *(claims.call("POST", "/claims", who, json=body, headers=key) for who in people)
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    _reused(next(r for r in answers if r.status_code == 409), hostile, "Idempotency-Key")
    assert await claims.sql("SELECT count(*) FROM claims") == before + 1
    assert await claims.sql("SELECT count(*) FROM idempotency_keys WHERE key = 'race-1'") == 1


async def test_the_same_statement_from_another_person_is_their_own_import(
    serve: Any, hostile: Any
) -> None:
    """A statement without a key is identified by its bytes and the importer: another person's
    import of the same file is run for them (it changes nothing: its lines were seen)."""
    funds = await serve("funds")
    csv = (
        "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,"
        "counterparty_account,counterparty_name\n"
        "2026-03-03,T-1,6222000000000000,credit,1.00,ok,,,县财政局\n"
    ).encode()
    path = "/programs/xinping-2021/bank-statements"
    headers = {"Content-Type": "text/csv"}
    signatory, finance = hostile.PEOPLE["contractor_signatory"], hostile.PEOPLE["finance_bureau"]
    first = await funds.call("POST", path, signatory, content=csv, headers=headers)
    assert first.status_code == 201 and first.json()["matches"] == {"credit": 1}, first.text
    again = await funds.call("POST", path, signatory, content=csv, headers=headers)
    assert again.json() == first.json()  # the same person: the first import's answer
    theirs = await funds.call("POST", path, finance, content=csv, headers=headers)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["import_id"] != first.json()["import_id"]
    assert theirs.json()["matches"] == {"duplicate": 1}
    assert await funds.sql("SELECT count(*) FROM bank_statement_lines") == 1
