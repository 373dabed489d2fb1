"""A returned claim is announced (claims.evt.claim_returned.v1, notify mails the enterprise);
an upheld objection's funds.evt.award_revoked.v1 makes the claim revoked for good."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ruralfund_common.contracts import AwardReserved
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration
NOW = datetime(2021, 11, 3, 2, 0, tzinfo=UTC)


async def test_returning_a_claim_emits_claim_returned_with_the_note(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    claim = (await claims.submit()).json()
    returned = await claims.http.post(
        f"/claims/{claim['id']}/review",
        json={"outcome": "return", "note": "请补充入库单"},
        headers=claims.ADMIN,
    )
    assert returned.json()["status"] == "returned"
    (env,) = await eventually(lambda: claims.events("claim_returned"))
    data = env["data"]
    assert (data["claim_id"], data["note"], data["credit_code"], data["returned_by"]) == (
        claim["id"],
        "请补充入库单",
        claims.LOCAL,
        "u-wang-admin",
    )
    assert env["subject"] == claim["id"]
    completed = await claims.http.post(
        f"/claims/{claim['id']}/resubmit",
        json={"evidence": {"quarter": "2023Q3", "units": 12_345}},
        headers=claims.ENTERPRISE,
    )
    assert completed.status_code == 200
    await claims.http.post(
        f"/claims/{claim['id']}/review", json={"outcome": "complete"}, headers=claims.ADMIN
    )
    assert len(await claims.events("claim_returned")) == 1  # completing is not a return


def _revoked(claim: dict) -> AwardRevoked:
    return AwardRevoked(
        award_id=claim["award_id"], claim_id=claim["id"], program_code="xinping-2021",
        item_code="brand-packaging", amount_fen=246_900, code="OBJECTION_UPHELD",
        reason="异议成立：包装未使用公共品牌Logo", revoked_at=NOW,
    )  # fmt: skip


async def test_an_upheld_objection_revokes_the_claim(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    await funds(
        AwardReserved(
            award_id=claim["award_id"], claim_id=claim["id"], program_code="xinping-2021",
            item_code="brand-packaging", amount_fen=246_900, item_available_fen=0, reserved_at=NOW,
        ),
        claim["award_id"],
    )  # fmt: skip
    await eventually(lambda: claims.status_of(claim["id"]), expect="reserved")
    await funds(_revoked(claim), claim["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="revoked")
    stored = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ENTERPRISE)).json()
    assert (stored["revocation_code"], stored["revocation_reason"]) == (
        "OBJECTION_UPHELD",
        "异议成立：包装未使用公共品牌Logo",
    )
    assert stored["history"][-1]["action"] == "revoke"
    # revoked keeps the period: the same quarter cannot simply be claimed again
    again = await claims.submit(12_345)
    assert (again.status_code, again.json()["code"]) == (409, "DUPLICATE_CLAIM")


async def test_a_reservation_reported_after_the_revocation_leaves_it_revoked(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    await funds(_revoked(claim), claim["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="revoked")
    await funds(
        AwardReserved(
            award_id=claim["award_id"], claim_id=claim["id"], program_code="xinping-2021",
            item_code="brand-packaging", amount_fen=246_900, item_available_fen=0, reserved_at=NOW,
        ),
        claim["award_id"],
    )  # fmt: skip
    await eventually(
        lambda: claims.sql("SELECT reserved_at FROM claims"),
        expect=NOW,
        description="late fact kept",
    )
    assert await claims.status_of(claim["id"]) == "revoked"
