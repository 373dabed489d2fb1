"""The award aggregate: one approved award (or a service pre-allocation) from reservation to
payment, with its publicity window, objections and payment orders.

Every operation either refuses with a stable code *before changing anything*, or changes the
award, posts its entries to the given ``Books`` and returns the facts that happened (the
service layer turns facts into events). Nothing here does I/O: the service loads the award,
locks the accounts the operation may touch, calls one method and saves the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from ruralfund_common.errors import Conflict, DomainError, NotFound

from . import ledger as L
from .payments import (
    Approval,
    PaymentContent,
    bank_reference,
    check_can_approve,
    check_payable,
    is_fully_approved,
    valid_approvals,
)
from .ratios import Justification, Money, ShareBook
from .wording import AWARD_STATUS_ZH, PAYMENT_STATUS_ZH

__all__ = [
    "AWARD_KINDS",
    "LIVE_PAYMENT_STATUSES",
    "Award",
    "AwardStatus",
    "Fact",
    "ItemInfo",
    "Objection",
    "Payee",
    "PaymentOrder",
    "PaymentStatus",
    "ProgramView",
    "Tranche",
    "Window",
]

AWARD_KINDS = ("award", "preallocation", "contract_payment")
# the revocation's reason when the bureau's resolution gave none: the enterprise reads it
OBJECTION_UPHELD_ZH = "公示期内对该奖补的异议经核实成立，奖补予以撤销。"


class AwardStatus(StrEnum):
    REFUSED = "refused"  # the reservation was refused (e.g. ITEM_BUDGET_EXCEEDED)
    RESERVED = "reserved"  # pending on its item budget; no window yet
    IN_PUBLICITY = "in_publicity"  # window opened (payable once it ended with no objection)
    PAID = "paid"  # a payment was executed (the bank may still confirm or fail it)
    PAYABLE = "payable"  # a payment failed: owed to the payee again
    REVOKED = "revoked"  # reservation voided (objection upheld)


class PaymentStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    EXECUTED = "executed"
    SETTLED = "settled"
    FAILED = "failed"
    CANCELLED = "cancelled"


LIVE_PAYMENT_STATUSES = frozenset({PaymentStatus.AWAITING_APPROVAL, PaymentStatus.EXECUTED, PaymentStatus.SETTLED})


@dataclass(frozen=True)
class Payee:
    credit_code: str
    name: str
    bank_name: str
    bank_account: str


@dataclass(frozen=True)
class Window:
    starts_on: date
    ends_on: date
    payable_from: date


@dataclass
class Objection:
    objection_id: str
    award_id: str
    status: str = "open"  # open | upheld | dismissed
    filed_at: datetime | None = None
    resolved_at: datetime | None = None
    reason: str = ""
    after_payment: bool = False  # arrived when the award was already paid: flagged for the auditors


@dataclass(frozen=True)
class ItemInfo:
    line_code: str
    item_code: str
    mode: str  # reward | service
    spending_category: str | None = None  # the whole item's category on actual spend (e.g. hardware)


@dataclass(frozen=True)
class Tranche:
    """The service contract tranche a ``contract_payment`` award pays (advance, instalment, balance)."""

    contract_id: str
    contract_no: str
    tranche_code: str
    tranche_kind: str
    package_code: str | None = None
    milestone_code: str | None = None


@dataclass
class ProgramView:
    """What an award's rules need from its program."""

    program_code: str
    items: dict[str, ItemInfo]
    defaulted: set[str] = field(default_factory=set)
    joint_account_no: str = ""
    # 公示 length in working days: the program's own (program_activated), not a constant
    publicity_working_days: int = 5
    item_names: dict[str, str] = field(default_factory=dict)  # for the notice and mails notify writes
    contractor_credit_code: str | None = None  # who holds the joint account with the leading group

    @property
    def joint_account_frozen(self) -> bool:
        """The joint account's contractor is in default: nothing more leaves or enters it."""
        return self.contractor_credit_code is not None and self.contractor_credit_code in self.defaulted


@dataclass
class PaymentOrder:
    payment_id: str
    award_id: str
    content: PaymentContent
    requested_by: str
    requested_at: datetime
    status: PaymentStatus = PaymentStatus.AWAITING_APPROVAL
    approvals: list[Approval] = field(default_factory=list)
    executed_at: datetime | None = None
    executed_on: date | None = None  # county day of execution (checked against the window)
    from_payable: bool = False  # pays what a failed payment left owed, not the reservation
    settled_at: datetime | None = None
    failed_at: datetime | None = None
    outcome_code: str | None = None
    bank_txn_id: str | None = None
    new_approvals: list[Approval] = field(default_factory=list)  # not yet saved
    # reasons for departing from "in principle" share rules, and the share rules' last verdict
    justifications: list[Justification] = field(default_factory=list)
    ratio_checks: list[dict] = field(default_factory=list)

    @property
    def bank_reference(self) -> str:
        return bank_reference(self.payment_id)

    @property
    def content_sha256(self) -> str:
        return self.content.sha256()

    def executed_approvals(self) -> list[Approval]:
        return valid_approvals(self.content, self.approvals)


@dataclass(frozen=True)
class Fact:
    """Something that happened to an award; ``kind`` names the event the service emits."""

    kind: str  # reserved | reservation_refused | window_opened | revoked | executed | settled | failed | ...
    award_id: str
    code: str = ""
    reason: str = ""
    payment_id: str = ""
    source: str = ""
    reason_zh: str = ""  # a refusal's reason as people read it


@dataclass
class Award:
    award_id: str
    claim_id: str | None
    program_code: str
    line_code: str
    item_code: str
    payee: Payee
    amount_fen: int
    reserved_at: datetime
    kind: str = "award"  # award | preallocation | contract_payment
    requires_publicity: bool = True
    contract_reference: str | None = None  # a pre-allocation's service contract (a tranche's contract no)
    spending_category: str | None = None  # with line_code: the money's classification for share rules
    tranche: Tranche | None = None  # what a contract_payment pays
    # its share on each item (several under a package covering several items); default: all
    # of it on (line_code, item_code)
    parts: tuple[L.Part, ...] = ()
    # parts of the money that share rules measure, e.g. {"hardware": fen} of a tranche
    measures: dict[str, int] = field(default_factory=dict)
    status: AwardStatus = AwardStatus.RESERVED
    refusal_code: str | None = None
    published_at: datetime | None = None
    window: Window | None = None
    window_error: str | None = None
    objections: dict[str, Objection] = field(default_factory=dict)
    payment: PaymentOrder | None = None  # the live order (awaiting, executed or settled), if any
    closed_payments: list[PaymentOrder] = field(default_factory=list)  # failed/cancelled ones touched now

    def __post_init__(self) -> None:
        assert isinstance(self.amount_fen, int) and self.amount_fen > 0, "an award is a positive number of fen"
        assert self.kind in AWARD_KINDS
        assert (self.kind == "contract_payment") == (self.tranche is not None), "a contract payment pays a tranche"
        if not self.parts:
            self.parts = (L.Part(self.line_code, self.item_code, self.amount_fen),)
        assert sum(p.amount_fen for p in self.parts) == self.amount_fen, "an award's parts add up to it"
        assert len({p.item_code for p in self.parts}) == len(self.parts), "one part per item"
        assert all(0 <= v <= self.amount_fen for v in self.measures.values()), "a measure is part of the award"

    # -- derived -----------------------------------------------------------------------------
    @property
    def reserved_account(self) -> str:
        return L.account_reserved(self.line_code, self.item_code, self.award_id)

    @property
    def reserved_accounts(self) -> set[str]:
        return {L.account_reserved(p.line_code, p.item_code, self.award_id) for p in self.parts}

    def money(self) -> Money:
        """This award's money as the share rules classify it."""
        by_line: dict[str, int] = {}
        for p in self.parts:
            by_line[p.line_code] = by_line.get(p.line_code, 0) + p.amount_fen
        return Money(by_line, self.spending_category, self.measures)

    def content(self) -> PaymentContent:
        p = self.payee
        return PaymentContent(self.program_code, self.award_id, p.credit_code, p.name, p.bank_name,
                              p.bank_account, self.amount_fen)

    def open_objections(self) -> int:
        return sum(1 for o in self.objections.values() if o.status == "open" and not o.after_payment)

    def upheld_objections(self) -> int:
        return sum(1 for o in self.objections.values() if o.status == "upheld" and not o.after_payment)

    def accounts(self, *, payment_only: bool = False) -> set[str]:
        """Every account an operation on this award may post to (locked before deciding).
        Payments never touch the item's available budget: leaving it unlocked keeps
        reservations and payments of one item from queueing behind each other."""
        out = {L.account_payee(self.payee.credit_code), L.BANK_JOINT}
        for p in self.parts:
            li = (p.line_code, p.item_code)
            out |= {L.account_reserved(*li, self.award_id), L.account_spent(*li),
                    L.account_payable(*li, self.payee.credit_code)}
            if not payment_only:
                out.add(L.account_budget(*li))
        return out

    def reservation_accounts(self) -> set[str]:
        """What reserving or voiding touches: the item's budget and the award's reservation
        (not the joint account, so reservations never queue behind payments)."""
        return {L.account_budget(p.line_code, p.item_code) for p in self.parts} | self.reserved_accounts

    # -- reservation -------------------------------------------------------------------------
    def reserve(self, program: ProgramView, books: L.Books) -> list[Fact]:
        """Reserve on the item budget, or record the refusal (a value: the award exists, refused)."""
        assert self.status is AwardStatus.RESERVED and self.refusal_code is None
        try:
            for part in self.parts:
                item = program.items.get(part.item_code)
                if item is None or item.line_code != part.line_code:
                    raise Conflict("ITEM_NOT_FOUND", f"{self.program_code} has no item {part.line_code}/{part.item_code}",
                        detail_zh=f"方案 {self.program_code} 中没有项目 {part.line_code}/{part.item_code}。")
                if self.kind == "contract_payment":
                    self._check_contract_payment(program, item)
            books.post(L.reserve_parts_entry(self.parts, self.award_id))
        except DomainError as refused:
            self.status, self.refusal_code = AwardStatus.REFUSED, refused.code
            return [Fact("reservation_refused", self.award_id, refused.code, refused.message,
                         reason_zh=refused.detail_zh or "")]
        facts = [Fact("reserved", self.award_id)]
        if self.upheld_objections():  # the objection was upheld before the approval reached us
            facts += self._revoke(books, "OBJECTION_UPHELD", OBJECTION_UPHELD_ZH)
        return facts

    def _check_contract_payment(self, program: ProgramView, item: ItemInfo) -> None:
        if item.mode != "service":
            raise Conflict("NOT_A_SERVICE_ITEM", "contract tranches pay purchase-of-service items only",
                detail_zh="合同付款只能支付购买服务类项目。")
        if self.payee.credit_code in program.defaulted:
            raise Conflict("CONTRACTOR_IN_DEFAULT", f"领导小组已认定{self.payee.credit_code}违约：不再向其付款",
                detail_zh=f"领导小组已认定{self.payee.credit_code}违约：不再向其付款。")

    # -- publicity ---------------------------------------------------------------------------
    def record_publication(self, published_at: datetime) -> None:
        if self.published_at is None:
            self.published_at = published_at

    def open_window(self, window: Window | None, error_code: str | None = None) -> list[Fact]:
        """Open the window computed by the caller from the working-day calendar, or remember
        that the calendar could not say (``CALENDAR_YEAR_UNKNOWN``): never guess a deadline."""
        if self.status is not AwardStatus.RESERVED or self.window is not None or self.published_at is None:
            return []
        if window is None:
            assert error_code
            first_time = self.window_error != error_code
            self.window_error = error_code
            return [Fact("window_refused", self.award_id, error_code, "publicity window not computable")] if first_time else []
        assert window.starts_on <= window.ends_on < window.payable_from
        self.window, self.window_error, self.status = window, None, AwardStatus.IN_PUBLICITY
        return [Fact("window_opened", self.award_id)]

    # -- objections --------------------------------------------------------------------------
    def file_objection(self, objection_id: str, filed_at: datetime) -> list[Fact]:
        known = self.objections.get(objection_id)
        if known is not None:
            if known.filed_at is None:
                known.filed_at = filed_at  # the resolution overtook the filing: keep its outcome
            return []
        late = self.status in (AwardStatus.PAID, AwardStatus.PAYABLE)
        self.objections[objection_id] = Objection(objection_id, self.award_id, "open", filed_at, after_payment=late)
        return [Fact("objection_after_payment", self.award_id, "OBJECTION_AFTER_PAYMENT")] if late else [
            Fact("held", self.award_id, "OBJECTION_PENDING")]

    def resolve_objection(self, objection_id: str, outcome: str, at: datetime, reason: str,
                          books: L.Books) -> list[Fact]:
        assert outcome in ("upheld", "dismissed")
        obj = self.objections.get(objection_id)
        if obj is None:
            obj = self.objections[objection_id] = Objection(objection_id, self.award_id, "open")
            obj.after_payment = self.status in (AwardStatus.PAID, AwardStatus.PAYABLE)
        if obj.status != "open":
            return []  # resolved once; a repeated resolution changes nothing
        obj.status, obj.resolved_at, obj.reason = outcome, at, reason
        if outcome == "dismissed":
            return [Fact("released", self.award_id)] if not self.open_objections() else []
        if obj.after_payment:
            return [Fact("objection_after_payment", self.award_id, "OBJECTION_UPHELD_AFTER_PAYMENT", reason)]
        if self.status in (AwardStatus.RESERVED, AwardStatus.IN_PUBLICITY):
            return self._revoke(books, "OBJECTION_UPHELD", reason or OBJECTION_UPHELD_ZH)
        return []

    def void_for_default(self, books: L.Books) -> list[Fact]:
        """Its payee was declared in default: a reservation not paid yet goes back to the
        items' budgets (an open order is cancelled); a paid or refused award is untouched."""
        if self.status not in (AwardStatus.RESERVED, AwardStatus.IN_PUBLICITY):
            return []
        return self._revoke(books, "CONTRACTOR_IN_DEFAULT", "领导小组已认定收款单位违约：未支付的预留资金退回项目预算")

    def _revoke(self, books: L.Books, code: str, reason: str) -> list[Fact]:
        books.post(L.void_parts_entry(self.parts, self.award_id))
        self.status = AwardStatus.REVOKED
        if self.payment is not None and self.payment.status is PaymentStatus.AWAITING_APPROVAL:
            self.payment.status, self.payment.outcome_code = PaymentStatus.CANCELLED, code
            self.closed_payments.append(self.payment)
            self.payment = None
        return [Fact("revoked", self.award_id, code, reason)]

    # -- payment -----------------------------------------------------------------------------
    def check_payable(self, program: ProgramView, today: date) -> None:
        check_payable(status=self.status.value, requires_publicity=self.requires_publicity,
                      payable_from=self.window.payable_from if self.window else None, today_local=today,
                      objections_open=self.open_objections(), objections_upheld=self.upheld_objections(),
                      window_error=self.window_error, payee_in_default=self.payee.credit_code in program.defaulted,
                      joint_account_frozen=program.joint_account_frozen)

    def request_payment(self, program: ProgramView, payment_id: str, by: str, now: datetime, today: date,
                        shares: ShareBook | None = None, justifications: list[Justification] | None = None,
                        ) -> PaymentOrder:
        """Open a payment order. With ``shares`` the program's share rules are checked on actual
        spend as if this payment were made (and again at execution)."""
        if self.payment is not None:
            waiting = self.payment.status is PaymentStatus.AWAITING_APPROVAL
            code = "PAYMENT_ALREADY_REQUESTED" if waiting else "ALREADY_PAID"
            raise Conflict(code, "a payment for this award already exists", details={"payment_id": self.payment.payment_id},
                           title_zh="已有付款单，待签批" if waiting else "该奖补已拨付",
                           detail_zh=f"该奖补已有付款单 {self.payment.payment_id}（"
                           + ("正在等待签批）。" if waiting else "已执行），不能再次付款。"))
        self.check_payable(program, today)
        justifications = list(justifications or [])
        checks = self._check_shares(shares, justifications)
        self.payment = PaymentOrder(payment_id, self.award_id, self.content(), by, now,
                                    from_payable=self.status is AwardStatus.PAYABLE,
                                    justifications=justifications, ratio_checks=checks)
        return self.payment

    def _check_shares(self, shares: ShareBook | None, justifications: list[Justification]) -> list[dict]:
        if shares is None:
            return []
        statuses = shares.check(self.money(), justified={j.rule_code for j in justifications})
        return [s.as_dict() for s in statuses if s.affected or s.status == "unverified"]

    def change_payee_bank(self, bank_name: str, bank_account: str) -> None:
        """A corrected bank account changes the payment content: approvals given so far no
        longer count (they signed the old hash)."""
        if self.status in (AwardStatus.PAID, AwardStatus.REVOKED, AwardStatus.REFUSED):
            raise Conflict("AWARD_NOT_CHANGEABLE", f"award is {self.status.value}",
                detail_zh=f"该奖补当前为“{AWARD_STATUS_ZH.get(self.status.value, self.status.value)}”，不能再更改。")
        self.payee = Payee(self.payee.credit_code, self.payee.name, bank_name, bank_account)
        if self.payment is not None:
            self.payment.content = self.content()

    def approve(self, program: ProgramView, payment_id: str, *, person: str, name: str, roles: frozenset[str],
                signed_sha256: str, now: datetime, today: date, books: L.Books, shares: ShareBook | None = None,
                justifications: list[Justification] | None = None) -> list[Fact]:
        """Record one approval; the second valid one executes the payment. A refusal at
        execution (e.g. INSUFFICIENT_FUNDS, RATIO_LIMIT_EXCEEDED: another payment may have been
        made since the request) refuses this approval too: nothing changes."""
        order = self._order(payment_id)
        if order.status in (PaymentStatus.EXECUTED, PaymentStatus.SETTLED):
            raise Conflict("ALREADY_PAID", "this payment was already executed", title_zh="该付款已执行",
                           detail_zh=f"付款单 {payment_id} 已执行，无须再签批。")
        content = self.content()  # the current content: a change since the request invalidates approvals
        role = check_can_approve(content, order.approvals, person=person, roles=roles, signed_sha256=signed_sha256)
        approval = Approval(person, name, role, signed_sha256, now)
        justified = order.justifications + list(justifications or [])
        if not is_fully_approved(content, order.approvals + [approval]):
            self.check_payable(program, today)  # no point collecting signatures for an unpayable award
            order.approvals.append(approval)
            order.new_approvals.append(approval)
            order.justifications = justified
            return [Fact("approved", self.award_id, payment_id=payment_id)]
        self.check_payable(program, today)  # re-checked at execution: window, objections, default
        checks = self._check_shares(shares, justified)  # and the share rules on the spend of now
        books.post(L.payment_parts_entry(self.parts, self.award_id, self.payee.credit_code,
                                   from_payable=order.from_payable, payment_id=payment_id))
        if shares is not None:
            shares.record(self.money())
            order.ratio_checks = checks
        order.justifications = justified
        order.approvals.append(approval)
        order.new_approvals.append(approval)
        order.content, order.status, order.executed_at, order.executed_on = content, PaymentStatus.EXECUTED, now, today
        self.status = AwardStatus.PAID
        return [Fact("executed", self.award_id, payment_id=payment_id)]

    def settle(self, payment_id: str, bank_txn_id: str, now: datetime, source: str) -> list[Fact]:
        order = self._order(payment_id)
        if order.status is PaymentStatus.SETTLED:
            raise Conflict("PAYMENT_ALREADY_SETTLED", "the bank already confirmed this payment",
                detail_zh="银行已确认该笔付款到账，不能重复处理。")
        if order.status is not PaymentStatus.EXECUTED:
            raise Conflict("PAYMENT_NOT_EXECUTED", f"payment is {order.status.value}",
                detail_zh=f"该笔付款当前为“{PAYMENT_STATUS_ZH.get(order.status.value, order.status.value)}”，尚未执行，不能确认到账。")
        order.status, order.settled_at, order.bank_txn_id = PaymentStatus.SETTLED, now, bank_txn_id
        return [Fact("settled", self.award_id, payment_id=payment_id, source=source)]

    def fail(self, payment_id: str, code: str, reason: str, now: datetime, source: str, books: L.Books) -> list[Fact]:
        """The bank failed (or returned) an executed payment: compensating postings put the cash
        back in the joint account and the amount back to payable to the payee."""
        order = self._order(payment_id)
        if order.status is PaymentStatus.SETTLED:
            raise Conflict("PAYMENT_ALREADY_SETTLED", "the bank already confirmed this payment",
                detail_zh="银行已确认该笔付款到账，不能再登记为退回。")
        if order.status is not PaymentStatus.EXECUTED:
            raise Conflict("PAYMENT_NOT_EXECUTED", f"payment is {order.status.value}",
                detail_zh=f"该笔付款当前为“{PAYMENT_STATUS_ZH.get(order.status.value, order.status.value)}”，尚未执行，不能登记为退回。")
        books.post(L.reversal_parts_entry(self.parts, self.payee.credit_code, payment_id=payment_id))
        order.status, order.failed_at, order.outcome_code = PaymentStatus.FAILED, now, code
        self.closed_payments.append(order)
        self.payment, self.status = None, AwardStatus.PAYABLE
        return [Fact("failed", self.award_id, code, reason, payment_id=payment_id, source=source)]

    def _order(self, payment_id: str) -> PaymentOrder:
        if self.payment is not None and self.payment.payment_id == payment_id:
            return self.payment
        for closed in self.closed_payments:
            if closed.payment_id == payment_id:
                raise Conflict("PAYMENT_" + closed.status.value.upper(), f"payment is {closed.status.value}",
                    title_zh=f"该笔付款{PAYMENT_STATUS_ZH.get(closed.status.value, closed.status.value)}", detail_zh=f"付款 {payment_id} 当前为“{PAYMENT_STATUS_ZH.get(closed.status.value, closed.status.value)}”，不能再办理。")
        raise NotFound("PAYMENT_NOT_FOUND", f"no live payment {payment_id} for award {self.award_id}",
            detail_zh=f"奖补 {self.award_id} 没有编号为 {payment_id} 的有效付款指令。")
