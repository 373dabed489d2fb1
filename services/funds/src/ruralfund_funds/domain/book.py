"""A whole program in memory: the same decisions the service layer makes, over complete books.

Used by the property tests (a random sequence of commands must keep every invariant) and as
the executable summary of how the pieces fit. The service layer does the same calls on
partial books whose accounts it has locked in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ruralfund_common.errors import DomainError

from . import ledger as L
from . import program as P
from .awards import Award, Fact, ItemInfo, Payee, ProgramView, Window
from .ratios import Justification, ShareBook

__all__ = ["ProgramBook"]


@dataclass
class ProgramBook:
    program: ProgramView
    total_fen: int
    books: L.Books = field(default_factory=lambda: L.Books(complete=True))
    awards: dict[str, Award] = field(default_factory=dict)
    adjustments: list[P.Adjustment] = field(default_factory=list)
    defaults: dict[str, P.Default] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)
    shares: ShareBook | None = None  # the program's share rules on actual spend, if it has any

    @classmethod
    def open(cls, program_code: str, items: Mapping[str, tuple[str, str, int]],
             shares: ShareBook | None = None) -> ProgramBook:
        """``items``: item code → (line code, mode, budget fen)."""
        view = ProgramView(program_code, {c: ItemInfo(line, c, mode) for c, (line, mode, _) in items.items()})
        total = sum(b for _, _, b in items.values())
        book = cls(view, total, shares=shares)
        book.books.post(L.open_program_entry(total, {(ln, c): b for c, (ln, _, b) in items.items()}, program_code))
        return book

    @property
    def journal(self) -> list[L.Entry]:
        return self.books.posted

    def release(self, release_id: str, amount_fen: int) -> None:
        P.release(self.books, release_id, amount_fen, self.program)

    def approve_claim(self, award: Award) -> list[Fact]:
        """claims.evt.claim_approved (or contract_payment_due): reserve (duplicates change nothing)."""
        if award.award_id in self.awards:
            return []
        facts = award.reserve(self.program, self.books)
        self.awards[award.award_id] = award
        return self._keep(facts)

    def publish(self, award_id: str, published_at: datetime, window: Window | None, error: str | None = None) -> list[Fact]:
        award = self.awards[award_id]
        award.record_publication(published_at)
        return self._keep(award.open_window(window, error))

    def file_objection(self, award_id: str, objection_id: str, at: datetime) -> list[Fact]:
        return self._keep(self.awards[award_id].file_objection(objection_id, at))

    def resolve_objection(self, award_id: str, objection_id: str, outcome: str, at: datetime) -> list[Fact]:
        return self._keep(self.awards[award_id].resolve_objection(objection_id, outcome, at, "", self.books))

    def request_payment(self, award_id: str, payment_id: str, by: str, now: datetime, today: date,
                        justifications: list[Justification] | None = None) -> str:
        return self.awards[award_id].request_payment(self.program, payment_id, by, now, today, self.shares,
                                                     justifications).payment_id

    def approve(self, award_id: str, payment_id: str, person: str, roles: frozenset[str], sha: str,
                now: datetime, today: date, justifications: list[Justification] | None = None) -> list[Fact]:
        award = self.awards[award_id]
        return self._keep(award.approve(self.program, payment_id, person=person, name=person, roles=roles,
                                        signed_sha256=sha, now=now, today=today, books=self.books,
                                        shares=self.shares, justifications=justifications))

    def settle(self, award_id: str, payment_id: str, now: datetime) -> list[Fact]:
        return self._keep(self.awards[award_id].settle(payment_id, f"bank-{payment_id}", now, "api"))

    def fail(self, award_id: str, payment_id: str, now: datetime) -> list[Fact]:
        award = self.awards[award_id]
        facts = self._keep(award.fail(payment_id, "BANK_REJECTED", "", now, "api", self.books))
        if self.shares is not None:
            self.shares.reverse(award.money())
        return facts

    def adjust(self, adjustment_id: str, from_item: str, to_item: str, amount_fen: int,
               resolution: P.Resolution | None, override: bool) -> P.Adjustment:
        adj = P.adjust(self.program, self.books, adjustment_id, from_item, to_item, amount_fen, resolution, override)
        self.adjustments.append(adj)
        return adj

    def preallocate(self, preallocation_id: str, item_code: str, provider: Payee, amount_fen: int,
                    now: datetime) -> Award:
        if preallocation_id in self.awards:
            raise DomainError("DUPLICATE_ID", "pre-allocation id already used",
                title_zh="编号已被使用", detail_zh=f"预拨编号 {preallocation_id} 已被使用，请换一个新编号。")
        award = P.preallocate(self.program, self.books, preallocation_id, item_code, provider, amount_fen, now)
        self.awards[award.award_id] = award
        return award

    def declare_default(self, credit_code: str, resolution: P.Resolution) -> P.Default:
        holder = credit_code == self.program.contractor_credit_code
        theirs = [a for a in self.awards.values() if holder or a.payee.credit_code == credit_code]
        d = P.declare_default(self.program, self.books, credit_code, resolution, theirs, theirs)
        for _, facts in d.voided:
            self._keep(list(facts))
        self.defaults[credit_code] = d
        return d

    def repay(self, repayment_id: str, credit_code: str, amount_fen: int) -> int:
        return P.repay(self.program, self.books, repayment_id, credit_code, amount_fen)

    def _keep(self, facts: list[Fact]) -> list[Fact]:
        self.facts.extend(facts)
        return facts
