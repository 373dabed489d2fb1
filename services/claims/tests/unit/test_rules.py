"""Award rules with the Xinping seed's numbers and their boundaries.

The rules come from programs/xinping-2021.yaml itself, so these tests also prove the program
file encodes the original's figures correctly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_claims.domain.program import check_program
from ruralfund_claims.domain.rules import (
    FixedIfAllEvidence,
    PercentOfAmountEvidence,
    PerUnitEvidence,
    Rule,
    RuleInvalid,
    TiersEvidence,
    parse_rule,
)
from ruralfund_common.errors import InvalidInput

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"


@pytest.fixture(scope="module")
def rules() -> dict[str, Rule]:
    check = check_program(
        yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    )
    assert check.program is not None
    return {item.code: item.rule for item in check.program.items() if item.rule is not None}


def _compute(rule: Rule, evidence: dict):
    return rule.compute(rule.parse_evidence(evidence))


def _reason(computation, check: str):
    return next(r for r in computation.reasons if r.check == check)


# --------------------------------------------------------------------------- per_unit: brand packaging


def test_brand_packaging_12345_boxes_at_0_20_is_2469_yuan(rules) -> None:
    result = _compute(rules["brand-packaging"], {"quarter": "2021Q3", "units": 12_345})
    assert result.eligible
    assert result.amount_fen == 246_900  # 2,469.00 yuan
    assert result.period == "2021Q3"
    assert result.calculation == "12,345 x 0.20 = 2,469.00"
    assert result.rule_version.startswith("per_unit/v1+")


@pytest.mark.parametrize(
    ("units", "eligible", "amount_fen"),
    [(9_999, False, 0), (10_000, True, 200_000), (10_001, True, 200_020)],
)
def test_brand_packaging_needs_10000_units_in_the_quarter(
    rules, units: int, eligible: bool, amount_fen: int
) -> None:
    result = _compute(rules["brand-packaging"], {"quarter": "2021Q4", "units": units})
    assert (result.eligible, result.amount_fen) == (eligible, amount_fen)
    reason = _reason(result, "min_units")
    assert (reason.required, reason.actual, reason.passed) == (">= 10,000", f"{units:,}", eligible)


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({"quarter": "2021-Q3", "units": 12_345}, "evidence.quarter"),
        ({"quarter": "2021Q5", "units": 12_345}, "evidence.quarter"),
        ({"quarter": "2021Q3", "units": -1}, "evidence.units"),
        ({"quarter": "2021Q3", "units": 12_345, "boxes": 1}, "evidence.boxes"),
        ({"units": 12_345}, "evidence.quarter"),
        ([1, 2], "evidence"),
    ],
)
def test_brand_packaging_evidence_is_typed(rules, evidence: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules["brand-packaging"].parse_evidence(evidence)
    assert refused.value.code == "EVIDENCE_INVALID"
    assert refused.value.field == field  # the problem body names the offending field


@given(units=st.integers(10_000, 10_000_000))
def test_per_unit_amount_is_exactly_20_fen_per_unit(units: int) -> None:
    rule = parse_rule({"kind": "per_unit", "rate_yuan": "0.20", "min_units": 10_000})
    assert rule.compute(PerUnitEvidence(quarter="2021Q1", units=units)).amount_fen == 20 * units


# --------------------------------------------------------------------------- percent_of_amount: sales reward


def _sales(*amounts: str, start: int = 7, platform: str = "douyin") -> dict:
    return {
        "platform": platform,
        "store_name": "新平礼好旗舰店",
        "months": [
            {"month": f"2021-{start + i:02d}", "sales_yuan": a} for i, a in enumerate(amounts)
        ],
    }


def test_sales_reward_is_5_percent_of_actual_sales(rules) -> None:
    result = _compute(rules["sales-reward"], _sales("50,000.00", "50,000.00", "50,000.00"))
    assert result.eligible and result.amount_fen == 750_000  # 5% of 150,000.00 = 7,500.00
    assert result.period == "douyin:新平礼好旗舰店/2021-07..2021-09"


@pytest.mark.parametrize(("last_month", "eligible"), [("49,999.99", False), ("50,000.00", True)])
def test_sales_reward_needs_150000_cumulative(rules, last_month: str, eligible: bool) -> None:
    result = _compute(rules["sales-reward"], _sales("50,000.00", "50,000.00", last_month))
    reason = _reason(result, "min_total")
    assert reason.actual == ("149,999.99" if not eligible else "150,000.00")
    assert (reason.passed, result.eligible) == (eligible, eligible)
    assert result.amount_fen == (750_000 if eligible else 0)


def test_sales_reward_2_months_are_not_enough_3_are(rules) -> None:
    two = _compute(rules["sales-reward"], _sales("100,000.00", "100,000.00"))
    three = _compute(rules["sales-reward"], _sales("100,000.00", "100,000.00", "1.00"))
    assert not two.eligible and _reason(two, "consecutive_months").actual.startswith("2 ")
    assert two.amount_fen == 0
    assert three.eligible and three.amount_fen == 1_000_005  # 5% of 200,001.00 = 10,000.05


def test_sales_reward_months_with_a_gap_are_not_consecutive(rules) -> None:
    evidence = {
        "platform": "jd",
        "store_name": "s",
        "months": [
            {"month": "2021-07", "sales_yuan": "60,000.00"},
            {"month": "2021-08", "sales_yuan": "60,000.00"},
            {"month": "2021-10", "sales_yuan": "60,000.00"},
        ],
    }
    result = _compute(rules["sales-reward"], evidence)
    assert not result.eligible
    assert _reason(result, "consecutive_months").actual == "not consecutive: gap after 2021-08"


def test_sales_reward_rounds_half_up_to_the_fen(rules) -> None:
    # 5% of 150,000.10 yuan = 7,500.005 yuan -> 7,500.01
    result = _compute(rules["sales-reward"], _sales("50,000.10", "50,000.00", "50,000.00"))
    assert result.amount_fen == 750_001


def test_sales_reward_across_a_year_end_is_consecutive(rules) -> None:
    evidence = {
        "platform": "tmall",
        "store_name": "s",
        "months": [
            {"month": "2021-11", "sales_yuan": "50,000.00"},
            {"month": "2021-12", "sales_yuan": "50,000.00"},
            {"month": "2022-01", "sales_yuan": "50,000.00"},
        ],
    }
    assert _compute(rules["sales-reward"], evidence).eligible


def test_sales_reward_only_on_the_listed_platforms(rules) -> None:
    result = _compute(
        rules["sales-reward"], _sales("60,000.00", "60,000.00", "60,000.00", platform="ebay")
    )
    assert not result.eligible and not _reason(result, "platform").passed


def test_sales_evidence_months_must_be_in_order(rules) -> None:
    evidence = _sales("60,000.00", "60,000.00", "60,000.00")
    evidence["months"].reverse()
    with pytest.raises(InvalidInput, match="oldest first"):
        rules["sales-reward"].parse_evidence(evidence)


def test_sales_evidence_refuses_float_amounts(rules) -> None:
    evidence = {
        "platform": "jd",
        "store_name": "s",
        "months": [{"month": "2021-07", "sales_yuan": 50000.5}],
    }
    with pytest.raises(InvalidInput) as refused:
        rules["sales-reward"].parse_evidence(evidence)
    assert "evidence.months.0.sales_yuan" in refused.value.message


# --------------------------------------------------------------------------- fixed_if_all


def test_new_product_is_20000_once_per_product(rules) -> None:
    evidence = {
        "product": "新平红糖礼盒",
        "figures": {
            "developed_after_publication": True,
            "online_sales_3_months_yuan": "150,000.00",
        },
    }
    result = _compute(rules["new-product"], evidence)
    assert result.eligible and result.amount_fen == 2_000_000
    assert result.period == "product:新平红糖礼盒"


@pytest.mark.parametrize(
    ("sales", "after", "eligible"),
    [
        ("149,999.99", True, False),
        ("150,000.00", True, True),
        ("900,000.00", False, False),
    ],
)
def test_new_product_thresholds(rules, sales: str, after: bool, eligible: bool) -> None:
    evidence = {
        "product": "p",
        "figures": {"developed_after_publication": after, "online_sales_3_months_yuan": sales},
    }
    result = _compute(rules["new-product"], evidence)
    assert result.eligible is eligible
    assert result.amount_fen == (2_000_000 if eligible else 0)


SUPPLY_CHAIN_OK = {
    "full_functions": True,
    "storage_area_m2": 3_000,
    "county_ecommerce_clients": 10,
    "annual_parcels": 1_000_000,
    "annual_revenue_yuan": "5,000,000.00",
}


def test_supply_chain_at_every_boundary_gets_100000(rules) -> None:
    result = _compute(rules["supply-chain"], {"year": 2022, "figures": SUPPLY_CHAIN_OK})
    assert result.eligible and result.amount_fen == 10_000_000
    assert [r.check for r in result.reasons] == list(SUPPLY_CHAIN_OK)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("storage_area_m2", 2_999),
        ("county_ecommerce_clients", 9),
        ("annual_parcels", 999_999),
        ("annual_revenue_yuan", "4,999,999.99"),
        ("full_functions", False),
    ],
)
def test_supply_chain_one_short_fails_and_says_which(rules, key: str, value) -> None:
    result = _compute(
        rules["supply-chain"], {"year": 2022, "figures": {**SUPPLY_CHAIN_OK, key: value}}
    )
    assert not result.eligible and result.amount_fen == 0
    assert [r.check for r in result.reasons if not r.passed] == [key]


@pytest.mark.parametrize(("anchors", "eligible"), [(2, False), (3, True)])
def test_livestream_base_needs_3_anchors(rules, anchors: int, eligible: bool) -> None:
    figures = {
        "in_production_area_or_scenic_spot": True,
        "resident_anchors": anchors,
        "regular_livestreaming": True,
        "annual_revenue_yuan": "5,000,000.00",
    }
    result = _compute(rules["livestream-base"], {"year": 2022, "figures": figures})
    assert result.eligible is eligible and result.amount_fen == (8_000_000 if eligible else 0)


@pytest.mark.parametrize(
    ("figures", "problem"),
    [
        (
            {k: v for k, v in SUPPLY_CHAIN_OK.items() if k != "annual_parcels"},
            "figures.annual_parcels: missing",
        ),
        (
            {**SUPPLY_CHAIN_OK, "annual_parcels": "1000000"},
            "figures.annual_parcels: must be a whole number",
        ),
        (
            {**SUPPLY_CHAIN_OK, "annual_revenue_yuan": 5_000_000},
            "figures.annual_revenue_yuan: must be a yuan amount",
        ),
        ({**SUPPLY_CHAIN_OK, "full_functions": 1}, "figures.full_functions: must be true or false"),
        ({**SUPPLY_CHAIN_OK, "employees": 30}, "figures.employees: not a condition"),
    ],
)
def test_fixed_if_all_evidence_must_give_each_figure_in_its_type(
    rules, figures: dict, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        rules["supply-chain"].parse_evidence({"year": 2022, "figures": figures})


def test_fixed_if_all_needs_its_period(rules) -> None:
    with pytest.raises(InvalidInput, match="year: required"):
        rules["supply-chain"].parse_evidence({"figures": SUPPLY_CHAIN_OK})


# --------------------------------------------------------------------------- tiers: station upgrade


@pytest.mark.parametrize(
    ("volume", "amount_fen"),
    [
        ("199,999.99", 0),
        ("200,000.00", 2_000_000),
        ("499,999.99", 2_000_000),
        ("500,000.00", 3_000_000),
        ("999,999.99", 3_000_000),
        ("1,000,000.00", 5_000_000),
        ("4,999,999.99", 5_000_000),
        ("5,000,000.00", 8_000_000),
        ("50,000,000.00", 8_000_000),
    ],
)
def test_station_gets_the_highest_tier_reached(rules, volume: str, amount_fen: int) -> None:
    result = _compute(rules["station-upgrade"], {"year": 2022, "annual_volume_yuan": volume})
    assert result.amount_fen == amount_fen
    assert result.eligible is (amount_fen > 0)
    assert len(result.reasons) == 4  # every tier with the figures, passed or not


def test_station_period_names_the_station(rules) -> None:
    result = _compute(
        rules["station-upgrade"],
        {"year": 2022, "station_id": "st-7", "annual_volume_yuan": "600,000.00"},
    )
    assert result.period == "2022/station:st-7"


def test_station_without_a_volume_is_refused(rules) -> None:
    with pytest.raises(InvalidInput, match="annual_volume_yuan: required"):
        rules["station-upgrade"].parse_evidence({"year": 2022})


@given(a=st.integers(0, 10**10), b=st.integers(0, 10**10))
def test_tiers_never_pay_less_for_more_volume(a: int, b: int) -> None:
    rule = parse_rule(
        {
            "kind": "tiers",
            "tiers": [
                {"min_yuan": "5,000,000.00", "award_yuan": "80,000.00"},
                {"min_yuan": "200,000.00", "award_yuan": "20,000.00"},
            ],
        }
    )
    low, high = sorted((a, b))
    amount = [
        rule.compute(
            TiersEvidence(year=2022, annual_volume_yuan=f"{v // 100}.{v % 100:02d}")
        ).amount_fen
        for v in (low, high)
    ]
    assert amount[0] <= amount[1]


# --------------------------------------------------------------------------- percent_of_investment_capped


@pytest.mark.parametrize(
    ("investment", "eligible", "amount_fen"),
    [
        ("99,999.99", False, 0),
        ("100,000.00", True, 3_000_000),
        ("500,000.00", True, 15_000_000),
        ("666,666.67", True, 20_000_000),
        ("2,000,000.00", True, 20_000_000),
    ],
)
def test_percent_of_investment_is_capped(investment: str, eligible: bool, amount_fen: int) -> None:
    rule = parse_rule(
        {
            "kind": "percent_of_investment_capped",
            "percent": "30",
            "cap_yuan": "200,000.00",
            "min_investment_yuan": "100,000.00",
        }
    )
    result = rule.compute(rule.parse_evidence({"year": 2022, "investment_yuan": investment}))
    assert (result.eligible, result.amount_fen) == (eligible, amount_fen)


# --------------------------------------------------------------------------- versions and parameters


def test_rule_version_follows_the_parameters_not_their_spelling() -> None:
    a = parse_rule({"kind": "per_unit", "rate_yuan": "0.20", "min_units": 10_000})
    b = parse_rule({"kind": "per_unit", "rate_yuan": "0.2", "min_units": 10_000})
    c = parse_rule({"kind": "per_unit", "rate_yuan": "0.25", "min_units": 10_000})
    assert a.version == b.version != c.version
    assert a.version.split("+")[0] == "per_unit/v1" and len(a.version.split("+")[1]) == 12


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"kind": "per_head"}, "rule.kind"),
        ({"kind": "per_unit", "rate_yuan": 0.2, "min_units": 10_000}, "rule.rate_yuan"),
        ({"kind": "per_unit", "rate_yuan": "0.20", "min_units": 10_000, "rate": "1"}, "rule.rate"),
        ({"kind": "per_unit", "rate_yuan": "0.205", "min_units": 10_000}, "rule.rate_yuan"),
        (
            {
                "kind": "percent_of_amount",
                "percent": "150",
                "min_total_yuan": "1.00",
                "min_consecutive_months": 3,
            },
            "rule.percent",
        ),
        (
            {
                "kind": "tiers",
                "tiers": [
                    {"min_yuan": "1.00", "award_yuan": "1.00"},
                    {"min_yuan": "2.00", "award_yuan": "2.00"},
                ],
            },
            "rule",
        ),
        (
            {
                "kind": "fixed_if_all",
                "amount_yuan": "1.00",
                "per": "year",
                "thresholds": [{"key": "a", "label": "a"}],
            },
            "rule.thresholds.0",
        ),
    ],
)
def test_bad_rule_parameters_are_reported_with_their_path(raw: dict, where: str) -> None:
    with pytest.raises(RuleInvalid) as refused:
        parse_rule(raw)
    assert any(path.startswith(where) for path, _ in refused.value.errors), refused.value.errors


def test_evidence_models_are_typed_per_kind(rules) -> None:
    assert rules["brand-packaging"].evidence_model is PerUnitEvidence
    assert rules["sales-reward"].evidence_model is PercentOfAmountEvidence
    assert rules["supply-chain"].evidence_model is FixedIfAllEvidence
    assert rules["station-upgrade"].evidence_model is TiersEvidence
