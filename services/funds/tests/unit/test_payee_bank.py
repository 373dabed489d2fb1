"""Issue 16 (9): the registry's bank account is the one home of the payee's account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ruralfund_common.errors import Conflict
from ruralfund_funds.domain.awards import Award, AwardStatus, Payee, PaymentOrder, Tranche
from ruralfund_funds.domain.payee_bank import (
    RegistryAccount,
    apply_registry_account,
    require_funds_is_home,
)
from ruralfund_funds.domain.payments import Approval

CC = "91530427MA6K0B0Q1Y"
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
OLD = Payee(CC, "新平礼好包装有限公司", "中国农业银行新平县支行", "6228480000000000001")
NEW = RegistryAccount(CC, "中国建设银行新平支行", "6217000000000000002", NOW)


def award(award_id: str, status: AwardStatus, payee: Payee = OLD) -> Award:
    a = Award(award_id, f"claim-{award_id}", "xinping-2021", "brand", "brand-packaging", payee, 246_900,
              NOW - timedelta(days=7))
    a.status = status
    return a


def test_every_unpaid_award_moves_and_the_open_orders_approval_lapses() -> None:
    pending = award("a-pending", AwardStatus.IN_PUBLICITY)
    pending.payment = PaymentOrder("p-1", pending.award_id, pending.content(), "u-admin", NOW)
    signed = pending.content().sha256()
    pending.payment.approvals.append(Approval("u-zhao", "赵组长", "leading_group", signed, NOW))
    assert len(pending.payment.executed_approvals()) == 1
    reserved, payable = award("a-reserved", AwardStatus.RESERVED), award("a-payable", AwardStatus.PAYABLE)
    untouched = [award("a-paid", AwardStatus.PAID), award("a-revoked", AwardStatus.REVOKED),
                 award("a-refused", AwardStatus.REFUSED),
                 award("a-other", AwardStatus.RESERVED, Payee("91530427MA6DEM0008", "x", "b", "6222"))]

    changes = apply_registry_account([pending, reserved, payable, *untouched], NEW)

    assert {c.award_id for c in changes} == {"a-pending", "a-reserved", "a-payable"}
    for a in (pending, reserved, payable):
        assert (a.payee.bank_name, a.payee.bank_account) == ("中国建设银行新平支行", "6217000000000000002")
    assert pending.payment.content.payee_bank_account == "6217000000000000002"
    assert pending.payment.content.sha256() != signed
    assert pending.payment.executed_approvals() == []  # two people must sign the new account again
    lapsed = {c.award_id: c.approvals_lapsed for c in changes}
    assert lapsed == {"a-pending": 1, "a-reserved": 0, "a-payable": 0}
    assert all(c.previous_account_no == "6228480000000000001" for c in changes)
    for a in untouched:
        assert a.payee.bank_account != "6217000000000000002"


def test_the_same_account_again_changes_nothing() -> None:
    a = award("a-1", AwardStatus.RESERVED, Payee(CC, "新平礼好包装有限公司", NEW.bank_name, NEW.account_no))
    assert apply_registry_account([a], NEW) == []


def test_a_registry_change_after_the_approval_supersedes_the_approvals_account() -> None:
    assert NEW.supersedes(NOW - timedelta(seconds=1))
    assert not NEW.supersedes(NOW) and not NEW.supersedes(NOW + timedelta(seconds=1))


def _of_kind(kind: str) -> Award:
    tranche = Tranche("c-1", "RY-2023-FW-003", "advance", "advance") if kind == "contract_payment" else None
    return Award("x-1", None, "xinping-2021", "brand", "anchor-training", OLD, 180_000_00, NOW, kind=kind,
                 tranche=tranche)


@pytest.mark.parametrize("kind", ["award", "contract_payment"])
def test_a_registry_enterprises_account_is_never_changed_in_funds(kind: str) -> None:
    with pytest.raises(Conflict) as refused:
        require_funds_is_home(_of_kind(kind), registry_has_account=False)
    assert refused.value.code == "BANK_ACCOUNT_LIVES_IN_REGISTRY" and refused.value.field == "bank_account"
    assert f"PATCH /enterprises/{CC}" in (refused.value.detail_zh or "")


def test_only_a_preallocation_the_registry_never_spoke_for_is_corrected_in_funds() -> None:
    require_funds_is_home(_of_kind("preallocation"), registry_has_account=False)  # no refusal
    with pytest.raises(Conflict):
        require_funds_is_home(_of_kind("preallocation"), registry_has_account=True)
