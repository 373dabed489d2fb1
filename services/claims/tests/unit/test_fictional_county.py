"""A new county's program is data only: the fictional example (not from the seeds) uses the
percentage-of-investment kind with a cap per station category and computes with no code change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ruralfund_claims.domain.program import check_program, require_activatable
from ruralfund_claims.domain.rules import Rule, RuleInvalid, parse_rule
from ruralfund_common.errors import InvalidInput

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"


@pytest.fixture(scope="module")
def station_build() -> Rule:
    doc = yaml.safe_load(
        (PROGRAMS / "examples" / "fictional-county-2024.yaml").read_text(encoding="utf-8")
    )
    program = require_activatable(check_program(doc))
    assert (program.county_code, program.total_fen) == ("999901", 200_000_000)
    rule = program.item("station-build").rule
    assert rule is not None
    return rule


def _compute(rule: Rule, category: str, investment: str, station: str = "st-1"):
    evidence = {
        "year": 2024,
        "station_id": station,
        "category": category,
        "investment_yuan": investment,
    }
    return rule.compute(rule.parse_evidence(evidence))


@pytest.mark.parametrize(
    ("category", "investment", "amount_fen"),
    [
        ("town", "30,000.00", 2_400_000),  # 80% = 24,000 under the 50,000 cap
        ("town", "62,500.00", 5_000_000),  # 80% = 50,000: exactly the cap
        ("town", "62,500.01", 5_000_000),  # 80% = 50,000.01 -> capped
        ("town", "200,000.00", 5_000_000),
        ("village", "25,000.00", 2_000_000),  # 80% = 20,000: exactly the village cap
        ("village", "25,000.02", 2_000_000),  # 20,000.02 -> capped at 20,000
        ("village", "10,000.00", 800_000),
        ("village", "5,000.00", 400_000),  # the minimum investment itself qualifies
        ("village", "6,250.01", 500_001),  # 5,000.008 -> half up to 5,000.01
    ],
)
def test_80_percent_of_investment_capped_per_station_category(
    station_build: Rule, category: str, investment: str, amount_fen: int
) -> None:
    result = _compute(station_build, category, investment)
    assert (result.eligible, result.amount_fen) == (True, amount_fen)
    assert result.period == "station:st-1"
    assert result.rule_version.startswith("percent_of_investment_capped/v1+")


def test_below_the_minimum_investment_is_ineligible(station_build: Rule) -> None:
    result = _compute(station_build, "village", "4,999.99")
    assert (result.eligible, result.amount_fen) == (False, 0)
    (reason,) = result.reasons
    assert (reason.check, reason.required, reason.actual) == (
        "min_investment",
        ">= 5,000.00",
        "4,999.99",
    )


def test_the_calculation_names_the_categorys_cap(station_build: Rule) -> None:
    result = _compute(station_build, "town", "70,000.00")
    assert (
        result.calculation == "min(80% x 70,000.00 = 56,000.00, cap for town 50,000.00) = 50,000.00"
    )


def test_an_unknown_category_or_missing_station_is_invalid_evidence(station_build: Rule) -> None:
    with pytest.raises(InvalidInput) as refused:
        station_build.parse_evidence(
            {"year": 2024, "station_id": "s", "category": "county", "investment_yuan": "1.00"}
        )
    assert "town, village" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        station_build.parse_evidence({"year": 2024, "category": "town", "investment_yuan": "1.00"})
    assert "station_id" in refused.value.message


def test_the_largest_award_is_the_largest_cap(station_build: Rule) -> None:
    assert station_build.largest_award_fen() == 5_000_000


@pytest.mark.parametrize(
    "params",
    [
        {"percent": "80"},  # no cap at all
        {"percent": "80", "cap_yuan": "1.00", "caps": [{"category": "a", "cap_yuan": "1.00"}]},
        {
            "percent": "80",
            "caps": [{"category": "a", "cap_yuan": "1.00"}, {"category": "a", "cap_yuan": "2.00"}],
        },
    ],
)
def test_exactly_one_cap_form_with_unique_categories(params: dict) -> None:
    with pytest.raises(RuleInvalid):
        parse_rule({"kind": "percent_of_investment_capped", **params})


def test_a_single_cap_still_works_as_before() -> None:
    rule = parse_rule(
        {"kind": "percent_of_investment_capped", "percent": "30", "cap_yuan": "200.00"}
    )
    result = rule.compute(rule.parse_evidence({"year": 2022, "investment_yuan": "1,000.00"}))
    assert (result.amount_fen, result.period) == (20_000, "2022")
