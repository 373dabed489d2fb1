from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain.payments import (
    Approval,
    PaymentContent,
    check_can_approve,
    check_payable,
    is_fully_approved,
)

NOW = datetime(2026, 3, 7, tzinfo=UTC)
CONTENT = PaymentContent("xinping-2021", "award-1", "91530427MA6K00000X", "新平某农业公司", "农业银行", "6228480000000000", 246_900)


def test_content_hash_changes_with_any_field():
    changed = PaymentContent(**{**CONTENT.__dict__, "payee_bank_account": "6228480000000001"})
    assert changed.sha256() != CONTENT.sha256()
    assert len(CONTENT.sha256()) == 64


def test_two_roles_two_people_needed():
    sha = CONTENT.sha256()
    a1 = Approval("u-zhao", "Zhao", "leading_group", sha, NOW)
    assert not is_fully_approved(CONTENT, [a1])
    role = check_can_approve(CONTENT, [a1], person="u-chen", roles=frozenset({"contractor_signatory"}), signed_sha256=sha)
    assert role == "contractor_signatory"
    assert is_fully_approved(CONTENT, [a1, Approval("u-chen", "Chen", role, sha, NOW)])


def test_same_person_can_never_sign_both_sides():
    sha = CONTENT.sha256()
    a1 = Approval("u-x", "X", "leading_group", sha, NOW)
    with pytest.raises(DomainError) as e:
        check_can_approve(CONTENT, [a1], person="u-x", roles=frozenset({"leading_group", "contractor_signatory"}), signed_sha256=sha)
    assert e.value.code == "SAME_PERSON_BOTH_APPROVALS"
    # even if forged into the list, the same person twice is not full approval
    assert not is_fully_approved(CONTENT, [a1, Approval("u-x", "X", "contractor_signatory", sha, NOW)])


def test_approvals_of_old_content_do_not_count():
    old = Approval("u-zhao", "Zhao", "leading_group", "f" * 64, NOW)
    new = Approval("u-chen", "Chen", "contractor_signatory", CONTENT.sha256(), NOW)
    assert not is_fully_approved(CONTENT, [old, new])
    with pytest.raises(DomainError) as e:
        check_can_approve(CONTENT, [], person="u-zhao", roles=frozenset({"leading_group"}), signed_sha256="f" * 64)
    assert e.value.code == "APPROVAL_CONTENT_CHANGED"


@pytest.mark.parametrize("today,ok", [(date(2026, 3, 6), False), (date(2026, 3, 7), True)])
def test_payable_only_from_the_day_after_the_window(today, ok):
    kwargs = {"status": "in_publicity", "requires_publicity": True, "payable_from": date(2026, 3, 7), "today_local": today}
    if ok:
        check_payable(**kwargs)
    else:
        with pytest.raises(DomainError) as e:
            check_payable(**kwargs)
        assert e.value.code == "PUBLICITY_NOT_ENDED"


@pytest.mark.parametrize("status,code", [("paid", "ALREADY_PAID"), ("revoked", "AWARD_REVOKED"), ("refused", "AWARD_NOT_RESERVED")])
def test_state_refusals(status, code):
    with pytest.raises(DomainError) as e:
        check_payable(status=status, requires_publicity=True, payable_from=date(2026, 3, 7), today_local=date(2026, 4, 1))
    assert e.value.code == code


def test_objection_pending_holds_payment():
    with pytest.raises(DomainError) as e:
        check_payable(status="in_publicity", requires_publicity=True, payable_from=date(2026, 3, 7),
                      today_local=date(2026, 4, 1), objections_open=1)
    assert e.value.code == "OBJECTION_PENDING"
