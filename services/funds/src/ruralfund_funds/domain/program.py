"""Program-level commands: release (预拨), budget adjustments, pre-allocation of service items,
contractor default (clawback) and repayments. Same shape as the award aggregate: refuse
before changing anything, else post to ``Books`` and return what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ruralfund_common.errors import Conflict, InvalidInput

from . import ledger as L
from .awards import Award, AwardStatus, Payee, PaymentStatus, ProgramView

__all__ = ["Resolution", "Adjustment", "Default", "release", "adjust", "preallocate", "declare_default", "repay",
           "MAX_RESOLUTION_CHARS"]

MAX_RESOLUTION_CHARS = 200


@dataclass(frozen=True)
class Resolution:
    """A leading group resolution (领导小组决议): its number and date."""

    number: str
    dated: date

    def __post_init__(self) -> None:
        if not self.number.strip() or len(self.number) > MAX_RESOLUTION_CHARS:
            raise InvalidInput("RESOLUTION_REQUIRED", "a leading group resolution number is required",
                               field="resolution_number")


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
    receivable_fen: int


def release(books: L.Books, release_id: str, amount_fen: int) -> None:
    """Finance bureau → joint account; never above the program total (fund:receivable ≥ 0)."""
    books.post(L.release_entry(amount_fen, release_id))


def adjust(program: ProgramView, books: L.Books, adjustment_id: str, from_item: str, to_item: str, amount_fen: int,
           resolution: Resolution | None, override: bool) -> Adjustment:
    """Move available budget between items. Reward items need a resolution; purchase-of-service
    items are "in principle not adjusted": refused unless the resolution explicitly overrides."""
    if resolution is None:
        raise Conflict("RESOLUTION_REQUIRED", "moving budget between items needs a leading group resolution")
    if from_item == to_item:
        raise InvalidInput("SAME_ITEM", "an adjustment moves budget between two different items", field="to_item")
    src, dst = program.items.get(from_item), program.items.get(to_item)
    if src is None or dst is None:
        raise Conflict("ITEM_NOT_FOUND", f"no item {from_item if src is None else to_item}")
    service_involved = "service" in (src.mode, dst.mode)
    if service_involved and not override:
        raise Conflict("SERVICE_ITEM_NOT_ADJUSTABLE",
                       "purchase-of-service budgets are not adjusted unless a resolution explicitly overrides")
    books.post(L.adjustment_entry((src.line_code, src.item_code), (dst.line_code, dst.item_code), amount_fen,
                                  adjustment_id))
    return Adjustment(adjustment_id, from_item, to_item, amount_fen, resolution, service_involved)


def preallocate(program: ProgramView, books: L.Books, preallocation_id: str, item_code: str, provider: Payee,
                amount_fen: int, now: datetime, contract_reference: str = "") -> Award:
    """Pre-allocate (预拨) part of a service item to its contracted provider: an obligation
    reserved like an award, paid through the same two-approval payment order, no publicity."""
    item = program.items.get(item_code)
    if item is None:
        raise Conflict("ITEM_NOT_FOUND", f"no item {item_code}")
    if item.mode != "service":
        raise Conflict("NOT_A_SERVICE_ITEM", "only purchase-of-service items are pre-allocated; rewards are claimed")
    if provider.credit_code in program.defaulted:
        raise Conflict("CONTRACTOR_IN_DEFAULT", "the leading group declared this provider in default")
    award = Award(preallocation_id, None, program.program_code, item.line_code, item.item_code, provider, amount_fen,
                  now, kind="preallocation", requires_publicity=False, contract_reference=contract_reference,
                  spending_category=item.spending_category)
    facts = award.reserve(program, books)
    if award.status is AwardStatus.REFUSED:
        raise Conflict(facts[0].code, facts[0].reason)
    return award


def declare_default(program: ProgramView, books: L.Books, credit_code: str, resolution: Resolution,
                    awards_in_flight: list[Award]) -> Default:
    """All project funds paid to a contractor in default become a receivable (clawback).

    Refused while a payment to it is executed but not yet confirmed by the bank: its outcome
    decides whether the money is with the contractor or back in the joint account."""
    if credit_code in program.defaulted:
        raise Conflict("ALREADY_IN_DEFAULT", "this contractor is already in default")
    in_flight = [a.award_id for a in awards_in_flight
                 if a.payment is not None and a.payment.status is PaymentStatus.EXECUTED]
    if in_flight:
        raise Conflict("PAYMENTS_IN_FLIGHT", "settle or fail the executed payments first",
                       details={"award_ids": in_flight})
    paid = books.balance(L.account_payee(credit_code))
    if paid > 0:
        books.post(L.default_entry(credit_code, paid, f"default:{credit_code}"))
    program.defaulted.add(credit_code)
    return Default(credit_code, resolution, paid)


def repay(program: ProgramView, books: L.Books, repayment_id: str, credit_code: str, amount_fen: int) -> int:
    """A repayment into the joint account against the clawback receivable; returns what is left."""
    if credit_code not in program.defaulted:
        raise Conflict("NOT_IN_DEFAULT", "no clawback receivable: this contractor is not in default")
    after = books.post(L.repayment_entry(credit_code, amount_fen, repayment_id))
    return after[L.account_clawback(credit_code)]
