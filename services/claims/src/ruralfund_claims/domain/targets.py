"""Performance targets (绩效目标) and service deliverables: what is promised, and how the
actual value is measured.

A target says where its actual value comes from (``measure``):

* ``approved_claims`` — the number of approved claims under its items (e.g. new products);
* ``approved_claim_units`` — the units of approved per-unit claims (logo packaging);
* ``approved_claim_enterprises`` — distinct enterprises with an approved claim (supply chain);
* ``stations_in_band`` — stations whose annual volume reported by logistics lies in
  ``[band_min_yuan, band_below_yuan)`` (a station counts with its best reported year);
* ``contract_deliverables`` — the sum of the actual values service contracts report for the
  named deliverables (anchor training: trainee-times);
* ``none`` — not measured by the system (e.g. statistics bureau figures).

Values are whole numbers in the target's unit; money deliverables are integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ruralfund_common.money import format_yuan, parse_yuan

__all__ = [
    "MAX_DELIVERABLES",
    "MEASURES",
    "Deliverable",
    "DeliverableDoc",
    "Target",
    "TargetDoc",
    "TargetValue",
    "deliverable_from_doc",
    "is_met",
    "target_value",
]

MAX_DELIVERABLES: Final = 32
MAX_VALUE: Final = 2**63 - 1
MEASURES: Final = (
    "none",
    "approved_claims",
    "approved_claim_units",
    "approved_claim_enterprises",
    "approved_claim_identities",
    "stations_in_band",
    "contract_deliverables",
)
Measure = Literal[
    "none",
    "approved_claims",
    "approved_claim_units",
    "approved_claim_enterprises",
    "approved_claim_identities",
    "stations_in_band",
    "contract_deliverables",
]
Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Count = Annotated[int, Field(ge=0, le=MAX_VALUE)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliverableDoc(_Doc):
    """What a service provider must deliver: at least / at most a count, or at least an
    amount of money. Without a bound it is tracked only. ``alternative_to`` pairs two
    deliverables of which either suffices (15 anchors with 10,000 fans *or* one team of 10)."""

    code: Code
    name: Text
    unit: Text
    min_value: Count | None = None
    max_value: Count | None = None
    min_yuan: str | None = None
    alternative_to: Code | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> DeliverableDoc:
        given = [v for v in (self.min_value, self.max_value, self.min_yuan) if v is not None]
        if len(given) > 1:
            raise ValueError(
                f"deliverable {self.code}: give at most one of min_value, max_value, min_yuan"
            )
        return self


class TargetDoc(_Doc):
    """A performance target: an indicator with a minimum (or maximum) value in its unit."""

    code: Code
    name: Text
    min_value: Count | None = None
    max_value: Count | None = None
    unit: Text
    item_codes: list[Code] = Field(default_factory=list, max_length=16)
    band_min_yuan: str | None = None  # e.g. stations with a volume in [band_min, band_below)
    band_below_yuan: str | None = None
    measure: Measure = "none"
    deliverables: list[Code] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _one_bound(self) -> TargetDoc:
        if (self.min_value is None) == (self.max_value is None):
            raise ValueError(f"target {self.code}: give exactly one of min_value, max_value")
        return self


@dataclass(frozen=True)
class TargetValue:
    """A bound: ``at_least`` or ``at_most`` ``value`` (fen when ``money``)."""

    comparison: Literal["at_least", "at_most"] | None
    value: int | None
    money: bool = False

    def text(self) -> str:
        if self.comparison is None or self.value is None:
            return "-"
        shown = format_yuan(self.value) if self.money else f"{self.value:,}"
        return (">= " if self.comparison == "at_least" else "<= ") + shown


def is_met(bound: TargetValue, actual: int | None) -> bool | None:
    """True/False against the bound; None when nothing was measured. A deliverable without
    a bound is tracked only: there is nothing to miss."""
    if bound.comparison is None or bound.value is None:
        return True
    if actual is None:
        return None
    return actual >= bound.value if bound.comparison == "at_least" else actual <= bound.value


def target_value(min_value: int | None, max_value: int | None) -> TargetValue:
    if min_value is not None:
        return TargetValue("at_least", min_value)
    if max_value is not None:
        return TargetValue("at_most", max_value)
    return TargetValue(None, None)


@dataclass(frozen=True)
class Deliverable:
    code: str
    name: str
    unit: str
    bound: TargetValue
    alternative_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "comparison": self.bound.comparison,
            "target_value": self.bound.value,
            "money": self.bound.money,
            "alternative_to": self.alternative_to,
        }


def deliverable_from_doc(doc: DeliverableDoc) -> Deliverable:
    """The deliverable with its bound; ``min_yuan`` must already have been checked to parse."""
    if doc.min_yuan is not None:
        bound = TargetValue("at_least", parse_yuan(doc.min_yuan), money=True)
    else:
        bound = target_value(doc.min_value, doc.max_value)
    return Deliverable(doc.code, doc.name, doc.unit, bound, doc.alternative_to)


@dataclass(frozen=True)
class Target:
    code: str
    name: str
    unit: str
    bound: TargetValue
    measure: str
    item_codes: tuple[str, ...]
    deliverables: tuple[str, ...] = ()
    band_min_fen: int | None = None
    band_below_fen: int | None = None
