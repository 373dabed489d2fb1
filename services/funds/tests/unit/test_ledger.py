"""Ledger and disbursement rules with the Xinping seed's numbers (5,000,000 yuan; brand
packaging 1,000,000; 12,345 boxes × 0.20 yuan = 2,469.00 yuan; anchor training 500,000 by
purchase of service; station award 80,000)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain import ledger as L
from ruralfund_funds.domain.awards import Award, AwardStatus, Payee, PaymentStatus, Window
from ruralfund_funds.domain.book import ProgramBook
from ruralfund_funds.domain.program import Resolution

YUAN = 100
XINPING = {
    "brand-packaging": ("brand-promotion", "reward", 1_000_000 * YUAN),
    "sales-reward": ("brand-promotion", "reward", 500_000 * YUAN),
    "new-product": ("brand-promotion", "reward", 100_000 * YUAN),
    "supply-chain": ("brand-promotion", "reward", 300_000 * YUAN),
    "livestream-base": ("brand-promotion", "reward", 240_000 * YUAN),
    "trade-fairs": ("brand-promotion", "service", 100_000 * YUAN),
    "brand-promotion-event": ("brand-promotion", "service", 200_000 * YUAN),
    "brand-publicity": ("brand-promotion", "service", 200_000 * YUAN),
    "anchor-training": ("brand-promotion", "service", 500_000 * YUAN),
    "station-awards": ("logistics", "reward", 1_500_000 * YUAN),
    "logistics-center": ("logistics", "service", 360_000 * YUAN),
}
PACKAGING_AWARD_FEN = 246_900  # 12,345 boxes × 0.20 yuan
CC = "91530427MA6K0B0Q1Y"
PROVIDER = "91530427MA6DEM0008"
MON = datetime(2026, 3, 2, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
WINDOW = Window(date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 7))
LEADER, SIGNATORY = frozenset({"leading_group"}), frozenset({"contractor_signatory"})
RESOLUTION = Resolution("新电商领〔2026〕3号", date(2026, 3, 10))


def book() -> ProgramBook:
    return ProgramBook.open("xinping-2021", XINPING)


def award(award_id: str = "award-1", amount: int = PACKAGING_AWARD_FEN, item: str = "brand-packaging") -> Award:
    return Award(award_id, f"claim-{award_id}", "xinping-2021", XINPING[item][0], item,
                 Payee(CC, "新平礼好包装有限公司", "中国农业银行新平县支行", "6228480000000000001"), amount, MON)


def paid(b: ProgramBook, a: Award, today=date(2026, 3, 7)) -> str:
    b.approve_claim(a)
    b.publish(a.award_id, MON, WINDOW)
    pid = b.request_payment(a.award_id, f"pay-{a.award_id}", "u-admin", MON, today)
    sha = a.content().sha256()
    b.approve(a.award_id, pid, "u-zhao", LEADER, sha, MON, today)
    b.approve(a.award_id, pid, "u-chen", SIGNATORY, sha, MON, today)
    return pid


def refused(fn) -> str:
    with pytest.raises(DomainError) as e:
        fn()
    return e.value.code


def test_opening_appropriates_every_item_and_lines_add_up():
    b = book().books
    assert b.balance(L.FUND_RECEIVABLE) == 5_000_000 * YUAN
    assert b.sum_prefix("budget:brand-promotion/") == 3_140_000 * YUAN  # line 1 as the body says
    assert b.sum_prefix("budget:logistics/") == 1_860_000 * YUAN


def test_release_is_partial_and_never_above_the_program_total():
    b = book()
    b.release("r1", 3_000_000 * YUAN)
    b.release("r2", 2_000_000 * YUAN)
    assert b.books.balance(L.BANK_JOINT) == 5_000_000 * YUAN
    assert refused(lambda: b.release("r3", 1)) == "RELEASE_EXCEEDS_PROGRAM_TOTAL"


def test_brand_packaging_award_reserve_publicise_pay():
    b = book()
    b.release("r1", 5_000_000 * YUAN)
    a = award()
    pid = paid(b, a)
    books = b.books
    assert a.status is AwardStatus.PAID and a.payment.status is PaymentStatus.EXECUTED
    assert books.balance(a.reserved_account) == 0
    assert books.balance("spent:brand-promotion/brand-packaging") == 246_900
    assert books.balance("budget:brand-promotion/brand-packaging") == 1_000_000 * YUAN - 246_900
    assert books.balance(L.BANK_JOINT) == 5_000_000 * YUAN - 246_900
    assert books.balance(L.account_payee(CC)) == 246_900
    assert b.journal[-1].reference == pid and len(b.journal[-1].lines) == 4


def test_over_reservation_is_a_refused_award_not_an_error():
    b = book()
    facts = b.approve_claim(award("big", 100_000 * YUAN + 1, item="new-product"))
    assert [(f.kind, f.code) for f in facts] == [("reservation_refused", "ITEM_BUDGET_EXCEEDED")]
    assert b.awards["big"].status is AwardStatus.REFUSED
    assert b.books.balance("budget:brand-promotion/new-product") == 100_000 * YUAN


@pytest.mark.parametrize("today,code", [(date(2026, 3, 6), "PUBLICITY_NOT_ENDED"), (date(2026, 3, 7), None)])
def test_payment_only_from_the_day_after_the_fifth_working_day(today, code):
    b = book()
    b.approve_claim(award())
    b.publish("award-1", MON, WINDOW)
    request = lambda: b.request_payment("award-1", "p1", "u-admin", MON, today)
    if code:
        assert refused(request) == code
    else:
        request()


def test_calendar_unknown_refuses_payment_with_its_code():
    b = book()
    b.approve_claim(award())
    facts = b.publish("award-1", MON, None, "CALENDAR_YEAR_UNKNOWN")
    assert [f.code for f in facts] == ["CALENDAR_YEAR_UNKNOWN"]
    assert refused(lambda: b.request_payment("award-1", "p1", "u", MON, date(2027, 1, 1))) == "CALENDAR_YEAR_UNKNOWN"


def test_objection_holds_then_dismissal_releases():
    b = book()
    b.approve_claim(award())
    b.publish("award-1", MON, WINDOW)
    b.file_objection("award-1", "o1", MON)
    assert refused(lambda: b.request_payment("award-1", "p1", "u", MON, date(2026, 3, 9))) == "OBJECTION_PENDING"
    b.resolve_objection("award-1", "o1", "dismissed", MON)
    b.request_payment("award-1", "p1", "u", MON, date(2026, 3, 9))


def test_upheld_objection_voids_the_reservation_once_and_cancels_the_order():
    b = book()
    b.release("r", 1_000 * YUAN)
    b.approve_claim(award())
    b.publish("award-1", MON, WINDOW)
    b.request_payment("award-1", "p1", "u", MON, date(2026, 3, 9))
    b.file_objection("award-1", "o1", MON)
    facts = b.resolve_objection("award-1", "o1", "upheld", MON)
    assert [(f.kind, f.code) for f in facts] == [("revoked", "OBJECTION_UPHELD")]
    assert facts[0].reason == "公示期内对该奖补的异议经核实成立，奖补予以撤销。"  # no reason given: the enterprise reads this
    a = b.awards["award-1"]
    assert a.status is AwardStatus.REVOKED and a.payment is None
    assert b.books.balance("budget:brand-promotion/brand-packaging") == 1_000_000 * YUAN
    assert b.resolve_objection("award-1", "o1", "upheld", MON) == []  # a repeat changes nothing
    assert refused(lambda: b.request_payment("award-1", "p2", "u", MON, date(2026, 3, 9))) == "AWARD_REVOKED"


def test_objection_resolved_before_the_approval_arrives_revokes_on_arrival():
    b = book()
    a = award()
    a.objections["o1"] = __import__("ruralfund_funds.domain.awards", fromlist=["Objection"]).Objection(
        "o1", "award-1", "upheld")
    facts = b.approve_claim(a)
    assert [f.kind for f in facts] == ["reserved", "revoked"]
    assert b.books.balance(a.reserved_account) == 0


def test_two_different_people_one_per_side_on_the_current_content():
    b = book()
    b.release("r", 10_000 * YUAN)
    a = award()
    b.approve_claim(a)
    b.publish(a.award_id, MON, WINDOW)
    today = date(2026, 3, 9)
    pid = b.request_payment(a.award_id, "p1", "u", MON, today)
    sha = a.content().sha256()
    both = frozenset({"leading_group", "contractor_signatory"})
    b.approve(a.award_id, pid, "u-double", both, sha, MON, today)
    assert refused(lambda: b.approve(a.award_id, pid, "u-double", both, sha, MON, today)) == "SAME_PERSON_BOTH_APPROVALS"
    a.change_payee_bank("中国建设银行新平支行", "6217000000000000002")  # the old signature no longer counts
    assert refused(lambda: b.approve(a.award_id, pid, "u-chen", SIGNATORY, sha, MON, today)) == "APPROVAL_CONTENT_CHANGED"
    new_sha = a.content().sha256()
    b.approve(a.award_id, pid, "u-chen", SIGNATORY, new_sha, MON, today)
    assert a.status is AwardStatus.IN_PUBLICITY  # one valid approval only (the double hat's was on the old hash)
    b.approve(a.award_id, pid, "u-zhao", LEADER, new_sha, MON, today)
    assert a.status is AwardStatus.PAID
    assert refused(lambda: b.request_payment(a.award_id, "p2", "u", MON, today)) == "ALREADY_PAID"


def test_insufficient_funds_refuses_the_executing_approval_and_changes_nothing():
    b = book()
    a = award()
    b.approve_claim(a)
    b.publish(a.award_id, MON, WINDOW)
    today = date(2026, 3, 9)
    pid = b.request_payment(a.award_id, "p1", "u", MON, today)
    sha = a.content().sha256()
    b.approve(a.award_id, pid, "u-zhao", LEADER, sha, MON, today)
    assert refused(lambda: b.approve(a.award_id, pid, "u-chen", SIGNATORY, sha, MON, today)) == "INSUFFICIENT_FUNDS"
    assert len(a.payment.approvals) == 1 and a.status is AwardStatus.IN_PUBLICITY
    b.release("r", 246_900)
    b.approve(a.award_id, pid, "u-chen", SIGNATORY, sha, MON, today)
    assert b.books.balance(L.BANK_JOINT) == 0


def test_bank_failure_reverses_with_compensating_postings_and_the_award_is_payable_again():
    b = book()
    b.release("r", 10_000 * YUAN)
    a = award()
    pid = paid(b, a)
    facts = b.fail(a.award_id, pid, MON)
    assert facts[0].kind == "failed" and a.status is AwardStatus.PAYABLE
    assert b.books.balance(L.BANK_JOINT) == 10_000 * YUAN
    assert b.books.balance(L.account_payee(CC)) == 0
    assert b.books.balance(L.account_payable("brand-promotion", "brand-packaging", CC)) == 246_900
    assert b.books.balance(a.reserved_account) == 0  # the reservation resolved once and stays so
    assert refused(lambda: b.settle(a.award_id, pid, MON)) == "PAYMENT_FAILED"
    today = date(2026, 3, 9)
    pid2 = b.request_payment(a.award_id, "p2", "u", MON, today)
    sha = a.content().sha256()
    b.approve(a.award_id, pid2, "u-zhao", LEADER, sha, MON, today)
    b.approve(a.award_id, pid2, "u-chen", SIGNATORY, sha, MON, today)
    b.settle(a.award_id, pid2, MON)
    assert b.books.balance(L.account_payable("brand-promotion", "brand-packaging", CC)) == 0
    assert b.books.balance(L.account_payee(CC)) == 246_900
    assert refused(lambda: b.fail(a.award_id, pid2, MON)) == "PAYMENT_ALREADY_SETTLED"


def test_adjustment_between_reward_items_needs_a_resolution():
    b = book()
    assert refused(lambda: b.adjust("a1", "new-product", "sales-reward", 20_000 * YUAN, None, False)) \
        == "RESOLUTION_REQUIRED"
    adj = b.adjust("a1", "new-product", "sales-reward", 20_000 * YUAN, RESOLUTION, False)
    assert not adj.override
    assert b.books.balance("budget:brand-promotion/sales-reward") == 520_000 * YUAN
    assert refused(lambda: b.adjust("a2", "new-product", "sales-reward", 80_000 * YUAN + 1, RESOLUTION, False)) \
        == "ITEM_BUDGET_EXCEEDED"


def test_service_items_refuse_adjustment_unless_explicitly_overridden_and_flagged():
    b = book()
    assert refused(lambda: b.adjust("a1", "anchor-training", "station-awards", 100 * YUAN, RESOLUTION, False)) \
        == "SERVICE_ITEM_NOT_ADJUSTABLE"
    adj = b.adjust("a1", "anchor-training", "station-awards", 100 * YUAN, RESOLUTION, True)
    assert adj.override and b.books.balance("budget:logistics/station-awards") == 1_500_100 * YUAN


def test_preallocation_of_a_service_item_to_its_provider_is_paid_with_two_approvals():
    b = book()
    b.release("r", 1_000_000 * YUAN)
    provider = Payee(PROVIDER, "新平县电子商务承办企业", "新平县某银行", "0000000000000000000")
    assert refused(lambda: b.preallocate("pre-x", "brand-packaging", provider, 100, MON)) == "NOT_A_SERVICE_ITEM"
    pre = b.preallocate("pre-1", "anchor-training", provider, 250_000 * YUAN, MON)
    today = date(2026, 3, 2)  # no publicity for a pre-allocation
    pid = b.request_payment("pre-1", "p1", "u", MON, today)
    sha = pre.content().sha256()
    b.approve("pre-1", pid, "u-zhao", LEADER, sha, MON, today)
    b.approve("pre-1", pid, "u-chen", SIGNATORY, sha, MON, today)
    assert b.books.balance(L.account_payee(PROVIDER)) == 250_000 * YUAN
    assert b.books.balance("spent:brand-promotion/anchor-training") == 250_000 * YUAN


def test_default_turns_everything_paid_to_the_contractor_into_a_receivable_repaid_against():
    b = book()
    b.release("r", 1_000_000 * YUAN)
    provider = Payee(PROVIDER, "承办企业", "银行", "0000000000000000000")
    b.preallocate("pre-1", "logistics-center", provider, 180_000 * YUAN, MON)
    pid = b.request_payment("pre-1", "p1", "u", MON, date(2026, 3, 2))
    sha = b.awards["pre-1"].content().sha256()
    b.approve("pre-1", pid, "u-zhao", LEADER, sha, MON, date(2026, 3, 2))
    b.approve("pre-1", pid, "u-chen", SIGNATORY, sha, MON, date(2026, 3, 2))
    assert refused(lambda: b.declare_default(PROVIDER, RESOLUTION)) == "PAYMENTS_IN_FLIGHT"
    b.settle("pre-1", pid, MON)
    assert refused(lambda: b.repay("rep-0", PROVIDER, 1)) == "NOT_IN_DEFAULT"
    d = b.declare_default(PROVIDER, RESOLUTION)
    assert d.receivable_fen == 180_000 * YUAN
    assert b.books.balance(L.account_clawback(PROVIDER)) == 180_000 * YUAN
    assert b.books.balance(L.account_payee(PROVIDER)) == 0
    assert b.repay("rep-1", PROVIDER, 100_000 * YUAN) == 80_000 * YUAN
    assert refused(lambda: b.repay("rep-2", PROVIDER, 80_000 * YUAN + 1)) == "REPAYMENT_EXCEEDS_RECEIVABLE"
    # repaid to the finance bureau: the joint account is not where recovered money goes
    assert b.books.balance(L.BANK_JOINT) == (1_000_000 - 180_000) * YUAN
    assert b.books.balance(L.FINANCE_BUREAU) == 100_000 * YUAN
    assert refused(lambda: b.preallocate("pre-2", "logistics-center", provider, 1, MON)) == "CONTRACTOR_IN_DEFAULT"


def test_unbalanced_or_two_sided_lines_are_impossible():
    with pytest.raises(AssertionError):
        L.Line("bank:joint", debit_fen=1, credit_fen=1)
    with pytest.raises(AssertionError):
        L.Entry("x", (L.Line("a", debit_fen=2), L.Line("b", credit_fen=1)))


def test_default_of_the_joint_account_holder_recovers_all_project_funds():
    """Xinping §六 收回全部项目建设资金: the contractor holding the joint account defaults. Of the
    5,000,000.00 released, 2,469.00 went to a packaging award and 180,000.00 to the contractor
    itself (half the logistics centre's 360,000.00); the 4,817,531.00 left in the joint account
    goes back to the finance bureau, the 180,000.00 is receivable from the contractor, and its
    repayments go to the finance bureau too. Nothing more leaves or enters the joint account."""
    b = book()
    b.program.contractor_credit_code = PROVIDER
    b.release("r", 5_000_000 * YUAN)
    b.settle("award-1", paid(b, award()), MON)
    contractor = Payee(PROVIDER, "新平县承办企业", "银行", "0000000000000000000")
    b.preallocate("pre-1", "logistics-center", contractor, 180_000 * YUAN, MON)
    pid = b.request_payment("pre-1", "p1", "u", MON, date(2026, 3, 2))
    sha = b.awards["pre-1"].content().sha256()
    b.approve("pre-1", pid, "u-zhao", LEADER, sha, MON, date(2026, 3, 2))
    b.approve("pre-1", pid, "u-chen", SIGNATORY, sha, MON, date(2026, 3, 2))
    b.settle("pre-1", pid, MON)
    waiting = award("award-2", 80_000 * YUAN, "station-awards")
    b.approve_claim(waiting)
    b.publish("award-2", MON, WINDOW)
    order = b.request_payment("award-2", "p2", "u-admin", MON, date(2026, 3, 9))

    d = b.declare_default(PROVIDER, RESOLUTION)
    assert (d.receivable_fen, d.returned_fen, d.holds_joint_account) == (180_000 * YUAN, 481_753_100, True)
    assert b.books.balance(L.BANK_JOINT) == 0
    assert b.books.balance(L.FINANCE_BUREAU) == 481_753_100  # 4,817,531.00
    assert b.books.balance(L.account_clawback(PROVIDER)) == 180_000 * YUAN
    assert [e.kind for e in b.journal[-2:]] == ["contractor_defaulted", "funds_returned"]
    # no payment leaves the frozen joint account, even to an enterprise not in default
    sha2 = waiting.content().sha256()
    assert refused(lambda: b.approve("award-2", order, "u-zhao", LEADER, sha2, MON, date(2026, 3, 9))) \
        == "JOINT_ACCOUNT_FROZEN"
    assert refused(lambda: b.release("r2", 1)) == "JOINT_ACCOUNT_FROZEN"
    assert b.repay("rep-1", PROVIDER, 100_000 * YUAN) == 80_000 * YUAN
    assert b.books.balance(L.FINANCE_BUREAU) == 491_753_100
    assert b.books.balance(L.BANK_JOINT) == 0
    assert refused(lambda: b.declare_default(PROVIDER, RESOLUTION)) == "ALREADY_IN_DEFAULT"
    debits = sum(ln.debit_fen for e in b.journal for ln in e.lines)
    assert debits == sum(ln.credit_fen for e in b.journal for ln in e.lines)


def test_every_account_has_a_known_family_and_normal_side():
    assert L.normal_side(L.FINANCE_BUREAU) is L.Side.DEBIT
    assert L.normal_side(L.account_clawback(PROVIDER)) is L.Side.DEBIT
    assert L.normal_side("reserved:a/b/c") is L.Side.CREDIT
    assert L.family_of("finance:elsewhere") is None and L.family_of("budget:") is None
    with pytest.raises(AssertionError):  # the books never post to an account they do not know
        L.Books(complete=True).post(L.Entry("x", (L.Line("bonus:x", debit_fen=1), L.Line(L.BANK_JOINT, credit_fen=1))))
