from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ...messaging.envelope import Event
from .._types import Code, CountyCode, Fen, ItemMode


class ItemBudget(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: Code
    name: str
    budget_fen: Fen
    mode: ItemMode


class LineBudget(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: Code
    name: str
    budget_fen: Fen
    items: list[ItemBudget]


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
