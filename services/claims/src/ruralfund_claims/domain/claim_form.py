"""What a claim under an item needs, for building its form: ``GET /programs/{code}/items/{item}``.

The evidence's JSON Schema (with the figures each rule asks for spelled out), the thresholds
with the original's wording, the period claims may cover, and what the item pays only once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ruralfund_common.money import format_yuan

from .claim_form_fields import claim_form
from .program import Item, Program
from .rules import (
    FixedIfAllParams,
    NewProductParams,
    PercentOfAmountParams,
    PercentOfInvestmentCappedParams,
    PerUnitParams,
    Rule,
    Threshold,
    TiersParams,
)

__all__ = ["describe_item"]

_YUAN_PATTERN = r"^[0-9]{1,3}(,[0-9]{3})*(\.[0-9]{1,2})?$|^[0-9]+(\.[0-9]{1,2})?$"


def describe_item(program: Program, item: Item, today: date | None = None) -> dict[str, Any]:
    """``today`` (the county's day): the latest quarter and year the form offers."""
    out: dict[str, Any] = {
        "program_code": program.code,
        "code": item.code,
        "name": item.name,
        "line_code": item.line_code,
        "mode": item.mode,
        "budget_fen": item.budget_fen,
        "budget_yuan": format_yuan(item.budget_fen),
        "criteria": item.criteria,
        "claimable": item.mode == "reward" and item.rule is not None and item.active,
        "example": item.example,
        "period": {
            "published_on": _iso(program.published_on),
            "claims_from": _iso(program.claim_starts_on),
            "claims_until": _iso(program.claim_ends_on),
            "rule": "each month, quarter or year claimed must touch the period",
        },
    }
    if item.rule is None:
        return out
    rule = item.rule
    return out | {
        "rule": {"kind": rule.kind, "version": rule.version,
                 "parameters": rule.params.model_dump(mode="json")},
        "evidence_schema": _evidence_schema(rule),
        "thresholds": _thresholds(rule),
        "paid_once": _once_scope(rule),
        "form": claim_form(program, rule, today),
    }  # fmt: skip


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def _figure_schema(t: Threshold) -> dict[str, Any]:
    if t.must_be_true is not None:
        return {"type": "boolean", "description": t.label, "const": True}
    if t.min_count is not None:
        return {"type": "integer", "minimum": 0, "description": f"{t.label} (>= {t.min_count})"}
    return {"type": "string", "pattern": _YUAN_PATTERN, "description": f"{t.label} (>= {t.min_yuan})"}


def _figures_schema(thresholds: list[Threshold]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {t.key: _figure_schema(t) for t in thresholds},
        "required": [t.key for t in thresholds],
        "additionalProperties": False,
    }


def _evidence_schema(rule: Rule) -> dict[str, Any]:
    schema = rule.evidence_model.model_json_schema()
    required = set(schema.get("required", []))
    p = rule.params
    if isinstance(p, FixedIfAllParams):
        schema["properties"]["figures"] = _figures_schema(p.thresholds)
        required |= {"year" if p.per == "enterprise" else p.per}
        if p.identity_label:
            required.add("identity")
            schema["properties"]["identity"]["description"] = p.identity_label
    elif isinstance(p, TiersParams) and p.conditions:
        schema["properties"]["figures"] = _figures_schema(p.conditions)
        required.add("figures")
    elif isinstance(p, PercentOfAmountParams):
        if p.new_store:
            required |= {"store_id", "opened_on"}
        if p.platforms and not p.platforms_open:
            schema["properties"]["platform"] = {"enum": p.platforms}
    schema["required"] = sorted(required)
    return schema


def _thresholds(rule: Rule) -> list[dict[str, Any]]:
    p = rule.params
    if isinstance(p, PerUnitParams):
        return [{"key": "min_units", "label": p.unit, "min_count": p.min_units,
                 "rate_yuan": p.rate_yuan}]  # fmt: skip
    if isinstance(p, PercentOfAmountParams):
        return [
            {"key": "min_consecutive_months", "min_count": p.min_consecutive_months},
            {"key": "min_total", "min_yuan": p.min_total_yuan, "percent": p.percent},
            {"key": "platforms", "one_of": p.platforms, "others_flagged": p.platforms_open},
            *([{"key": "store_opened_after_publication", "new_store": True}] if p.new_store else []),
        ]
    if isinstance(p, FixedIfAllParams):
        return [t.model_dump(exclude_none=True) for t in p.thresholds]
    if isinstance(p, TiersParams):
        tiers = [t.model_dump() for t in p.tiers]
        return [{"key": "tiers", "measure": p.measure, "tiers": tiers},
                *(c.model_dump(exclude_none=True) for c in p.conditions)]  # fmt: skip
    if isinstance(p, NewProductParams):
        return [
            {"key": "launched_after_publication", "launched_on_or_after": "published_on"},
            {"key": "online_sales_first_months", "months": p.months_counted,
             "min_yuan": p.min_online_sales_yuan},
        ]  # fmt: skip
    assert isinstance(p, PercentOfInvestmentCappedParams)
    return [{"key": "min_investment", "min_yuan": p.min_investment_yuan, "percent": p.percent}]


def _once_scope(rule: Rule) -> dict[str, Any]:
    p = rule.params
    if isinstance(p, PercentOfAmountParams):
        return {"per": "store_month", "description": (
            "each month of a store (platform + the platform's store id) is paid once, whatever "
            "window a claim draws around it")}  # fmt: skip
    if isinstance(p, NewProductParams):
        return {"per": "product", "description": (
            "一次性: once per product of an enterprise (its name without width, case, spaces or "
            "punctuation differences), and a product code once in the program")}  # fmt: skip
    if isinstance(p, FixedIfAllParams):
        scope = {"per": p.per}
        if p.identity_label:
            scope["identity"] = f"{p.identity_label}: once in the program, whoever claims it"
        return scope
    if isinstance(p, TiersParams):
        return {"per": "year and station"}
    if isinstance(p, PercentOfInvestmentCappedParams):
        return {"per": p.per}
    return {"per": "quarter"}
