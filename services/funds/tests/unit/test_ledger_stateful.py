"""Hypothesis stateful test over the pure domain: random sequences of release, reservation,
publicity, objections, approvals, payments, bank failures, adjustments, pre-allocations,
defaults and repayments. After every step: debits = credits, nothing negative, kept balances
= balances recomputed from the journal, budgets and cash conserved, no award paid twice,
nothing paid before its window ended, no payment without two distinct approvers, every
reservation resolved at most once, and a refused command changed nothing.

250 examples × 60 steps = 15,000 steps per run.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain import ledger as L
from ruralfund_funds.domain.awards import Award, AwardStatus, Payee, PaymentStatus, Window
from ruralfund_funds.domain.book import ProgramBook
from ruralfund_funds.domain.program import Resolution

# Xinping line 1 in miniature (fen small enough that refusals happen often)
ITEMS = {
    "brand-packaging": ("brand", "reward", 100_000),
    "sales-reward": ("brand", "reward", 50_000),
    "new-product": ("brand", "reward", 20_000),
    "anchor-training": ("brand", "service", 60_000),
    "station-awards": ("logistics", "reward", 80_000),
}
REWARD_ITEMS = [c for c, (_, m, _) in ITEMS.items() if m == "reward"]
SERVICE_ITEMS = [c for c, (_, m, _) in ITEMS.items() if m == "service"]
PAYEES = ["91530427MA6K00000X", "91530427MA6K0B0Q1Y", "91530427MA6K1C2D3E"]
PEOPLE = {
    "leader-zhao": frozenset({"leading_group"}),
    "leader-qian": frozenset({"leading_group"}),
    "signatory-chen": frozenset({"contractor_signatory"}),
    "double-hat": frozenset({"leading_group", "contractor_signatory"}),
    "clerk-wang": frozenset({"bureau_admin"}),
}
DAY0 = date(2026, 3, 2)
amounts = st.integers(min_value=1, max_value=70_000)
index = st.integers(min_value=0, max_value=1_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = ProgramBook.open("xinping-2021", ITEMS)
        self.day = 0
        self.n = 0
        self.award_ids: list[str] = []
        self.objections: list[tuple[str, str]] = []
        self.ever_resolved: set[str] = set()  # awards whose reservation went to zero
        self.executions: dict[str, list[tuple[str, date]]] = {}

    # -- helpers ---------------------------------------------------------------------------
    @property
    def today(self) -> date:
        return DAY0 + timedelta(days=self.day)

    @property
    def now(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 2, tzinfo=UTC)

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def _pick(self, seq: list, i: int):
        return seq[i % len(seq)]

    def _attempt(self, fn) -> object:
        """Run a command; a refusal must leave books and awards exactly as they were."""
        before = (dict(self.book.books.balances), len(self.book.journal), copy.deepcopy(self.book.awards),
                  set(self.book.program.defaulted))
        try:
            return fn()
        except DomainError as refused:
            assert refused.code and refused.code.isupper()
            after = (dict(self.book.books.balances), len(self.book.journal), self.book.awards,
                     set(self.book.program.defaulted))
            assert before[0] == after[0] and before[1] == after[1] and before[3] == after[3], refused.code
            assert _award_states(before[2]) == _award_states(after[2]), refused.code
            return refused

    # -- rules -----------------------------------------------------------------------------
    @rule(amount=st.integers(min_value=1, max_value=200_000))
    def release(self, amount: int) -> None:
        self._attempt(lambda: self.book.release(self._id("rel"), amount))

    @rule(item=st.sampled_from(REWARD_ITEMS), amount=amounts, payee=st.sampled_from(PAYEES),
          publicity=st.sampled_from([True, True, True, False]))
    def approve_claim(self, item: str, amount: int, payee: str, publicity: bool) -> None:
        award_id = self._id("award")
        line = ITEMS[item][0]
        award = Award(award_id, f"claim-{award_id}", "xinping-2021", line, item,
                      Payee(payee, "企业", "农业银行", "6228480000000000"), amount, self.now,
                      requires_publicity=publicity)
        self.book.approve_claim(award)
        self.award_ids.append(award_id)

    @rule(i=index)
    def duplicate_claim_approval(self, i: int) -> None:
        if self.award_ids:
            award = copy.deepcopy(self.book.awards[self._pick(self.award_ids, i)])
            before = dict(self.book.books.balances)
            assert self.book.approve_claim(award) == []
            assert before == self.book.books.balances

    @precondition(lambda self: self.award_ids)
    @rule(i=index, calendar_known=st.sampled_from([True, True, True, False]))
    def publish(self, i: int, calendar_known: bool) -> None:
        award_id = self._pick(self.award_ids, i)
        start = self.today if self.today.weekday() < 5 else self.today + timedelta(days=7 - self.today.weekday())
        window = Window(start, start + timedelta(days=4), start + timedelta(days=5)) if calendar_known else None
        self.book.publish(award_id, self.now, window, None if calendar_known else "CALENDAR_YEAR_UNKNOWN")

    @rule(days=st.integers(min_value=0, max_value=7))
    def advance_clock(self, days: int) -> None:
        self.day += days

    @precondition(lambda self: self.award_ids)
    @rule(i=index, rare=st.integers(min_value=0, max_value=2))
    def file_objection(self, i: int, rare: int) -> None:
        if rare:
            return
        award_id = self._pick(self.award_ids, i)
        oid = self._id("obj")
        self.book.file_objection(award_id, oid, self.now)
        self.objections.append((award_id, oid))

    @precondition(lambda self: self.objections)
    @rule(i=index, outcome=st.sampled_from(["upheld", "dismissed"]))
    def resolve_objection(self, i: int, outcome: str) -> None:
        award_id, oid = self._pick(self.objections, i)
        self.book.resolve_objection(award_id, oid, outcome, self.now)

    @precondition(lambda self: self.award_ids)
    @rule(i=index, person=st.sampled_from(list(PEOPLE)))
    def request_payment(self, i: int, person: str) -> None:
        award_id = self._pick(self.award_ids, i)
        self._attempt(lambda: self.book.request_payment(award_id, self._id("pay"), person, self.now, self.today))

    @precondition(lambda self: self.award_ids)
    @rule(i=index, person=st.sampled_from(list(PEOPLE)), forged=st.booleans())
    def approve_payment(self, i: int, person: str, forged: bool) -> None:
        award = self.book.awards[self._pick(self.award_ids, i)]
        if award.payment is None:
            return
        sha = "0" * 64 if forged else award.content().sha256()
        result = self._attempt(lambda: self.book.approve(award.award_id, award.payment.payment_id, person,
                                                         PEOPLE[person], sha, self.now, self.today))
        if isinstance(result, list) and any(f.kind == "executed" for f in result):
            self._check_execution(award)

    @precondition(lambda self: self.award_ids)
    @rule(i=index, leader=st.sampled_from(["leader-zhao", "leader-qian", "double-hat"]),
          signatory=st.sampled_from(["signatory-chen", "double-hat"]))
    def pay_through(self, i: int, leader: str, signatory: str) -> None:
        """The usual path in one step: request, then both sides approve the current content."""
        award = self.book.awards[self._pick(self.award_ids, i)]
        if award.payment is None:
            self._attempt(lambda: self.book.request_payment(award.award_id, self._id("pay"), "clerk", self.now,
                                                            self.today))
        for person in (leader, signatory):
            if award.payment is not None and award.payment.status is PaymentStatus.AWAITING_APPROVAL:
                result = self._attempt(lambda person=person: self.book.approve(
                    award.award_id, award.payment.payment_id, person, PEOPLE[person], award.content().sha256(),
                    self.now, self.today))
                if isinstance(result, list) and any(f.kind == "executed" for f in result):
                    self._check_execution(award)

    @precondition(lambda self: self.award_ids)
    @rule(i=index)
    def change_bank_account(self, i: int) -> None:
        award = self.book.awards[self._pick(self.award_ids, i)]
        self._attempt(lambda: award.change_payee_bank("建设银行", f"6217{self.n:012d}"))
        self.n += 1

    @precondition(lambda self: self.award_ids)
    @rule(i=index, confirmed=st.booleans())
    def bank_outcome(self, i: int, confirmed: bool) -> None:
        award = self.book.awards[self._pick(self.award_ids, i)]
        if award.payment is None:
            return
        pid = award.payment.payment_id
        if confirmed:
            self._attempt(lambda: self.book.settle(award.award_id, pid, self.now))
        else:
            self._attempt(lambda: self.book.fail(award.award_id, pid, self.now))

    @rule(src=st.sampled_from(list(ITEMS)), dst=st.sampled_from(list(ITEMS)), amount=amounts,
          with_resolution=st.booleans(), override=st.booleans())
    def adjust(self, src: str, dst: str, amount: int, with_resolution: bool, override: bool) -> None:
        resolution = Resolution("新电商领〔2026〕3号", self.today) if with_resolution else None
        result = self._attempt(lambda: self.book.adjust(self._id("adj"), src, dst, amount, resolution, override))
        if isinstance(result, DomainError) and ITEMS[src][1] == "service" and not override and with_resolution \
                and src != dst:
            assert result.code == "SERVICE_ITEM_NOT_ADJUSTABLE"

    @rule(item=st.sampled_from(SERVICE_ITEMS), payee=st.sampled_from(PAYEES), amount=amounts)
    def preallocate(self, item: str, payee: str, amount: int) -> None:
        pid = self._id("pre")
        result = self._attempt(lambda: self.book.preallocate(
            pid, item, Payee(payee, "服务商", "农业银行", "6228480000000009"), amount, self.now))
        if isinstance(result, Award):
            self.award_ids.append(pid)

    @rule(payee=st.sampled_from(PAYEES), rare=st.integers(min_value=0, max_value=5))
    def declare_default(self, payee: str, rare: int) -> None:
        if rare:
            return  # a default is rare: it stops every later payment to that payee
        paid = self.book.books.balance(L.account_payee(payee))
        result = self._attempt(lambda: self.book.declare_default(payee, Resolution("新电商领〔2026〕9号", self.today)))
        if not isinstance(result, DomainError):
            assert self.book.books.balance(L.account_payee(payee)) == 0
            assert self.book.books.balance(L.account_clawback(payee)) == paid

    @rule(payee=st.sampled_from(PAYEES), amount=amounts)
    def repay(self, payee: str, amount: int) -> None:
        self._attempt(lambda: self.book.repay(self._id("rep"), payee, amount))

    # -- checks ----------------------------------------------------------------------------
    def _check_execution(self, award: Award) -> None:
        order = award.payment
        assert order is not None and order.status is PaymentStatus.EXECUTED
        approvals = order.executed_approvals()
        assert len({a.person for a in approvals}) >= 2, "a payment needs two distinct people"
        assert {a.role for a in approvals} >= {"leading_group", "contractor_signatory"}
        assert all(a.content_sha256 == order.content.sha256() for a in approvals)
        if award.requires_publicity:
            assert award.window is not None and self.today >= award.window.payable_from, "paid before window ended"
        assert award.open_objections() == 0 and award.upheld_objections() == 0
        assert award.payee.credit_code not in self.book.program.defaulted
        self.executions.setdefault(award.award_id, []).append((order.payment_id, self.today))

    @invariant()
    def debits_equal_credits(self) -> None:
        debits = sum(ln.debit_fen for e in self.book.journal for ln in e.lines)
        credits = sum(ln.credit_fen for e in self.book.journal for ln in e.lines)
        assert debits == credits

    @invariant()
    def kept_balances_match_journal_and_nothing_negative(self) -> None:
        recomputed: dict[str, int] = {}
        for e in self.book.journal:
            for account, delta in e.deltas().items():
                recomputed[account] = recomputed.get(account, 0) + delta
        assert all(v >= 0 for v in recomputed.values()), {k: v for k, v in recomputed.items() if v < 0}
        assert {k: v for k, v in self.book.books.balances.items() if v} == {k: v for k, v in recomputed.items() if v}

    @invariant()
    def budget_and_cash_conserved(self) -> None:
        b = self.book.books
        total = self.book.total_fen
        assert b.balance(L.BUDGET_CONTROL) == total
        assert b.sum_prefix("budget:") - b.balance(L.BUDGET_CONTROL) + sum(
            b.sum_prefix(p) for p in ("reserved:", "spent:", "payable:")) == total
        assert b.balance(L.FUND_ALLOCATION) == total
        # every fen is unreleased, in the joint account, with a payee, owed back, or back at the
        # finance bureau (returned on a default, or repaid)
        cash = (b.balance(L.FUND_RECEIVABLE) + b.balance(L.BANK_JOINT) + b.sum_prefix("payee:")
                + b.sum_prefix("clawback:") + b.balance(L.FINANCE_BUREAU))
        repaid = sum(e.total_fen for e in self.book.journal if e.kind == "clawback_repaid")
        assert cash == total, (cash, total, repaid)

    @invariant()
    def no_award_paid_twice_and_reservations_resolve_once(self) -> None:
        payment_award = {p: a for a, runs in self.executions.items() for p, _ in runs}
        net: dict[str, int] = {}
        for e in self.book.journal:
            if e.kind == "payment_executed":
                net[payment_award[e.reference]] = net.get(payment_award[e.reference], 0) + 1
            elif e.kind == "payment_reversed":
                net[payment_award[e.reference]] -= 1
        assert all(0 <= v <= 1 for v in net.values()), net
        for award in self.book.awards.values():
            if award.status is AwardStatus.REFUSED:
                continue
            reserved = self.book.books.balance(award.reserved_account)
            assert reserved in (0, award.amount_fen)
            if reserved == 0:
                self.ever_resolved.add(award.award_id)
            else:
                assert award.award_id not in self.ever_resolved, "a reservation resolved twice"
                assert award.status in (AwardStatus.RESERVED, AwardStatus.IN_PUBLICITY)
            if award.status is AwardStatus.PAID:
                assert net.get(award.award_id) == 1


def _award_states(awards: dict[str, Award]) -> dict[str, tuple]:
    return {k: (a.status, a.payee, a.payment and (a.payment.payment_id, a.payment.status, len(a.payment.approvals)),
                tuple((o.objection_id, o.status) for o in a.objections.values()))
            for k, a in awards.items()}


LedgerMachine.TestCase.settings = settings(max_examples=250, stateful_step_count=60, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestLedgerStateMachine = LedgerMachine.TestCase
