from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from .._types import Code


class RatioJustification(BaseModel):
    """A recorded justification for an "in principle" (原则上) share rule this payment departs
    from: the leading group's decision (who, when, why)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule_code: Code
    text: str
    recorded_by: str
    recorded_at: datetime
    recorded_by_name: str = ""  # added later: the leading group member who decided it
