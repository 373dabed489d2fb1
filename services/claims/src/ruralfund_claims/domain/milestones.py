"""Milestones (实施计划 / 时间节点) with responsible units and due dates, and when one is overdue.

A plan prints its schedule by month ("2023年11月前", "2023年2月至3月"); a due month means the
last day of that month. A milestone is overdue on the first local (Asia/Shanghai) day after
its due date while it has not been accepted.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_MILESTONES",
    "MAX_UNITS",
    "Milestone",
    "MilestoneDoc",
    "UnitDoc",
    "due_date",
    "is_overdue",
    "responsible_units",
]

MAX_MILESTONES: Final = 64
MAX_UNITS: Final = 64
MAX_RESPONSIBLE_UNITS: Final = 8
_DAY_OR_MONTH: Final = r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$"

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
DayOrMonth = Annotated[str, Field(pattern=_DAY_OR_MONTH)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitDoc(_Doc):
    """A responsible unit (责任单位): where an overdue notice goes."""

    name: Text
    email: Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")] | None = (
        None
    )
    phone: Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{5,19}$")] | None = None
    demo: bool = Field(default=False, description="placeholder contact, not the unit's own")


class MilestoneDoc(_Doc):
    code: Code
    name: Text
    due: DayOrMonth
    starts: DayOrMonth | None = None
    stage: Literal["preparation", "implementation", "acceptance", "operation"] | None = None
    schedule: Text | None = Field(default=None, description="the time as the original prints it")
    content: LongText | None = None
    # One unit, or several with the lead unit first (the notice goes to the lead unit).
    responsible: Text | list[Text] | None = None


@dataclass(frozen=True)
class Milestone:
    code: str
    name: str
    due_on: date
    responsible: tuple[str, ...]
    lead_email: str | None
    stage: str | None = None

    @property
    def responsible_text(self) -> str:
        return "、".join(self.responsible) if self.responsible else "（未指定）"


def due_date(text: str) -> date:
    """ "2023-11" -> 2023-11-30 (the month's last day); "2023-12-15" -> that day."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        return date(parts[0], parts[1], parts[2])
    year, month = parts
    return date(year, month, calendar.monthrange(year, month)[1])


def responsible_units(doc: MilestoneDoc) -> tuple[str, ...]:
    if doc.responsible is None:
        return ()
    units = [doc.responsible] if isinstance(doc.responsible, str) else doc.responsible
    return tuple(u.strip() for u in units[:MAX_RESPONSIBLE_UNITS])


def is_overdue(due_on: date, today: date, status: Literal["pending", "accepted"]) -> bool:
    return status == "pending" and today > due_on
