"""Share rules on a program's money (资金使用比例), e.g. Guangdong's guide for Ruyuan:
hardware and decoration at most 10 %, logistics in principle at least 50 %, training at most
15 %, all on the cumulative fund of every phase (首期 + 二期).

A rule measures either budget lines or a named measure that items declare (``measures:
{hardware: "400,000.00"}``: the part of the item's budget that is hardware and decoration).
Earlier phases are recorded as history with their line budgets and measures.

Missing history figures are never taken as zero: a maximum already exceeded by the known
figures is a breach (unknown amounts can only add to it), a minimum already reached by them
is met; anything else is *unverified*, reported as a warning naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_HISTORY_PHASES",
    "MAX_RATIO_RULES",
    "HistoryPhaseDoc",
    "PhaseFigures",
    "RatioResult",
    "RatioRuleDoc",
    "evaluate_ratio",
    "share_text",
]

MAX_HISTORY_PHASES: Final = 8
MAX_RATIO_RULES: Final = 16

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
PercentText = Annotated[str, Field(pattern=r"^(100|[0-9]{1,2})(\.[0-9]{1,2})?$")]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HistoryPhaseDoc(_Doc):
    """An earlier phase of the same program, as the current plan prints it (e.g. 首期 1000万)."""

    phase: Literal["first", "second", "follow_up"]
    document: Text
    total_yuan: str
    lines: dict[Code, str] = Field(description="line code -> that phase's budget, yuan text")
    measures: dict[Code, str] = Field(default_factory=dict, description="measure -> yuan text")


class RatioRuleDoc(_Doc):
    """A share of the (cumulative) fund that lines or a measure must stay above or below."""

    code: Code
    name: Text
    wording: Text | None = Field(default=None, description="the original's words")
    source: Text | None = None
    scope: Literal["cumulative", "program"] = "cumulative"
    lines: list[Code] | None = Field(default=None, max_length=32)
    measure: Code | None = None
    min_percent: PercentText | None = None
    max_percent: PercentText | None = None
    # "error": activation is refused on a breach; "warning": an "in principle" (原则上) rule.
    on_breach: Literal["error", "warning"]

    @model_validator(mode="after")
    def _one_each(self) -> RatioRuleDoc:
        if (self.lines is None) == (self.measure is None):
            raise ValueError(f"ratio rule {self.code}: give exactly one of lines, measure")
        if (self.min_percent is None) == (self.max_percent is None):
            raise ValueError(
                f"ratio rule {self.code}: give exactly one of min_percent, max_percent"
            )
        return self


@dataclass(frozen=True)
class PhaseFigures:
    """One phase's total and the rule's numerator; None when the phase does not record it."""

    label: str
    total_fen: int
    numerator_fen: int | None


@dataclass(frozen=True)
class RatioResult:
    code: str
    name: str
    status: Literal["met", "breached", "unverified"]
    bound: Literal["min", "max"]
    limit_percent: str
    share_percent: str  # of the known figures
    numerator_fen: int
    denominator_fen: int
    missing: tuple[str, ...]
    on_breach: Literal["error", "warning"]
    phases: tuple[PhaseFigures, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "bound": self.bound,
            "limit_percent": self.limit_percent,
            "share_percent": self.share_percent,
            "numerator_fen": self.numerator_fen,
            "denominator_fen": self.denominator_fen,
            "missing": list(self.missing),
            "on_breach": self.on_breach,
        }


def share_text(numerator_fen: int, denominator_fen: int) -> str:
    """The share in percent with 2 decimals, half up ("28.75"); display only, never compared."""
    assert denominator_fen > 0
    share = Decimal(numerator_fen) * 100 / Decimal(denominator_fen)
    return str(share.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def evaluate_ratio(rule: RatioRuleDoc, phases: list[PhaseFigures]) -> RatioResult:
    """Compare the share of the phases' numerators in their totals with the rule's bound.

    Exact: numerator x 100 is compared with limit x denominator in Decimal, no rounding.
    """
    assert phases, "the current phase is always there"
    denominator = sum(p.total_fen for p in phases)
    known = sum(p.numerator_fen for p in phases if p.numerator_fen is not None)
    missing = tuple(p.label for p in phases if p.numerator_fen is None)
    bound: Literal["min", "max"] = "max" if rule.max_percent is not None else "min"
    limit = Decimal(rule.max_percent if rule.max_percent is not None else rule.min_percent or "0")
    within_known = (
        Decimal(known) * 100 <= limit * denominator
        if bound == "max"
        else Decimal(known) * 100 >= limit * denominator
    )
    status: Literal["met", "breached", "unverified"]
    if bound == "max":
        # More unknown money can only raise the share: a breach on known figures is final.
        status = "breached" if not within_known else ("unverified" if missing else "met")
    else:
        status = "met" if within_known else ("unverified" if missing else "breached")
    return RatioResult(
        code=rule.code,
        name=rule.name,
        status=status,
        bound=bound,
        limit_percent=str(limit),
        share_percent=share_text(known, denominator) if denominator else "0.00",
        numerator_fen=known,
        denominator_fen=denominator,
        missing=missing,
        on_breach=rule.on_breach,
        phases=tuple(phases),
    )
