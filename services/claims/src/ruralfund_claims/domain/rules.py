"""Award rules (以奖代补) as data: pure, typed, versioned.

A program file gives each reward item a ``rule`` mapping: ``kind`` plus that kind's
parameters. :func:`parse_rule` turns it into a :class:`Rule`; ``rule.parse_evidence(raw)``
checks an enterprise's evidence against the kind's typed model; ``rule.compute(evidence)``
returns an :class:`AwardComputation` (eligible, amount in fen, the rule version and every
threshold with its figures). No I/O, no clock, no floats: money is integer fen converted from
yuan text with :func:`ruralfund_common.money.parse_yuan`, rounding only in ``percent_of``.

The rule version is ``<kind>/v<kind version>+<12 hex of sha256(canonical parameters)>``, so an
award always names the exact rule text it was computed under; editing a parameter (even in a
program file) gives a new version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruralfund_common.errors import InvalidInput
from ruralfund_common.money import MAX_FEN, format_yuan, parse_yuan, per_unit, percent_of

__all__ = [
    "KIND_VERSIONS",
    "MAX_FIGURES",
    "MAX_MONTHS",
    "MAX_THRESHOLDS",
    "MAX_TIERS",
    "MAX_UNITS",
    "AwardComputation",
    "CategoryCap",
    "FixedIfAllEvidence",
    "FixedIfAllParams",
    "MonthSales",
    "PerUnitEvidence",
    "PerUnitParams",
    "PercentOfAmountEvidence",
    "PercentOfAmountParams",
    "PercentOfInvestmentCappedParams",
    "PercentOfInvestmentEvidence",
    "Reason",
    "Rule",
    "RuleInvalid",
    "Threshold",
    "Tier",
    "TiersEvidence",
    "TiersParams",
    "parse_rule",
]

# Bump a kind's version when its computation changes meaning; old awards keep their version.
KIND_VERSIONS: Final[Mapping[str, int]] = {
    "per_unit": 1,
    "percent_of_amount": 1,
    "fixed_if_all": 1,
    "tiers": 1,
    "percent_of_investment_capped": 1,
}
MAX_UNITS: Final = 10**12  # far above any county's packaging; bounds per_unit's product
MAX_MONTHS: Final = 36
MAX_THRESHOLDS: Final = 16
MAX_TIERS: Final = 16
MAX_FIGURES: Final = 32
MAX_TEXT_CHARS: Final = 200
_HASH_CHARS: Final = 12

_KEY = r"^[a-z][a-z0-9_]{0,47}$"
_QUARTER = r"^(20[0-9]{2})Q([1-4])$"
_MONTH = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")


# --------------------------------------------------------------------------- value types


def _yuan(text: str) -> str:
    """Yuan text -> its canonical form ("0.2" -> "0.20"); floats never reach here (str only)."""
    try:
        fen = parse_yuan(text)
    except OverflowError as exc:  # pydantic reports ValueError only; keep it a field error
        raise ValueError(str(exc)) from None
    if fen < 0:
        raise ValueError(f"amount must not be negative, got {text!r}")
    return format_yuan(fen)


def _percent(text: str) -> str:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a percentage: {text!r}") from None
    if not value.is_finite() or not Decimal(0) < value <= Decimal(100):
        raise ValueError(f"percentage must be in (0, 100], got {text!r}")
    return format(value.normalize(), "f")


YuanText = Annotated[str, AfterValidator(_yuan)]
PercentText = Annotated[str, AfterValidator(_percent)]
Key = Annotated[str, Field(pattern=_KEY)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
Quarter = Annotated[str, Field(pattern=_QUARTER)]
Year = Annotated[int, Field(ge=2000, le=2100)]


def _fen(text: str) -> int:
    return parse_yuan(text)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Strict):
    """One threshold of a rule, with the required and the actual figure."""

    check: str
    label: str
    required: str
    actual: str
    passed: bool


class AwardComputation(_Strict):
    eligible: bool
    amount_fen: int = Field(ge=0)
    rule_version: str
    period: str
    reasons: list[Reason]
    calculation: str


class RuleInvalid(ValueError):
    """A rule mapping that cannot be used; ``errors`` are (dotted path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in errors))
        self.errors = errors


def _reason(check: str, label: str, required: str, actual: str, passed: bool) -> Reason:
    return Reason(check=check, label=label, required=required, actual=actual, passed=passed)


# --------------------------------------------------------------------------- per_unit


class PerUnitParams(_Strict):
    """Rate per unit when at least ``min_units`` are used in the period (brand packaging)."""

    kind: Literal["per_unit"]
    rate_yuan: YuanText
    min_units: int = Field(ge=0, le=MAX_UNITS)
    per: Literal["quarter"] = "quarter"
    unit: Text = "unit"


class PerUnitEvidence(_Strict):
    quarter: Quarter
    # strict: "12345" (text) or true is not a count of boxes
    units: int = Field(ge=0, le=MAX_UNITS, strict=True)


def _per_unit(p: PerUnitParams, e: PerUnitEvidence) -> tuple[list[Reason], int, str]:
    passed = e.units >= p.min_units
    reasons = [
        _reason(
            "min_units",
            f"{p.unit} used in {e.quarter}",
            f">= {p.min_units:,}",
            f"{e.units:,}",
            passed,
        )
    ]
    amount_fen = per_unit(_fen(p.rate_yuan), e.units)
    calculation = f"{e.units:,} x {p.rate_yuan} = {format_yuan(amount_fen)}"
    return reasons, amount_fen, calculation


# --------------------------------------------------------------------------- percent_of_amount


class MonthSales(_Strict):
    month: Annotated[str, Field(pattern=_MONTH.pattern)]
    sales_yuan: YuanText


class PercentOfAmountParams(_Strict):
    """A percentage of actual sales over consecutive months above a cumulative minimum."""

    kind: Literal["percent_of_amount"]
    percent: PercentText
    min_total_yuan: YuanText
    min_consecutive_months: int = Field(ge=1, le=MAX_MONTHS)
    platforms: list[Key] = Field(default_factory=list, max_length=32)


class PercentOfAmountEvidence(_Strict):
    platform: Key
    store_name: Text
    months: list[MonthSales] = Field(min_length=1, max_length=MAX_MONTHS)

    @model_validator(mode="after")
    def _months_in_order(self) -> PercentOfAmountEvidence:
        names = [m.month for m in self.months]
        if names != sorted(set(names)):
            raise ValueError("months must be listed once each, oldest first")
        if sum(parse_yuan(m.sales_yuan) for m in self.months) > MAX_FEN:
            raise ValueError("the cumulative sales exceed the largest amount the ledger stores")
        return self


def _month_index(month: str) -> int:
    match = _MONTH.fullmatch(month)
    assert match is not None  # guaranteed by the evidence model
    return int(match[1]) * 12 + int(match[2]) - 1


def _gaps(months: list[str]) -> list[str]:
    """Months after which the next listed month is not the following calendar month."""
    return [a for a, b in pairwise(months) if _month_index(b) != _month_index(a) + 1]


def _percent_of_amount(
    p: PercentOfAmountParams, e: PercentOfAmountEvidence
) -> tuple[list[Reason], int, str]:
    months = [m.month for m in e.months]
    gaps = _gaps(months)
    total_fen = sum(_fen(m.sales_yuan) for m in e.months)
    reasons: list[Reason] = []
    if p.platforms:
        reasons.append(
            _reason(
                "platform",
                "store platform",
                " | ".join(p.platforms),
                e.platform,
                e.platform in p.platforms,
            )
        )
    run = (
        f"{len(months)} ({months[0]}..{months[-1]})"
        if not gaps
        else f"not consecutive: gap after {', '.join(gaps)}"
    )
    reasons.append(
        _reason(
            "consecutive_months",
            "consecutive months of sales",
            f">= {p.min_consecutive_months}",
            run,
            not gaps and len(months) >= p.min_consecutive_months,
        )
    )
    min_fen = _fen(p.min_total_yuan)
    reasons.append(
        _reason(
            "min_total",
            "cumulative sales (yuan)",
            f">= {p.min_total_yuan}",
            format_yuan(total_fen),
            total_fen >= min_fen,
        )
    )
    amount_fen = percent_of(total_fen, p.percent)
    return (
        reasons,
        amount_fen,
        f"{p.percent}% x {format_yuan(total_fen)} = {format_yuan(amount_fen)} (half up)",
    )


# --------------------------------------------------------------------------- fixed_if_all


class Threshold(_Strict):
    """One condition of a fixed award: a minimum count, a minimum amount or a yes/no fact."""

    key: Key
    label: Text
    min_count: int | None = Field(default=None, ge=0)
    min_yuan: YuanText | None = None
    must_be_true: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Threshold:
        given = [v for v in (self.min_count, self.min_yuan, self.must_be_true) if v is not None]
        if len(given) != 1:
            raise ValueError(
                f"threshold {self.key!r}: give exactly one of min_count, min_yuan, must_be_true"
            )
        if self.must_be_true is False:
            raise ValueError(f"threshold {self.key!r}: must_be_true can only be true")
        return self


class FixedIfAllParams(_Strict):
    """A fixed amount when every threshold is met (new product, supply chain, livestream base)."""

    kind: Literal["fixed_if_all"]
    amount_yuan: YuanText
    per: Literal["year", "quarter", "product"]
    thresholds: list[Threshold] = Field(min_length=1, max_length=MAX_THRESHOLDS)

    @model_validator(mode="after")
    def _valid(self) -> FixedIfAllParams:
        keys = [t.key for t in self.thresholds]
        if len(keys) != len(set(keys)):
            raise ValueError(f"threshold keys must be unique: {keys}")
        if _fen(self.amount_yuan) <= 0:
            raise ValueError("amount_yuan must be positive")
        return self


class FixedIfAllEvidence(_Strict):
    """The claimed period (a year, a quarter or a product) and one figure per threshold key:
    an integer count, a yuan text amount, or true/false."""

    year: Year | None = None
    quarter: Quarter | None = None
    product: Text | None = None
    figures: dict[Key, bool | int | str] = Field(max_length=MAX_FIGURES)


def _check_figures(p: FixedIfAllParams, e: FixedIfAllEvidence) -> list[str]:
    problems = [
        f"figures.{k}: not a condition of this rule"
        for k in e.figures
        if k not in {t.key for t in p.thresholds}
    ]
    for t in p.thresholds:
        value = e.figures.get(t.key)
        if value is None:
            problems.append(f"figures.{t.key}: missing ({t.label})")
        elif t.must_be_true is not None and not isinstance(value, bool):
            problems.append(f"figures.{t.key}: must be true or false")
        elif t.min_count is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            problems.append(f"figures.{t.key}: must be a whole number >= 0")
        elif t.min_yuan is not None:
            problems.extend(_yuan_problem(f"figures.{t.key}", value))
    if getattr(e, p.per) is None:
        problems.append(f"{p.per}: required by this rule (one award per {p.per})")
    return problems


def _yuan_problem(where: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return [f'{where}: must be a yuan amount written as text, e.g. "150,000.00"']
    try:
        _yuan(value)
    except (ValueError, OverflowError) as exc:
        return [f"{where}: {exc}"]
    return []


def _threshold_reason(t: Threshold, value: bool | int | str) -> Reason:
    if t.must_be_true is not None:
        return _reason(t.key, t.label, "yes", "yes" if value else "no", value is True)
    if t.min_count is not None:
        assert isinstance(value, int)
        return _reason(t.key, t.label, f">= {t.min_count:,}", f"{value:,}", value >= t.min_count)
    assert t.min_yuan is not None and isinstance(value, str)
    return _reason(
        t.key, t.label, f">= {t.min_yuan}", _yuan(value), _fen(value) >= _fen(t.min_yuan)
    )


def _fixed_if_all(p: FixedIfAllParams, e: FixedIfAllEvidence) -> tuple[list[Reason], int, str]:
    reasons = [_threshold_reason(t, e.figures[t.key]) for t in p.thresholds]
    return (
        reasons,
        _fen(p.amount_yuan),
        f"fixed {p.amount_yuan} when all {len(reasons)} conditions are met",
    )


# --------------------------------------------------------------------------- tiers


class Tier(_Strict):
    min_yuan: YuanText
    award_yuan: YuanText


class TiersParams(_Strict):
    """The award of the highest tier the measured amount reaches (station upgrade)."""

    kind: Literal["tiers"]
    measure: Text = "annual transaction volume (yuan)"
    per: Literal["year"] = "year"
    tiers: list[Tier] = Field(min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _ordered(self) -> TiersParams:
        mins = [_fen(t.min_yuan) for t in self.tiers]
        awards = [_fen(t.award_yuan) for t in self.tiers]
        if mins != sorted(set(mins), reverse=True):
            raise ValueError(
                "tiers must be listed highest first, each min_yuan lower than the one before"
            )
        if any(a <= 0 for a in awards) or awards != sorted(awards, reverse=True):
            raise ValueError("tier awards must be positive and not grow as the tier gets lower")
        return self


class TiersEvidence(_Strict):
    year: Year
    station_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # May be left out when logistics reported the station's volume: the service pre-fills it.
    annual_volume_yuan: YuanText | None = None


def _check_tiers_evidence(p: TiersParams, e: TiersEvidence) -> list[str]:
    if e.annual_volume_yuan is None:
        return [
            "annual_volume_yuan: required (logistics reported no volume for this station and year)"
        ]
    return []


def _tiers(p: TiersParams, e: TiersEvidence) -> tuple[list[Reason], int, str]:
    assert e.annual_volume_yuan is not None  # _check_tiers_evidence ran first
    volume_fen = _fen(e.annual_volume_yuan)
    reasons = [
        _reason(
            f"tier_{i + 1}",
            f"{p.measure} for award {t.award_yuan}",
            f">= {t.min_yuan}",
            e.annual_volume_yuan,
            volume_fen >= _fen(t.min_yuan),
        )
        for i, t in enumerate(p.tiers)
    ]
    reached = next((t for t in p.tiers if volume_fen >= _fen(t.min_yuan)), None)
    if reached is None:
        return (
            reasons,
            0,
            f"{e.annual_volume_yuan} is below the lowest tier ({p.tiers[-1].min_yuan})",
        )
    return (
        reasons,
        _fen(reached.award_yuan),
        f"highest tier reached: >= {reached.min_yuan} -> {reached.award_yuan}",
    )


# --------------------------------------------------------------------------- percent_of_investment_capped


class CategoryCap(_Strict):
    """The cap for one category of claim, e.g. 50,000 yuan per town station."""

    category: Key
    label: Text | None = None
    cap_yuan: YuanText


class PercentOfInvestmentCappedParams(_Strict):
    """A percentage of the eligible investment, capped (e.g. a station's fit-out: 80 %, at
    most 50,000 yuan per town station and 20,000 per village station). One cap for all
    (``cap_yuan``) or one per category (``caps``); ``per: station`` pays once per station."""

    kind: Literal["percent_of_investment_capped"]
    percent: PercentText
    cap_yuan: YuanText | None = None
    caps: list[CategoryCap] | None = Field(default=None, min_length=1, max_length=MAX_TIERS)
    min_investment_yuan: YuanText = "0.00"
    per: Literal["year", "product", "station"] = "year"

    @model_validator(mode="after")
    def _one_cap(self) -> PercentOfInvestmentCappedParams:
        if (self.cap_yuan is None) == (self.caps is None):
            raise ValueError("give exactly one of cap_yuan (one cap) or caps (one per category)")
        categories = [c.category for c in self.caps or []]
        if len(categories) != len(set(categories)):
            raise ValueError(f"cap categories must be unique: {categories}")
        return self

    def cap_fen(self, category: str | None) -> int:
        if self.cap_yuan is not None:
            return _fen(self.cap_yuan)
        cap = next(c for c in self.caps or [] if c.category == category)
        return _fen(cap.cap_yuan)


class PercentOfInvestmentEvidence(_Strict):
    year: Year
    product: Text | None = None
    station_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    category: Key | None = None
    investment_yuan: YuanText


def _check_investment_evidence(
    p: PercentOfInvestmentCappedParams, e: PercentOfInvestmentEvidence
) -> list[str]:
    problems = []
    categories = [c.category for c in p.caps or []]
    if categories and e.category not in categories:
        problems.append(f"category: one of {', '.join(categories)} (each has its own cap)")
    if p.per == "station" and e.station_id is None:
        problems.append("station_id: required by this rule (one award per station)")
    if p.per == "product" and e.product is None:
        problems.append("product: required by this rule (one award per product)")
    return problems


def _percent_of_investment(
    p: PercentOfInvestmentCappedParams, e: PercentOfInvestmentEvidence
) -> tuple[list[Reason], int, str]:
    investment_fen = _fen(e.investment_yuan)
    passed = investment_fen >= _fen(p.min_investment_yuan)
    reasons = [
        _reason(
            "min_investment",
            "eligible investment (yuan)",
            f">= {p.min_investment_yuan}",
            e.investment_yuan,
            passed,
        )
    ]
    share_fen = percent_of(investment_fen, p.percent)
    cap_fen = p.cap_fen(e.category)
    amount_fen = min(share_fen, cap_fen)
    cap = (
        f"cap for {e.category} {format_yuan(cap_fen)}" if p.caps else f"cap {format_yuan(cap_fen)}"
    )
    calculation = f"min({p.percent}% x {e.investment_yuan} = {format_yuan(share_fen)}, {cap}) = {format_yuan(amount_fen)}"
    return reasons, amount_fen, calculation


# --------------------------------------------------------------------------- the Rule


RuleParams = (
    PerUnitParams
    | PercentOfAmountParams
    | FixedIfAllParams
    | TiersParams
    | PercentOfInvestmentCappedParams
)
Evidence = (
    PerUnitEvidence
    | PercentOfAmountEvidence
    | FixedIfAllEvidence
    | TiersEvidence
    | PercentOfInvestmentEvidence
)


def _no_more_checks(p: Any, e: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class _Kind:
    params: type[BaseModel]
    evidence: type[BaseModel]
    compute: Callable[[Any, Any], tuple[list[Reason], int, str]]
    period: Callable[[Any, Any], str]
    # checks across parameters and evidence that a pydantic model alone cannot express
    check: Callable[[Any, Any], list[str]] = _no_more_checks


def _period_of_fixed(p: FixedIfAllParams, e: FixedIfAllEvidence) -> str:
    value = getattr(e, p.per)
    return f"product:{value.strip()}" if p.per == "product" else str(value)


def _period_of_investment(
    p: PercentOfInvestmentCappedParams, e: PercentOfInvestmentEvidence
) -> str:
    if p.per == "station":
        return f"station:{e.station_id}"  # once per station, whatever the year
    return f"{e.year}/product:{e.product}" if p.per == "product" else str(e.year)


_KINDS: Final[Mapping[str, _Kind]] = {
    "per_unit": _Kind(PerUnitParams, PerUnitEvidence, _per_unit, lambda p, e: e.quarter),
    "percent_of_amount": _Kind(
        PercentOfAmountParams,
        PercentOfAmountEvidence,
        _percent_of_amount,
        lambda p, e: (
            f"{e.platform}:{e.store_name.strip()}/{e.months[0].month}..{e.months[-1].month}"
        ),
    ),
    "fixed_if_all": _Kind(
        FixedIfAllParams, FixedIfAllEvidence, _fixed_if_all, _period_of_fixed, _check_figures
    ),
    "tiers": _Kind(
        TiersParams,
        TiersEvidence,
        _tiers,
        lambda p, e: f"{e.year}/station:{e.station_id}" if e.station_id else str(e.year),
        _check_tiers_evidence,
    ),
    "percent_of_investment_capped": _Kind(
        PercentOfInvestmentCappedParams,
        PercentOfInvestmentEvidence,
        _percent_of_investment,
        _period_of_investment,
        _check_investment_evidence,
    ),
}
assert set(_KINDS) == set(KIND_VERSIONS)


def _errors_of(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        out.append((f"{prefix}{path}" if path else prefix.rstrip("."), str(err["msg"])))
    return out


@dataclass(frozen=True)
class Rule:
    """A validated rule: its parameters and how to check evidence and compute an award."""

    params: RuleParams

    @property
    def kind(self) -> str:
        return self.params.kind

    @cached_property  # hashed once per rule: the parameters are frozen
    def version(self) -> str:
        canonical = json.dumps(
            self.params.model_dump(mode="json"),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:_HASH_CHARS]
        return f"{self.kind}/v{KIND_VERSIONS[self.kind]}+{digest}"

    @property
    def evidence_model(self) -> type[BaseModel]:
        return _KINDS[self.kind].evidence

    def parse_evidence(self, raw: object) -> Evidence:
        """The typed evidence, or 422 ``EVIDENCE_INVALID`` listing every problem."""
        try:
            evidence = self.evidence_model.model_validate(raw)
        except ValidationError as exc:
            errors = [f"evidence.{p}: {m}" if p else f"evidence: {m}" for p, m in _errors_of(exc)]
            raise _evidence_invalid(errors) from None
        problems = _KINDS[self.kind].check(self.params, evidence)
        if problems:
            raise _evidence_invalid([f"evidence.{p}" for p in problems])
        return evidence  # type: ignore[return-value]

    def period(self, evidence: Evidence) -> str:
        return _KINDS[self.kind].period(self.params, evidence)

    def compute(self, evidence: Evidence) -> AwardComputation:
        assert isinstance(evidence, self.evidence_model), (
            f"{self.kind} needs {self.evidence_model.__name__}"
        )
        reasons, amount_fen, calculation = _KINDS[self.kind].compute(self.params, evidence)
        eligible = _eligible(self.kind, reasons) and amount_fen > 0
        return AwardComputation(
            eligible=eligible,
            amount_fen=amount_fen if eligible else 0,
            rule_version=self.version,
            period=self.period(evidence),
            reasons=reasons,
            calculation=calculation,
        )

    def largest_award_fen(self) -> int | None:
        """The most one claim can get, when the rule caps it (for budget sanity checks)."""
        p = self.params
        if isinstance(p, FixedIfAllParams):
            return _fen(p.amount_yuan)
        if isinstance(p, TiersParams):
            return _fen(p.tiers[0].award_yuan)
        if isinstance(p, PercentOfInvestmentCappedParams):
            return max(p.cap_fen(c.category) for c in p.caps) if p.caps else p.cap_fen(None)
        return None


def _eligible(kind: str, reasons: list[Reason]) -> bool:
    # Tiers: reaching any tier is enough (the amount is the highest one reached);
    # every other kind needs every threshold met.
    if kind == "tiers":
        return any(r.passed for r in reasons)
    return all(r.passed for r in reasons)


def _evidence_invalid(errors: list[str]) -> InvalidInput:
    """422 naming the first offending field (``evidence.units``), every problem in details."""
    assert errors, "an invalid evidence has at least one problem"
    first_path = errors[0].split(":", 1)[0].strip()
    field = first_path if first_path.startswith("evidence") else "evidence"
    return InvalidInput("EVIDENCE_INVALID", "; ".join(errors), field=field, details={"errors": errors})


def parse_rule(raw: object, *, path: str = "rule") -> Rule:
    """A :class:`Rule` from a program file's mapping, or :class:`RuleInvalid` with every problem."""
    if not isinstance(raw, Mapping):
        raise RuleInvalid([(path, "must be a mapping with a 'kind' and its parameters")])
    kind = raw.get("kind")
    if kind not in _KINDS:
        raise RuleInvalid(
            [(f"{path}.kind", f"unknown rule kind {kind!r}; known: {', '.join(_KINDS)}")]
        )
    try:
        params = _KINDS[kind].params.model_validate(dict(raw))
    except ValidationError as exc:
        raise RuleInvalid(_errors_of(exc, prefix=f"{path}.")) from None
    return Rule(params)  # type: ignore[arg-type]
