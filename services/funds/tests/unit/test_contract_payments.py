"""Contract tranches (合同分期付款) through the ledger, and the share rules on every payment out,
with Ruyuan phase 2's figures (item budgets are the plan's estimates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain import ledger as L
from ruralfund_funds.domain.awards import (
    Award,
    AwardStatus,
    ItemInfo,
    Payee,
    PaymentStatus,
    Tranche,
)
from ruralfund_funds.domain.book import ProgramBook
from ruralfund_funds.domain.program import Resolution
from ruralfund_funds.domain.ratios import Justification, Phase, Rule, ShareBook, Spend

YUAN = 100
PUBLIC, LOGISTICS, RETAIL, TRAINING = "public-service-system", "three-tier-logistics", "retail-upgrade", "entrepreneur-training"
RUYUAN = {  # item → (line, mode, budget)
    "public-service-center": (PUBLIC, "service", 700_000 * YUAN),
    "livestream-center": (PUBLIC, "service", 900_000 * YUAN),
    "online-product-center": (PUBLIC, "service", 3_100_000 * YUAN),
    "station-operation-reward": (PUBLIC, "reward", 200_000 * YUAN),
    "smart-logistics-center": (LOGISTICS, "service", 2_200_000 * YUAN),
    "cloud-supermarket": (RETAIL, "service", 2_350_000 * YUAN),
    "talent-incubation-center": (TRAINING, "service", 550_000 * YUAN),
}
RULES = [
    Rule.of("hardware-decoration-max", "硬件设备购置和装修费用合计占比", "max", "10", "error", measure="hardware"),
    Rule.of("logistics-min", "健全县镇村三级物流配送体系累计占比", "min", "50", "warning", lines=[LOGISTICS]),
    Rule.of("training-max", "培育农村电商创业带头人累计占比", "max", "15", "error", lines=[TRAINING]),
]
PHASE1 = Phase("first", "首期", 10_000_000 * YUAN,
               {PUBLIC: 3_500_000 * YUAN, LOGISTICS: 3_550_000 * YUAN, RETAIL: 2_000_000 * YUAN, TRAINING: 950_000 * YUAN},
               {"hardware": 1_500_000 * YUAN})  # as imported from phase 1's final accounts
PROVIDER = "91440232MA4W000001"
MON = datetime(2026, 3, 2, 2, tzinfo=UTC)
TODAY = date(2026, 3, 2)
LEADER, SIGNATORY = frozenset({"leading_group"}), frozenset({"contractor_signatory"})


def book() -> ProgramBook:
    b = ProgramBook.open("ruyuan-2021-p2", RUYUAN, ShareBook(list(RULES), [PHASE1], 10_000_000 * YUAN, Spend()))
    b.release("r", 10_000_000 * YUAN)
    return b


def tranche(due_id: str, amount_fen: int, item: str = "livestream-center", category: str | None = "hardware",
            kind: str = "instalment") -> Award:
    return Award(due_id, None, "ruyuan-2021-p2", RUYUAN[item][0], item,
                 Payee(PROVIDER, "乳源某电商服务有限公司", "中国银行乳源支行", "6216600000000000001"), amount_fen, MON,
                 kind="contract_payment", requires_publicity=False, contract_reference="RY-2023-01",
                 spending_category=category, tranche=Tranche("c-1", "RY-2023-01", f"t-{due_id}", kind))


def pay(b: ProgramBook, award: Award, justifications=None) -> str:
    b.approve_claim(award)
    pid = b.request_payment(award.award_id, f"pay-{award.award_id}", "u-admin", MON, TODAY, justifications)
    sha = award.content().sha256()
    b.approve(award.award_id, pid, "u-zhao", LEADER, sha, MON, TODAY)
    b.approve(award.award_id, pid, "u-chen", SIGNATORY, sha, MON, TODAY)
    return pid


def refused(fn) -> DomainError:
    with pytest.raises(DomainError) as e:
        fn()
    return e.value


def test_a_tranche_is_reserved_without_publicity_and_paid_with_two_approvals():
    b = book()
    advance = tranche("due-1", 270_000 * YUAN, kind="advance", category=None)
    facts = b.approve_claim(advance)
    assert [f.kind for f in facts] == ["reserved"]
    assert b.books.balance(L.account_reserved(PUBLIC, "livestream-center", "due-1")) == 270_000 * YUAN
    assert b.approve_claim(advance) == []  # re-delivered: nothing changes
    pid = b.request_payment("due-1", "p1", "u-admin", MON, TODAY)  # no publicity needed
    sha = advance.content().sha256()
    b.approve("due-1", pid, "u-zhao", LEADER, sha, MON, TODAY)
    assert [f.kind for f in b.approve("due-1", pid, "u-chen", SIGNATORY, sha, MON, TODAY)] == ["executed"]
    assert advance.status is AwardStatus.PAID and advance.payment.status is PaymentStatus.EXECUTED
    assert b.books.balance(L.account_payee(PROVIDER)) == 270_000 * YUAN


def test_a_tranche_that_requires_publicity_waits_for_it():
    b = book()
    t = tranche("due-p", 10_000 * YUAN)
    t.requires_publicity = True
    b.approve_claim(t)
    assert refused(lambda: b.request_payment("due-p", "p", "u", MON, TODAY)).code == "PUBLICITY_NOT_STARTED"


@pytest.mark.parametrize("item,amount,credit_code,code", [
    ("livestream-center", 900_000 * YUAN + 1, PROVIDER, "ITEM_BUDGET_EXCEEDED"),
    ("station-operation-reward", 1_000 * YUAN, PROVIDER, "NOT_A_SERVICE_ITEM"),
])
def test_refused_reservations_are_kept_as_values(item, amount, credit_code, code):
    b = book()
    t = tranche("due-x", amount, item=item)
    facts = b.approve_claim(t)
    assert [(f.kind, f.code) for f in facts] == [("reservation_refused", code)]
    assert t.status is AwardStatus.REFUSED


def test_a_provider_in_default_gets_no_new_tranche():
    b = book()
    b.declare_default(PROVIDER, Resolution("乳电商领〔2026〕1号", TODAY))
    facts = b.approve_claim(tranche("due-d", 1_000 * YUAN))
    assert facts[0].code == "CONTRACTOR_IN_DEFAULT"


def test_hardware_tranche_past_10_percent_is_refused_at_request():
    b = book()
    pay(b, tranche("due-1", 400_000 * YUAN))  # phase 1 1,500,000 + 400,000 = 9.5 %
    b.approve_claim(tranche("due-2", 200_000 * YUAN))
    err = refused(lambda: b.request_payment("due-2", "p2", "u", MON, TODAY))
    assert err.code == "RATIO_LIMIT_EXCEEDED" and err.details["share_after"] == "10.50"
    assert b.awards["due-2"].payment is None  # refused before changing anything
    pay(b, tranche("due-3", 100_000 * YUAN))  # exactly 10 %
    assert b.books.balance(L.account_payee(PROVIDER)) == 500_000 * YUAN


def test_the_rule_is_checked_again_at_execution():
    b = book()
    first, second = tranche("due-a", 400_000 * YUAN), tranche("due-b", 200_000 * YUAN)
    for t in (first, second):
        b.approve_claim(t)
    pb = b.request_payment("due-b", "pb", "u", MON, TODAY)  # 1,700,000 = 8.5 %: allowed when requested
    pay(b, first)  # meanwhile: 1,900,000 = 9.5 %
    sha = second.content().sha256()
    b.approve("due-b", pb, "u-zhao", LEADER, sha, MON, TODAY)
    before = dict(b.books.balances)
    err = refused(lambda: b.approve("due-b", pb, "u-chen", SIGNATORY, sha, MON, TODAY))
    assert err.code == "RATIO_LIMIT_EXCEEDED"
    assert b.books.balances == before and second.payment.status is PaymentStatus.AWAITING_APPROVAL
    # the bank failed the first payment: it is no longer spent, the second fits again
    b.fail("due-a", f"pay-{first.award_id}", MON)
    assert [f.kind for f in b.approve("due-b", pb, "u-chen", SIGNATORY, sha, MON, TODAY)] == ["executed"]


def test_awards_and_preallocations_are_checked_too():
    b = book()
    b.shares.record(TRAINING, None, 2_000_000 * YUAN)  # 2,950,000 of 20,000,000 = 14.75 %
    provider = Payee(PROVIDER, "培训机构", "银行", "0000000000000000000")
    pre = b.preallocate("pre-1", "talent-incubation-center", provider, 100_000 * YUAN, MON)
    assert pre.spending_category is None  # the item has none: classified by its line alone
    err = refused(lambda: b.request_payment("pre-1", "p", "u", MON, TODAY))
    assert err.code == "RATIO_LIMIT_EXCEEDED" and err.details["rule"] == "training-max"


def test_a_preallocation_takes_its_items_spending_category():
    b = book()
    b.program.items["livestream-center"] = ItemInfo(PUBLIC, "livestream-center", "service", "hardware")
    provider = Payee(PROVIDER, "直播中心服务商", "银行", "0000000000000000000")
    pre = b.preallocate("pre-hw", "livestream-center", provider, 600_000 * YUAN, MON)
    assert pre.spending_category == "hardware"
    err = refused(lambda: b.request_payment("pre-hw", "p", "u", MON, TODAY))  # 1,500,000 + 600,000 = 10.5 %
    assert err.code == "RATIO_LIMIT_EXCEEDED" and err.details["rule"] == "hardware-decoration-max"


def test_in_principle_rule_needs_a_recorded_justification():
    b = book()
    b.shares.record(RETAIL, None, 3_550_000 * YUAN)  # outside logistics: 6,450,000 + 3,550,000 = 50 % exactly
    t = tranche("due-r", 100_000 * YUAN, item="cloud-supermarket", category=None)
    b.approve_claim(t)
    err = refused(lambda: b.request_payment("due-r", "p", "u", MON, TODAY))
    assert err.code == "RATIO_JUSTIFICATION_REQUIRED" and err.details["warnings"][0]["rule"] == "logistics-min"
    why = Justification("logistics-min", "首期物流体系已覆盖全县行政村，二期按实施方案安排", "u-admin", MON)
    pid = b.request_payment("due-r", "p", "u-admin", MON, TODAY, [why])
    sha = t.content().sha256()
    b.approve("due-r", pid, "u-zhao", LEADER, sha, MON, TODAY)
    b.approve("due-r", pid, "u-chen", SIGNATORY, sha, MON, TODAY)
    assert t.payment.justifications == [why]
    assert {c["rule"]: c["status"] for c in t.payment.ratio_checks}["logistics-min"] == "breached"


# -- issue 16: "原则上" rules are soft, the hardware part of a tranche, split tranches ----------
SOFT_RULES = [Rule.of(r.code, r.name, r.bound, r.limit_text, "warning", r.lines, r.measure) for r in RULES]
PHASE1_HW_1_7M = Phase("first", "首期", PHASE1.total_fen, PHASE1.lines, {"hardware": 1_700_000 * YUAN})


def soft_book(items=RUYUAN) -> ProgramBook:
    b = ProgramBook.open("ruyuan-2021-p2", items, ShareBook(list(SOFT_RULES), [PHASE1_HW_1_7M], 10_000_000 * YUAN))
    b.release("r", 10_000_000 * YUAN)
    return b


def test_the_hardware_part_of_a_tranche_is_what_the_10_percent_rule_counts():
    """Ruyuan: phase 1 spent 1,700,000.00 on hardware; the studio instalment of the livestream
    centre is 500,000.00, of which 360,000.00 buys hardware (the rest is fit-out services):
    2,060,000.00 of the cumulative 20,000,000.00 = 10.30 % > "原则上不得高于10%"."""
    b = soft_book()
    studio = tranche("due-hw", 500_000 * YUAN, category="livestream")
    studio.measures = {"hardware": 360_000 * YUAN}
    b.approve_claim(studio)
    err = refused(lambda: b.request_payment("due-hw", "p", "u-admin", MON, TODAY))
    assert err.code == "RATIO_JUSTIFICATION_REQUIRED" and err.details["rules"] == ["hardware-decoration-max"]
    assert "10.30%" in err.message and "2,060,000.00元" in err.message and "20,000,000.00元" in err.message
    assert "原则上不得高于10%" in err.message
    # the leading group decides the departure: recorded with who and when, then it is paid
    why = Justification("hardware-decoration-max", "直播间设备为验收必需，领导小组2026年第2次会议同意", "u-zhao", MON,
                        "赵组长")
    pid = b.request_payment("due-hw", "p", "u-zhao", MON, TODAY, [why])
    sha = studio.content().sha256()
    b.approve("due-hw", pid, "u-zhao", LEADER, sha, MON, TODAY)
    b.approve("due-hw", pid, "u-chen", SIGNATORY, sha, MON, TODAY)
    assert studio.payment.justifications == [why]
    checks = {c["rule"]: c for c in studio.payment.ratio_checks}
    assert checks["hardware-decoration-max"]["status"] == "breached"
    assert checks["hardware-decoration-max"]["share_after"] == "10.30"
    assert b.shares.spend.by_measure["hardware"] == 360_000 * YUAN  # not the whole 500,000.00


def test_a_tranche_without_a_hardware_part_does_not_count_on_hardware():
    b = soft_book()
    pay(b, tranche("due-lv", 500_000 * YUAN, category="livestream"))
    assert b.shares.spend.by_measure.get("hardware", 0) == 0


def test_a_hard_ceiling_still_refuses_with_the_figures_in_chinese():
    b = book()  # the old hard rules: one fen over is refused, whatever the reason
    pay(b, tranche("due-1", 500_000 * YUAN))  # 1,500,000 + 500,000 = 10 % exactly
    b.approve_claim(tranche("due-2", 1))
    err = refused(lambda: b.request_payment("due-2", "p", "u", MON, TODAY))
    assert err.code == "RATIO_LIMIT_EXCEEDED" and "不得高于10%" in err.message and "2,000,000.01元" in err.message


LOGISTICS_ITEMS = {  # Ruyuan's logistics line, both items (1,500,000.00 + 700,000.00)
    "smart-logistics-center": (LOGISTICS, "service", 1_500_000 * YUAN),
    "logistics-network-operation": (LOGISTICS, "service", 700_000 * YUAN),
    "cloud-supermarket": (RETAIL, "service", 7_800_000 * YUAN),
}


def split(due_id: str, smart_fen: int, network_fen: int) -> Award:
    t = tranche(due_id, smart_fen + network_fen, item="smart-logistics-center", category="logistics")
    t.parts = (L.Part(LOGISTICS, "smart-logistics-center", smart_fen),
               L.Part(LOGISTICS, "logistics-network-operation", network_fen))
    return t


def test_a_package_contract_over_two_items_is_reserved_and_paid_on_each():
    """A public-tender package covers both logistics items; its 2,200,000.00 contract pays
    30 % / 40 % / 30 %, each tranche split across the items. On one item alone the 880,000.00
    instalment would not fit (660,000.00 + 880,000.00 > 1,500,000.00)."""
    b = soft_book(LOGISTICS_ITEMS)
    alone = tranche("alone", 660_000 * YUAN, item="smart-logistics-center", category="logistics")
    b.approve_claim(alone)
    refused_alone = b.approve_claim(tranche("alone-2", 880_000 * YUAN, item="smart-logistics-center"))
    assert [f.code for f in refused_alone] == ["ITEM_BUDGET_EXCEEDED"]
    b = soft_book(LOGISTICS_ITEMS)
    schedule = [split("adv", 450_000 * YUAN, 210_000 * YUAN), split("inst", 600_000 * YUAN, 280_000 * YUAN),
                split("bal", 450_000 * YUAN, 210_000 * YUAN)]
    for t in schedule:
        assert [f.kind for f in b.approve_claim(t)] == ["reserved"]
    assert b.books.balance(L.account_reserved(LOGISTICS, "logistics-network-operation", "inst")) == 280_000 * YUAN
    for t in schedule:
        b.request_payment(t.award_id, f"pay-{t.award_id}", "u-admin", MON, TODAY)
        sha = t.content().sha256()
        b.approve(t.award_id, f"pay-{t.award_id}", "u-zhao", LEADER, sha, MON, TODAY)
        b.approve(t.award_id, f"pay-{t.award_id}", "u-chen", SIGNATORY, sha, MON, TODAY)
    assert b.books.balance(L.account_budget(LOGISTICS, "smart-logistics-center")) == 0
    assert b.books.balance(L.account_budget(LOGISTICS, "logistics-network-operation")) == 0
    assert b.books.balance(L.account_spent(LOGISTICS, "smart-logistics-center")) == 1_500_000 * YUAN
    assert b.books.balance(L.account_spent(LOGISTICS, "logistics-network-operation")) == 700_000 * YUAN
    assert b.books.balance(L.account_payee(PROVIDER)) == 2_200_000 * YUAN
    assert b.shares.spend.by_line[LOGISTICS] == 2_200_000 * YUAN
    # the bank returns the instalment: both items owe their part to the provider again
    b.fail("inst", "pay-inst", MON)
    assert b.books.balance(L.account_payable(LOGISTICS, "logistics-network-operation", PROVIDER)) == 280_000 * YUAN
    assert b.shares.spend.by_line[LOGISTICS] == 1_320_000 * YUAN


def test_a_split_whose_parts_do_not_add_up_is_impossible():
    with pytest.raises(AssertionError):
        t = split("x", 1, 1)
        t.parts = (L.Part(LOGISTICS, "smart-logistics-center", 1),)
        t.__post_init__()


def test_a_default_voids_the_providers_unpaid_reservations_back_to_budget():
    b = soft_book(LOGISTICS_ITEMS)
    paid_first = split("adv", 450_000 * YUAN, 210_000 * YUAN)
    pay(b, paid_first)
    b.settle("adv", "pay-adv", MON)
    waiting = split("inst", 600_000 * YUAN, 280_000 * YUAN)
    b.approve_claim(waiting)
    b.request_payment("inst", "pay-inst", "u-admin", MON, TODAY)
    d = b.declare_default(PROVIDER, Resolution("乳电商领〔2023〕9号", TODAY))
    assert d.receivable_fen == 660_000 * YUAN
    assert [(a.award_id, [f.code for f in facts]) for a, facts in d.voided] == [("inst", ["CONTRACTOR_IN_DEFAULT"])]
    assert waiting.status is AwardStatus.REVOKED and waiting.payment is None  # its open order cancelled
    assert b.books.balance(L.account_budget(LOGISTICS, "smart-logistics-center")) == 1_050_000 * YUAN
    assert b.books.balance(L.account_budget(LOGISTICS, "logistics-network-operation")) == 490_000 * YUAN
    assert b.books.balance(L.account_reserved(LOGISTICS, "logistics-network-operation", "inst")) == 0
