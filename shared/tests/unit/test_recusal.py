"""The one conflict-of-interest rule: own code ∪ linked codes, refused with a Chinese detail."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Principal, Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.errors import Forbidden
from ruralfund_common.recusal import (
    RecusalRequired,
    must_recuse,
    recusal_codes,
    require_no_conflict_of_interest,
)

ENTERPRISE_A = with_check_character("91530427MA6K5XQ21")
ENTERPRISE_B = with_check_character("92530427MA6T00012")
ENTERPRISE_C = with_check_character("91530427MA6P00071")


def _person(*roles: Role, credit_code: str | None = None, linked: tuple[str, ...] = ()) -> Principal:
    return Principal("u-x", "X", frozenset(roles), credit_code, frozenset(linked))


def test_own_code_and_linked_codes_both_make_a_person_recuse() -> None:
    # the attack of issue 15: leading_group bound to A's own code co-signed A's payment
    own = _person(Role.LEADING_GROUP, Role.ENTERPRISE, credit_code=ENTERPRISE_A)
    linked = _person(Role.LEADING_GROUP, linked=(ENTERPRISE_B,))
    both = _person(Role.CONTRACTOR_SIGNATORY, credit_code=ENTERPRISE_A, linked=(ENTERPRISE_B,))
    assert recusal_codes(own) == {ENTERPRISE_A}
    assert recusal_codes(both) == {ENTERPRISE_A, ENTERPRISE_B}
    assert must_recuse(own, ENTERPRISE_A) and not must_recuse(own, ENTERPRISE_B)
    assert must_recuse(linked, ENTERPRISE_B) and not must_recuse(linked, ENTERPRISE_A)
    assert must_recuse(both, ENTERPRISE_A) and must_recuse(both, ENTERPRISE_B)
    assert not must_recuse(both, ENTERPRISE_C)
    # a code as typed (lower case, spaces) is the same enterprise
    assert must_recuse(own, f"  {ENTERPRISE_A.lower()} ")


def test_a_person_bound_to_no_enterprise_decides_freely() -> None:
    member = _person(Role.LEADING_GROUP)
    assert recusal_codes(member) == frozenset()
    require_no_conflict_of_interest(member, ENTERPRISE_A, decision_zh="审批向该企业的付款")


def test_the_refusal_is_a_403_recusal_required_in_chinese_naming_the_enterprise() -> None:
    member = _person(Role.LEADING_GROUP, linked=(ENTERPRISE_A,))
    with pytest.raises(RecusalRequired) as refused:
        require_no_conflict_of_interest(member, ENTERPRISE_A, decision_zh="审批向该企业的付款")
    error = refused.value
    assert isinstance(error, Forbidden)
    assert (error.code, error.status) == ("RECUSAL_REQUIRED", 403)
    assert error.details == {"credit_code": ENTERPRISE_A}
    assert ENTERPRISE_A in error.message and "conflict of interest" in error.message
    assert error.detail_zh is not None and error.title_zh == "存在利害关系，须回避"
    assert ENTERPRISE_A in error.detail_zh and "不能审批向该企业的付款" in error.detail_zh
    assert error.to_dict()["detail_zh"] == error.detail_zh  # kept with a funds command's outcome


def test_the_problem_response_carries_the_chinese_title() -> None:
    from ruralfund_common.http import problem_response

    body = problem_response(None, status=403, code="RECUSAL_REQUIRED", detail="…").body
    assert "存在利害关系，须回避".encode() in body


def test_stakes_carry_the_same_rule_into_a_services_own_view_of_the_caller() -> None:
    from ruralfund_common.recusal import Stakes

    member = _person(Role.BUREAU_ADMIN, Role.ENTERPRISE, credit_code=ENTERPRISE_A, linked=(ENTERPRISE_B,))
    stakes = Stakes.of(member)
    assert recusal_codes(stakes) == recusal_codes(member) == {ENTERPRISE_A, ENTERPRISE_B}
    assert recusal_codes(Stakes()) == frozenset()
    with pytest.raises(RecusalRequired):
        require_no_conflict_of_interest(stakes, ENTERPRISE_B, decision_zh="认证该企业")
