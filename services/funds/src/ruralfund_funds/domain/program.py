"""Program-level commands: release (预拨), budget adjustments, pre-allocation of service items,
contractor default (clawback) and repayments. Same shape as the award aggregate: refuse
before changing anything, else post to ``Books`` and return what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, yuan_zh

from . import ledger as L
from .awards import Award, AwardStatus, Fact, Payee, PaymentStatus, ProgramView
from .ledger import TITLES_ZH_BY_ACCOUNT

__all__ = [
    "MAX_RESOLUTION_CHARS",
    "Adjustment",
    "Default",
    "Resolution",
    "adjust",
    "declare_default",
    "preallocate",
    "release",
    "repay",
]

MAX_RESOLUTION_CHARS = 200


@dataclass(frozen=True)
class Resolution:
    """A leading group resolution (领导小组决议): its number and date."""

    number: str
    dated: date

    def __post_init__(self) -> None:
        if not self.number.strip() or len(self.number) > MAX_RESOLUTION_CHARS:
            raise InvalidInput("RESOLUTION_REQUIRED", "a leading group resolution number is required",
                               field="resolution_number",
                                   detail_zh=f"请填写领导小组决议文号（最多 {MAX_RESOLUTION_CHARS} 个字符）。",
                               )


@dataclass(frozen=True)
class Adjustment:
    adjustment_id: str
    from_item: str
    to_item: str
    amount_fen: int
    resolution: Resolution
    override: bool  # a purchase-of-service item was adjusted by explicit override: flagged in reports


@dataclass(frozen=True)
class Default:
    credit_code: str
    resolution: Resolution
    receivable_fen: int  # paid to it: now owed back (clawback:<credit code>)
    returned_fen: int = 0  # the unspent joint account returned to the finance bureau
    holds_joint_account: bool = False  # the contractor of the joint account: no payment leaves it now
    # its reservations not paid yet, voided back to their items' budgets, with what happened
    voided: tuple[tuple[Award, tuple[Fact, ...]], ...] = ()


def release(books: L.Books, release_id: str, amount_fen: int, program: ProgramView | None = None) -> None:
    """Finance bureau → joint account; never above the program total (fund:receivable ≥ 0),
    never into the joint account of a contractor in default."""
    if program is not None and program.joint_account_frozen:
        raise Conflict("JOINT_ACCOUNT_FROZEN",
                       f"共管账户的承办企业（{program.contractor_credit_code}）已被领导小组认定违约，"
                       "项目资金已收回，不再拨入共管账户",
                           detail_zh=f"共管账户的承办企业（{program.contractor_credit_code}）已被领导小组认定违约，项目资金已收回，不再拨入共管账户。",
                       )
    books.post(L.release_entry(amount_fen, release_id))


def adjust(program: ProgramView, books: L.Books, adjustment_id: str, from_item: str, to_item: str, amount_fen: int,
           resolution: Resolution | None, override: bool) -> Adjustment:
    """Move available budget between items. Reward items need a resolution; purchase-of-service
    items are "in principle not adjusted": refused unless the resolution explicitly overrides."""
    if resolution is None:
        raise Conflict("RESOLUTION_REQUIRED", "moving budget between items needs a leading group resolution",
            detail_zh="在项目之间调剂预算须有领导小组决议（决议文号和日期）。")
    if from_item == to_item:
        raise InvalidInput("SAME_ITEM", "an adjustment moves budget between two different items", field="to_item",
            detail_zh="调剂须在两个不同的项目之间进行，调出和调入项目不能相同。")
    src, dst = program.items.get(from_item), program.items.get(to_item)
    if src is None or dst is None:
        raise Conflict("ITEM_NOT_FOUND", f"no item {from_item if src is None else to_item}",
            detail_zh=f"方案中没有项目 {from_item if src is None else to_item}。")
    service_involved = "service" in (src.mode, dst.mode)
    if service_involved and not override:
        raise Conflict("SERVICE_ITEM_NOT_ADJUSTABLE",
                       "purchase-of-service budgets are not adjusted unless a resolution explicitly overrides",
                           detail_zh="购买服务类项目的预算原则上不调剂，除非领导小组决议明确同意。",
                       )
    books.post(L.adjustment_entry((src.line_code, src.item_code), (dst.line_code, dst.item_code), amount_fen,
                                  adjustment_id))
    return Adjustment(adjustment_id, from_item, to_item, amount_fen, resolution, service_involved)


def preallocate(program: ProgramView, books: L.Books, preallocation_id: str, item_code: str, provider: Payee,
                amount_fen: int, now: datetime, contract_reference: str = "") -> Award:
    """Pre-allocate (预拨) part of a service item to its contracted provider: an obligation
    reserved like an award, paid through the same two-approval payment order, no publicity."""
    item = program.items.get(item_code)
    if item is None:
        raise Conflict("ITEM_NOT_FOUND", f"no item {item_code}",
            detail_zh=f"方案中没有项目 {item_code}。")
    if item.mode != "service":
        raise Conflict("NOT_A_SERVICE_ITEM", "only purchase-of-service items are pre-allocated; rewards are claimed",
            detail_zh="只有购买服务类项目可以预拨；以奖代补项目由企业申报。")
    if provider.credit_code in program.defaulted:
        raise Conflict("CONTRACTOR_IN_DEFAULT", "the leading group declared this provider in default",
            detail_zh=f"领导小组已认定服务商 {provider.credit_code} 违约，不再向其预拨资金。")
    award = Award(preallocation_id, None, program.program_code, item.line_code, item.item_code, provider, amount_fen,
                  now, kind="preallocation", requires_publicity=False, contract_reference=contract_reference,
                  spending_category=item.spending_category)
    facts = award.reserve(program, books)
    if award.status is AwardStatus.REFUSED:
        raise Conflict(facts[0].code, facts[0].reason,
            title_zh=TITLES_ZH_BY_ACCOUNT.get(facts[0].code), detail_zh=facts[0].reason_zh)
    return award


def declare_default(program: ProgramView, books: L.Books, credit_code: str, resolution: Resolution,
                    awards_in_flight: list[Award], unpaid: list[Award] | None = None) -> Default:
    """Xinping §六: a contractor that cannot finish on time so that acceptance is affected has
    all project construction funds recovered (收回全部项目建设资金).

    - everything paid to it becomes a receivable from it (clawback:<credit code>);
    - no further payment to it; when it holds the joint account, no further payment out of the
      joint account at all, and the unspent money there goes back to the finance bureau.
    Refused while a payment concerned is executed but not yet confirmed by the bank: its
    outcome decides whether the money is with the payee or back in the joint account.
    ``awards_in_flight``: its awards (every award of the program when it holds the account);
    ``unpaid``: its awards reserved but not paid: voided back to their items' budgets (it will
    not be paid them, and the budget is not held for it)."""
    if credit_code in program.defaulted:
        raise Conflict("ALREADY_IN_DEFAULT", f"{credit_code} 已被认定违约，不能重复认定",
            detail_zh=f"{credit_code} 已被认定违约，不能重复认定。")
    in_flight = [a.award_id for a in awards_in_flight
                 if a.payment is not None and a.payment.status is PaymentStatus.EXECUTED]
    if in_flight:
        raise Conflict("PAYMENTS_IN_FLIGHT",
                       f"有{len(in_flight)}笔已执行的付款尚待银行确认：请先确认到账或退回，再认定违约",
                       details={"award_ids": in_flight},
                           detail_zh=f"有 {len(in_flight)} 笔已执行的付款尚待银行确认：请先确认到账或退回，再认定违约。",
                       )
    paid = books.balance(L.account_payee(credit_code))
    if paid > 0:
        books.post(L.default_entry(credit_code, paid, f"default:{credit_code}"))
    holds = bool(program.contractor_credit_code) and credit_code == program.contractor_credit_code
    returned = books.balance(L.BANK_JOINT) if holds else 0
    if returned > 0:
        books.post(L.return_entry(returned, f"default:{credit_code}"))
    voided = tuple((a, tuple(a.void_for_default(books))) for a in unpaid or []
                   if a.payee.credit_code == credit_code)
    program.defaulted.add(credit_code)
    return Default(credit_code, resolution, paid, returned, holds, tuple((a, f) for a, f in voided if f))


def repay(program: ProgramView, books: L.Books, repayment_id: str, credit_code: str, amount_fen: int) -> int:
    """A repayment to the finance bureau against the clawback receivable; returns what is left."""
    if credit_code not in program.defaulted:
        raise Conflict("NOT_IN_DEFAULT", f"{credit_code} 未被认定违约，没有应收回的资金",
            detail_zh=f"{credit_code} 未被认定违约，没有应收回的资金。")
    outstanding = books.balance(L.account_clawback(credit_code))
    if amount_fen > outstanding:
        raise Conflict("REPAYMENT_EXCEEDS_RECEIVABLE",
                       f"还款{format_yuan(amount_fen)}元超过应收回余额{format_yuan(outstanding)}元",
                       field="amount_yuan", details={"outstanding_fen": outstanding, "amount_fen": amount_fen},
                           detail_zh=f"还款 {yuan_zh(amount_fen)} 超过应收回余额 {yuan_zh(outstanding)}。",
                       )
    after = books.post(L.repayment_entry(credit_code, amount_fen, repayment_id))
    return after[L.account_clawback(credit_code)]
