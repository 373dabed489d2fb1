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

import calendar
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruralfund_common.errors import InvalidInput
from ruralfund_common.money import MAX_FEN, format_yuan, parse_yuan, per_unit, percent_of
from ruralfund_common.validation_zh import validation_message_zh

from .identity import normalised_identity

__all__ = [
    "KIND_VERSIONS",
    "MAX_FIGURES",
    "MAX_MONTHS",
    "MAX_THRESHOLDS",
    "MAX_TIERS",
    "MAX_UNITS",
    "PLATFORM_ZH",
    "AwardComputation",
    "CategoryCap",
    "FixedIfAllEvidence",
    "FixedIfAllParams",
    "MonthSales",
    "NewProductEvidence",
    "NewProductParams",
    "OnceKey",
    "PerUnitEvidence",
    "PerUnitParams",
    "PercentOfAmountEvidence",
    "PercentOfAmountParams",
    "PercentOfInvestmentCappedParams",
    "PercentOfInvestmentEvidence",
    "ProductMonth",
    "Reason",
    "Rule",
    "RuleContext",
    "RuleInvalid",
    "Span",
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
    "new_product": 1,
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
    # Facts the bureau must look at without refusing the claim (an unlisted platform, 等).
    flags: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class RuleContext:
    """What a rule needs from its program: the plan's publication date (本方案公布)."""

    published_on: date | None = None


@dataclass(frozen=True)
class Span:
    """A stretch of time a claim is for (a month, a quarter, a year), to check against the
    program's claim period."""

    label: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class OnceKey:
    """Something an item pays once, whatever the claim around it: a store's month, a product
    code, a livestream base. ``key`` is unique per program item among live claims (table
    claim_once_keys); ``label_zh`` names it to people."""

    key: str
    label_zh: str


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


def _per_unit(
    p: PerUnitParams, e: PerUnitEvidence, ctx: RuleContext
) -> tuple[list[Reason], int, str]:
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
    """A percentage of actual sales over consecutive months above a cumulative minimum.

    ``platforms_open``: the list ends with 等 ("and other platforms"), so a store on another
    platform is flagged for the bureau, not refused. ``new_store``: 新开设店铺 — the store opened
    on or after the plan's publication, and its months count from the opening; the evidence
    then names the platform's store id (not a free-text name) and the opening date.
    """

    kind: Literal["percent_of_amount"]
    percent: PercentText
    min_total_yuan: YuanText
    min_consecutive_months: int = Field(ge=1, le=MAX_MONTHS)
    platforms: list[Key] = Field(default_factory=list, max_length=32)
    platforms_open: bool = False
    new_store: bool = False


StoreId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class PercentOfAmountEvidence(_Strict):
    platform: Key
    # The platform's own id of the store (店铺ID): what makes two claims the same store.
    store_id: StoreId | None = None
    store_name: Text | None = None
    opened_on: date | None = None
    months: list[MonthSales] = Field(min_length=1, max_length=MAX_MONTHS)

    @model_validator(mode="after")
    def _months_in_order(self) -> PercentOfAmountEvidence:
        if self.store_id is None and self.store_name is None:
            raise ValueError("give store_id (the platform's id of the store)")
        if self.store_id is not None and not normalised_identity(self.store_id):
            raise ValueError("store_id has no letters or digits")
        names = [m.month for m in self.months]
        if names != sorted(set(names)):
            raise ValueError("months must be listed once each, oldest first")
        if sum(parse_yuan(m.sales_yuan) for m in self.months) > MAX_FEN:
            raise ValueError("the cumulative sales exceed the largest amount the ledger stores")
        return self

    def store_key(self) -> str:
        """The store's identity: the platform's id (normalised), or for evidence written
        before store ids were asked, the name as it was keyed then."""
        if self.store_id is not None:
            return normalised_identity(self.store_id)
        assert self.store_name is not None  # the validator requires one of them
        return self.store_name.strip()


def _check_store_evidence(p: PercentOfAmountParams, e: PercentOfAmountEvidence) -> list[str]:
    if not p.new_store:
        return []
    problems = []
    if e.store_id is None:
        problems.append("store_id: required (the platform's id of the store, 店铺ID)")
    if e.opened_on is None:
        problems.append("opened_on: required (the day the store opened, 开店日期)")
    elif _month_index(e.months[0].month) < e.opened_on.year * 12 + e.opened_on.month - 1:
        problems.append(
            f"months: {e.months[0].month} is before the store opened on {e.opened_on.isoformat()}"
            " (months count from the opening)"
        )
    return problems


def _month_index(month: str) -> int:
    match = _MONTH.fullmatch(month)
    assert match is not None  # guaranteed by the evidence model
    return int(match[1]) * 12 + int(match[2]) - 1


def _gaps(months: list[str]) -> list[str]:
    """Months after which the next listed month is not the following calendar month."""
    return [a for a, b in pairwise(months) if _month_index(b) != _month_index(a) + 1]


def _percent_of_amount(
    p: PercentOfAmountParams, e: PercentOfAmountEvidence, ctx: RuleContext
) -> tuple[list[Reason], int, str]:
    months = [m.month for m in e.months]
    gaps = _gaps(months)
    total_fen = sum(_fen(m.sales_yuan) for m in e.months)
    reasons: list[Reason] = []
    if p.platforms:
        listed = e.platform in p.platforms
        reasons.append(
            _reason(
                "platform",
                "store platform",
                " | ".join(p.platforms) + (" | 等 (others flagged)" if p.platforms_open else ""),
                e.platform if listed or not p.platforms_open else f"{e.platform} (not listed)",
                listed or p.platforms_open,
            )
        )
    if p.new_store:
        reasons.append(_published_reason(
            "store_opened_after_publication", "新开设店铺: opened on or after the plan's publication",
            e.opened_on, ctx,
        ))  # fmt: skip
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


# the listed platforms as people read them (the bureau's flag, the enterprise's form)
PLATFORM_ZH: Final = {
    "taobao": "淘宝", "tmall": "天猫", "jd": "京东", "pinduoduo": "拼多多", "douyin": "抖音",
    "kuaishou": "快手", "wechat": "微信",
}  # fmt: skip


def _platform_flags(p: PercentOfAmountParams, e: PercentOfAmountEvidence) -> list[str]:
    if p.platforms and p.platforms_open and e.platform not in p.platforms:
        listed = "、".join(PLATFORM_ZH.get(k, k) for k in p.platforms)
        return [f"PLATFORM_UNLISTED: 平台 {e.platform} 不在方案列举的平台（{listed}等）之中，请审核"]
    return []


def _published_reason(check: str, label: str, day: date | None, ctx: RuleContext) -> Reason:
    published = ctx.published_on
    return _reason(
        check,
        label,
        f">= {published.isoformat()}" if published else ">= the plan's publication date",
        day.isoformat() if day else "not stated",
        published is not None and day is not None and day >= published,
    )


def _sales_months_keys(p: PercentOfAmountParams, e: PercentOfAmountEvidence) -> list[OnceKey]:
    store = f"{e.platform}:{e.store_key()}"
    return [
        OnceKey(f"store:{store}/month:{m.month}", f"{e.platform} 店铺 {e.store_key()} 的 {_month_zh(m.month)}")
        for m in e.months
    ]


def _month_zh(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


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
    """A fixed amount when every threshold is met (supply chain, livestream base).

    ``per: enterprise`` pays an enterprise once, whatever the year (给予10万元的奖励 is one
    award, not one a year); the evidence still names the year its figures are for.
    ``identity_label``: the claim names what it is for (a livestream base), which is paid
    once across all enterprises and counted once by the targets.
    """

    kind: Literal["fixed_if_all"]
    amount_yuan: YuanText
    per: Literal["year", "quarter", "product", "enterprise"]
    thresholds: list[Threshold] = Field(min_length=1, max_length=MAX_THRESHOLDS)
    identity_label: Text | None = None

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
    identity: Text | None = None
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
    if p.per == "enterprise" and e.year is None:
        problems.append("year: required (the year the figures are for; one award per enterprise)")
    elif p.per != "enterprise" and getattr(e, p.per) is None:
        problems.append(f"{p.per}: required by this rule (one award per {p.per})")
    if p.identity_label is not None and (e.identity is None or not normalised_identity(e.identity)):
        problems.append(f"identity: required ({p.identity_label})")
    return problems


def _identity_keys(p: FixedIfAllParams, e: FixedIfAllEvidence) -> list[OnceKey]:
    if p.identity_label is None or e.identity is None:
        return []
    return [OnceKey(f"identity:{normalised_identity(e.identity)}", f"{p.identity_label}“{e.identity.strip()}”")]


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


def _fixed_if_all(
    p: FixedIfAllParams, e: FixedIfAllEvidence, ctx: RuleContext
) -> tuple[list[Reason], int, str]:
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
    # Yes/no facts every tier needs besides the volume (the station's functions).
    conditions: list[Threshold] = Field(default_factory=list, max_length=MAX_THRESHOLDS)

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
        if any(c.must_be_true is None for c in self.conditions):
            raise ValueError("tier conditions are yes/no facts: give must_be_true: true")
        keys = [c.key for c in self.conditions]
        if len(keys) != len(set(keys)):
            raise ValueError(f"condition keys must be unique: {keys}")
        return self


class TiersEvidence(_Strict):
    year: Year
    station_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # May be left out when logistics reported the station's volume: the service pre-fills it.
    annual_volume_yuan: YuanText | None = None
    figures: dict[Key, bool] = Field(default_factory=dict, max_length=MAX_FIGURES)


def _check_tiers_evidence(p: TiersParams, e: TiersEvidence) -> list[str]:
    problems = []
    if e.annual_volume_yuan is None:
        problems.append(
            "annual_volume_yuan: required (logistics reported no volume for this station and year)"
        )
    keys = {c.key for c in p.conditions}
    problems += [f"figures.{k}: not a condition of this rule" for k in e.figures if k not in keys]
    problems += [
        f"figures.{c.key}: missing ({c.label}), true or false"
        for c in p.conditions
        if c.key not in e.figures
    ]
    return problems


def _tiers(p: TiersParams, e: TiersEvidence, ctx: RuleContext) -> tuple[list[Reason], int, str]:
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
    reasons += [_threshold_reason(c, e.figures[c.key]) for c in p.conditions]
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
    p: PercentOfInvestmentCappedParams, e: PercentOfInvestmentEvidence, ctx: RuleContext
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


# --------------------------------------------------------------------------- new_product


class NewProductParams(_Strict):
    """A fixed award, once per product (一次性), for a product launched after the plan's
    publication whose online sales in its first ``months_counted`` months from the launch
    reach ``min_online_sales_yuan`` (Xinping 新品研发奖励: 3 months, 150,000 -> 20,000)."""

    kind: Literal["new_product"]
    amount_yuan: YuanText
    min_online_sales_yuan: YuanText
    months_counted: int = Field(default=3, ge=1, le=12)

    @model_validator(mode="after")
    def _positive(self) -> NewProductParams:
        if _fen(self.amount_yuan) <= 0:
            raise ValueError("amount_yuan must be positive")
        return self


class ProductMonth(_Strict):
    month: Annotated[str, Field(pattern=_MONTH.pattern)]
    online_sales_yuan: YuanText


class NewProductEvidence(_Strict):
    """The product (its name, and its code when the enterprise has one, e.g. a GTIN), the day
    it went on sale, and its online sales month by month from the launch month."""

    product_name: Text
    product_code: StoreId | None = None
    launched_on: date
    months: list[ProductMonth] = Field(min_length=1, max_length=MAX_MONTHS)

    @model_validator(mode="after")
    def _consistent(self) -> NewProductEvidence:
        if not normalised_identity(self.product_name):
            raise ValueError("product_name has no letters or digits")
        if self.product_code is not None and not normalised_identity(self.product_code):
            raise ValueError("product_code has no letters or digits")
        names = [m.month for m in self.months]
        if names != sorted(set(names)) or _gaps(names):
            raise ValueError("months must be consecutive calendar months, oldest first")
        launch_month = f"{self.launched_on.year:04d}-{self.launched_on.month:02d}"
        if names[0] != launch_month:
            raise ValueError(
                f"months must start with the launch month {launch_month}, not {names[0]}"
            )
        if sum(parse_yuan(m.online_sales_yuan) for m in self.months) > MAX_FEN:
            raise ValueError("the sales exceed the largest amount the ledger stores")
        return self


def _new_product(
    p: NewProductParams, e: NewProductEvidence, ctx: RuleContext
) -> tuple[list[Reason], int, str]:
    counted = e.months[: p.months_counted]
    total_fen = sum(_fen(m.online_sales_yuan) for m in counted)
    first, last = counted[0].month, counted[-1].month
    reasons = [
        _published_reason(
            "launched_after_publication", "本方案公布后研发并上市销售的新款产品 (launch date)",
            e.launched_on, ctx,
        ),
        _reason(
            "online_sales_first_months",
            f"线上{p.months_counted}个月累计销售额（元）, from the launch month",
            f">= {p.min_online_sales_yuan}",
            f"{format_yuan(total_fen)} ({first}..{last})",
            total_fen >= _fen(p.min_online_sales_yuan),
        ),
    ]  # fmt: skip
    ignored = len(e.months) - len(counted)
    note = f"; {ignored} later month(s) not counted" if ignored else ""
    calculation = f"fixed {p.amount_yuan} once per product; first {len(counted)} month(s) {format_yuan(total_fen)}{note}"
    return reasons, _fen(p.amount_yuan), calculation


def _product_keys(p: NewProductParams, e: NewProductEvidence) -> list[OnceKey]:
    if e.product_code is None:
        return []
    code = normalised_identity(e.product_code)
    return [OnceKey(f"product-code:{code}", f"产品编码 {e.product_code.strip()}")]


# --------------------------------------------------------------------------- time spans


def _month_span(month: str) -> Span:
    year, number = (int(x) for x in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return Span(month, date(year, number, 1), date(year, number, last))


def _quarter_span(quarter: str) -> Span:
    year, q = int(quarter[:4]), int(quarter[5])
    start = _month_span(f"{year:04d}-{3 * q - 2:02d}")
    end = _month_span(f"{year:04d}-{3 * q:02d}")
    return Span(quarter, start.starts_on, end.ends_on)


def _year_span(year: int) -> Span:
    return Span(str(year), date(year, 1, 1), date(year, 12, 31))


def _spans(p: Any, e: Any) -> list[Span]:
    """The months, quarters or years a claim is for (none for a product without dates)."""
    if isinstance(e, PerUnitEvidence):
        return [_quarter_span(e.quarter)]
    if isinstance(e, PercentOfAmountEvidence):
        return [_month_span(m.month) for m in e.months]
    if isinstance(e, NewProductEvidence):
        return [_month_span(m.month) for m in e.months[: p.months_counted]]
    if isinstance(e, FixedIfAllEvidence):
        if e.quarter is not None:
            return [_quarter_span(e.quarter)]
        return [_year_span(e.year)] if e.year is not None else []
    return [_year_span(e.year)]


# --------------------------------------------------------------------------- the Rule


RuleParams = (
    PerUnitParams
    | PercentOfAmountParams
    | FixedIfAllParams
    | TiersParams
    | PercentOfInvestmentCappedParams
    | NewProductParams
)
Evidence = (
    PerUnitEvidence
    | PercentOfAmountEvidence
    | FixedIfAllEvidence
    | TiersEvidence
    | PercentOfInvestmentEvidence
    | NewProductEvidence
)


def _no_more_checks(p: Any, e: Any) -> list[str]:
    return []


def _no_keys(p: Any, e: Any) -> list[OnceKey]:
    return []


@dataclass(frozen=True)
class _Kind:
    params: type[BaseModel]
    evidence: type[BaseModel]
    compute: Callable[[Any, Any, RuleContext], tuple[list[Reason], int, str]]
    period: Callable[[Any, Any], str]
    # checks across parameters and evidence that a pydantic model alone cannot express
    check: Callable[[Any, Any], list[str]] = _no_more_checks
    # what the item pays once beyond the claim's period (a store's months, a product code)
    once_keys: Callable[[Any, Any], list[OnceKey]] = _no_keys
    flags: Callable[[Any, Any], list[str]] = lambda p, e: []


def _period_of_fixed(p: FixedIfAllParams, e: FixedIfAllEvidence) -> str:
    if p.per == "enterprise":
        # one award per enterprise (一次性): the claims_one_per_period index holds it; people
        # read the period in mails and notices (申报期 一次性)
        return "一次性"
    value = getattr(e, p.per)
    # 一次性 per product: "新平橙礼盒" and "新平橙 礼盒" are one product
    return f"product:{normalised_identity(value)}" if p.per == "product" else str(value)


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
        lambda p, e: f"{e.platform}:{e.store_key()}/{e.months[0].month}..{e.months[-1].month}",
        _check_store_evidence,
        _sales_months_keys,
        _platform_flags,
    ),
    "fixed_if_all": _Kind(
        FixedIfAllParams,
        FixedIfAllEvidence,
        _fixed_if_all,
        _period_of_fixed,
        _check_figures,
        _identity_keys,
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
    "new_product": _Kind(
        NewProductParams,
        NewProductEvidence,
        _new_product,
        lambda p, e: f"product:{normalised_identity(e.product_name)}",
        once_keys=_product_keys,
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
            errors_zh = [validation_message_zh(e["type"], ".".join(["evidence", *map(str, e["loc"])]), None,
                                               e.get("ctx") or {}) for e in exc.errors()]  # fmt: skip
            raise _evidence_invalid(errors, errors_zh) from None
        problems = _KINDS[self.kind].check(self.params, evidence)
        if problems:
            raise _evidence_invalid([f"evidence.{p}" for p in problems],
                                    [_problem_zh(p) for p in problems])  # fmt: skip
        return evidence  # type: ignore[return-value]

    def period(self, evidence: Evidence) -> str:
        return _KINDS[self.kind].period(self.params, evidence)

    def spans(self, evidence: Evidence) -> list[Span]:
        """The months, quarters or years the claim is for (checked against the program's
        claim period)."""
        return _spans(self.params, evidence)

    def once_keys(self, evidence: Evidence) -> list[OnceKey]:
        return _KINDS[self.kind].once_keys(self.params, evidence)

    @property
    def needs_publication_date(self) -> bool:
        p = self.params
        return isinstance(p, NewProductParams) or (
            isinstance(p, PercentOfAmountParams) and p.new_store
        )

    def compute(self, evidence: Evidence, context: RuleContext | None = None) -> AwardComputation:
        assert isinstance(evidence, self.evidence_model), (
            f"{self.kind} needs {self.evidence_model.__name__}"
        )
        kind = _KINDS[self.kind]
        reasons, amount_fen, calculation = kind.compute(
            self.params, evidence, context or RuleContext()
        )
        eligible = _eligible(self.kind, reasons) and amount_fen > 0
        return AwardComputation(
            eligible=eligible,
            amount_fen=amount_fen if eligible else 0,
            rule_version=self.version,
            period=self.period(evidence),
            reasons=reasons,
            calculation=calculation,
            flags=kind.flags(self.params, evidence),
        )

    def largest_award_fen(self) -> int | None:
        """The most one claim can get, when the rule caps it (for budget sanity checks)."""
        p = self.params
        if isinstance(p, FixedIfAllParams | NewProductParams):
            return _fen(p.amount_yuan)
        if isinstance(p, TiersParams):
            return _fen(p.tiers[0].award_yuan)
        if isinstance(p, PercentOfInvestmentCappedParams):
            return max(p.cap_fen(c.category) for c in p.caps) if p.caps else p.cap_fen(None)
        return None


def _eligible(kind: str, reasons: list[Reason]) -> bool:
    # Tiers: reaching any tier is enough (the amount is the highest one reached), with every
    # condition besides the tiers met; every other kind needs every threshold met.
    if kind == "tiers":
        tiers = [r for r in reasons if r.check.startswith("tier_")]
        others = [r for r in reasons if not r.check.startswith("tier_")]
        return any(r.passed for r in tiers) and all(r.passed for r in others)
    return all(r.passed for r in reasons)


def _problem_zh(problem: str) -> str:
    """A rule's own check (``store_id: required (…, 店铺ID)``) in Chinese: the field it names,
    with the Chinese the rule gives, if any."""
    path, _, rest = problem.partition(":")
    hint = "".join(re.findall(r"[\u3400-\u9fff][^()（）]*", rest))
    if re.match(r"[A-Z_]+$", path):  # already a Chinese sentence after a code
        return rest.strip()
    return f"“evidence.{path.strip()}”不符合该项目的要求" + (f"（{hint}）" if hint else "")


def _evidence_invalid(errors: list[str], errors_zh: list[str]) -> InvalidInput:
    """422 naming the first offending field (``evidence.units``), every problem in details."""
    assert errors, "an invalid evidence has at least one problem"
    first_path = errors[0].split(":", 1)[0].strip()
    field = first_path if first_path.startswith("evidence") else "evidence"
    return InvalidInput("EVIDENCE_INVALID", "; ".join(errors), field=field, details={"errors": errors},
                        detail_zh="申报数据有以下问题：" + "；".join(errors_zh) + "。")


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
