from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...messaging.envelope import Event
from .._types import Code, CountyCode, Fen, ItemMode


class ItemBudget(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: Code
    name: str
    budget_fen: Fen
    mode: ItemMode
    # The spending category of the item's money on actual spend (e.g. ``hardware``), when the
    # whole item is one; contract tranches may classify their own part differently.
    spending_category: Code | None = None


class LineBudget(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: Code
    name: str
    budget_fen: Fen
    items: list[ItemBudget]


class RatioRuleSpec(BaseModel):
    """A share rule on the cumulative fund (e.g. hardware ≤ 10 %), for checks on actual spend.

    Its numerator is the money of the given ``lines`` or of the spending category ``measure``;
    its denominator the fund of every phase together (history totals + this program's total)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    code: Code
    name: str
    bound: Literal["min", "max"]
    limit_percent: str  # decimal text, e.g. "10" or "12.5"; compared exactly, never as float
    on_breach: Literal["error", "warning"]  # error: refused; warning: "in principle" (原则上)
    lines: list[Code] | None = None
    measure: Code | None = None


class HistoryPhaseSpec(BaseModel):
    """An earlier phase of the same program: its total and what it spent by line and by measure
    (a measure missing from ``measures`` is unknown, never zero)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    phase: str
    label: str
    total_fen: Fen
    lines: dict[str, Fen]
    measures: dict[str, Fen] = {}


class ProgramActivated(Event):
    """A program's budget was checked (items sum to lines, lines to the total) and activated;
    funds opens its accounts from these budgets."""

    SUBJECT = "claims.evt.program_activated.v1"
    program_code: Code
    name: str
    county_code: CountyCode
    county_name: str
    year: int
    phase: str
    total_fen: Fen
    lines: list[LineBudget]
    contractor_credit_code: str | None = None
    contractor_name: str | None = None
    joint_account_bank: str | None = None
    joint_account_no: str | None = None
    activated_at: datetime
    ratio_rules: list[RatioRuleSpec] = []
    history: list[HistoryPhaseSpec] = []
    # Service contract payments are publicised only when the program says so.
    contract_payments_require_publicity: bool = False
    # How many working days an award is publicised (公示) before it may be paid; the program
    # file's ``publicity_working_days`` (Xinping §四: 5). Optional: activations before it was
    # carried meant 5.
    publicity_working_days: int = Field(default=5, ge=1, le=30)
