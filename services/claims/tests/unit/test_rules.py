"""Award rules with the Xinping seed's numbers and their boundaries.

The rules come from programs/xinping-2021.yaml itself, so these tests also prove the program
file encodes the original's figures correctly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_claims.domain.program import check_program
from ruralfund_claims.domain.refusals import reason_zh
from ruralfund_claims.domain.rules import (
    FixedIfAllEvidence,
    PercentOfAmountEvidence,
    PerUnitEvidence,
    Rule,
    RuleContext,
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


XINPING = RuleContext(published_on=date(2022, 10, 23))  # programs/xinping-2021.yaml


def _compute(rule: Rule, evidence: dict):
    return rule.compute(rule.parse_evidence(evidence), XINPING)


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
        "store_id": "88001234",
        "store_name": "新平礼好旗舰店",
        "opened_on": "2023-06-18",
        "months": [
            {"month": f"2023-{start + i:02d}", "sales_yuan": a} for i, a in enumerate(amounts)
        ],
    }


def _store(months: list[tuple[str, str]], **fields) -> dict:
    return {"platform": "jd", "store_id": "s", "opened_on": "2023-01-01", **fields,
            "months": [{"month": m, "sales_yuan": a} for m, a in months]}  # fmt: skip


def test_sales_reward_is_5_percent_of_actual_sales(rules) -> None:
    result = _compute(rules["sales-reward"], _sales("50,000.00", "50,000.00", "50,000.00"))
    assert result.eligible and result.amount_fen == 750_000  # 5% of 150,000.00 = 7,500.00
    assert result.period == "douyin:88001234/2023-07..2023-09"


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
    evidence = _store(
        [("2023-07", "60,000.00"), ("2023-08", "60,000.00"), ("2023-10", "60,000.00")]
    )
    result = _compute(rules["sales-reward"], evidence)
    assert not result.eligible
    assert _reason(result, "consecutive_months").actual == "not consecutive: gap after 2023-08"


def test_sales_reward_rounds_half_up_to_the_fen(rules) -> None:
    # 5% of 150,000.10 yuan = 7,500.005 yuan -> 7,500.01
    result = _compute(rules["sales-reward"], _sales("50,000.10", "50,000.00", "50,000.00"))
    assert result.amount_fen == 750_001


def test_sales_reward_across_a_year_end_is_consecutive(rules) -> None:
    evidence = _store(
        [("2023-11", "50,000.00"), ("2023-12", "50,000.00"), ("2024-01", "50,000.00")],
        platform="tmall",
    )
    assert _compute(rules["sales-reward"], evidence).eligible


def test_sales_reward_platform_list_ends_with_deng_so_another_is_a_flag_not_a_refusal(
    rules,
) -> None:
    # 在淘宝、天猫、京东、拼多多、抖音、快手、微信等电商平台: the list is open (等)
    listed = _compute(rules["sales-reward"], _sales("60,000.00", "60,000.00", "60,000.00"))
    other = _compute(
        rules["sales-reward"],
        _sales("60,000.00", "60,000.00", "60,000.00", platform="xiaohongshu"),
    )
    assert listed.eligible and listed.flags == []
    assert other.eligible and other.amount_fen == 900_000
    assert len(other.flags) == 1 and other.flags[0].startswith("PLATFORM_UNLISTED: 平台 xiaohongshu")
    assert "（淘宝、天猫、京东、拼多多、抖音、快手、微信等）" in other.flags[0]  # the bureau reads the list
    assert _reason(other, "platform").actual == "xiaohongshu (not listed)"
    assert reason_zh(_reason(other, "platform")) == (  # what the bureau and the enterprise read
        "店铺所在平台：xiaohongshu（不在列举的平台之中，提请审核），"
        "要求为淘宝、天猫、京东、拼多多、抖音、快手、微信等平台（其他平台提请审核）"
    )
    assert reason_zh(_reason(listed, "consecutive_months")) == "连续销售月数：3（2023年7月至2023年9月），要求不低于 3"


def test_a_closed_platform_list_still_refuses_another_platform() -> None:
    rule = parse_rule({"kind": "percent_of_amount", "percent": "5", "min_total_yuan": "1.00",
                       "min_consecutive_months": 1, "platforms": ["jd"]})  # fmt: skip
    result = rule.compute(rule.parse_evidence(_store([("2023-01", "9.00")], platform="ebay")))
    assert not result.eligible and not _reason(result, "platform").passed


# 新开设店铺: a store opened before the plan's publication is not eligible (a store with sales in
# 2015 was); the months counted start from the opening.


def test_a_store_opened_before_the_publication_is_not_new(rules) -> None:
    from ruralfund_claims.domain.rules import RuleContext

    context = RuleContext(published_on=__import__("datetime").date(2022, 10, 23))
    rule = rules["sales-reward"]
    old = rule.compute(rule.parse_evidence(_sales("60,000.00", "60,000.00", "60,000.00")
                                           | {"opened_on": "2015-03-01"}), context)  # fmt: skip
    new = rule.compute(rule.parse_evidence(_sales("60,000.00", "60,000.00", "60,000.00")
                                           | {"opened_on": "2022-10-23"}), context)  # fmt: skip
    assert not old.eligible and old.amount_fen == 0
    reason = _reason(old, "store_opened_after_publication")
    assert (reason.required, reason.actual, reason.passed) == (">= 2022-10-23", "2015-03-01", False)
    assert new.eligible and new.amount_fen == 900_000


def test_months_before_the_opening_are_refused_and_the_store_needs_its_id(rules) -> None:
    with pytest.raises(InvalidInput, match="before the store opened on 2023-07-15"):
        rules["sales-reward"].parse_evidence(
            _sales("60,000.00", "60,000.00", "60,000.00") | {"opened_on": "2023-07-15",
                                                            "months": [{"month": "2023-06", "sales_yuan": "1.00"}]}
        )  # fmt: skip
    without_id = {k: v for k, v in _sales("60,000.00").items() if k != "store_id"}
    with pytest.raises(InvalidInput, match="store_id: required"):
        rules["sales-reward"].parse_evidence(without_id)
    without_opening = {k: v for k, v in _sales("60,000.00").items() if k != "opened_on"}
    with pytest.raises(InvalidInput, match="opened_on: required"):
        rules["sales-reward"].parse_evidence(without_opening)


def test_the_store_is_its_platform_and_platform_id_whatever_the_name(rules) -> None:
    rule = rules["sales-reward"]
    a = rule.parse_evidence(_sales("60,000.00", "60,000.00", "60,000.00"))
    b = rule.parse_evidence(
        _sales("60,000.00", "60,000.00", "60,000.00") | {"store_id": " ８８００１２３４ ", "store_name": "另一个名字"}
    )
    assert rule.period(a) == rule.period(b) == "douyin:88001234/2023-07..2023-09"
    assert [k.key for k in rule.once_keys(a)] == [
        "store:douyin:88001234/month:2023-07",
        "store:douyin:88001234/month:2023-08",
        "store:douyin:88001234/month:2023-09",
    ]
    assert [k.key for k in rule.once_keys(b)] == [k.key for k in rule.once_keys(a)]
    assert rule.once_keys(a)[0].label_zh == "douyin 店铺 88001234 的 2023年7月"


def test_sales_evidence_months_must_be_in_order(rules) -> None:
    evidence = _sales("60,000.00", "60,000.00", "60,000.00")
    evidence["months"].reverse()
    with pytest.raises(InvalidInput, match="oldest first"):
        rules["sales-reward"].parse_evidence(evidence)


def test_sales_evidence_refuses_float_amounts(rules) -> None:
    evidence = _store([("2023-07", 50000.5)])
    with pytest.raises(InvalidInput) as refused:
        rules["sales-reward"].parse_evidence(evidence)
    assert "evidence.months.0.sales_yuan" in refused.value.message


# --------------------------------------------------------------------------- fixed_if_all


def _product(name: str = "新平红糖礼盒", launched: str = "2023-03-10", *sales: str, **more) -> dict:
    year, month = int(launched[:4]), int(launched[5:7])
    months = []
    for amount in sales or ("50,000.00", "50,000.00", "50,000.00"):
        months.append({"month": f"{year:04d}-{month:02d}", "online_sales_yuan": amount})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"product_name": name, "launched_on": launched, "months": months, **more}


def _published(day: str = "2022-10-23"):
    from datetime import date

    from ruralfund_claims.domain.rules import RuleContext

    return RuleContext(published_on=date.fromisoformat(day))


def test_new_product_is_20000_once_per_product(rules) -> None:
    rule = rules["new-product"]
    result = rule.compute(rule.parse_evidence(_product()), _published())
    assert result.eligible and result.amount_fen == 2_000_000
    assert result.period == "product:新平红糖礼盒"
    assert _reason(result, "online_sales_first_months").actual == "150,000.00 (2023-03..2023-05)"


@pytest.mark.parametrize(
    ("sales", "launched", "eligible"),
    [
        (("49,999.99", "50,000.00", "50,000.00"), "2023-03-10", False),
        (("50,000.00", "50,000.00", "50,000.00"), "2023-03-10", True),
        (("150,000.00",), "2023-03-10", True),  # reached within the 3 months
        (("300,000.00", "300,000.00", "300,000.00"), "2022-10-22", False),  # before publication
        (("300,000.00", "300,000.00", "300,000.00"), "2022-10-23", True),
    ],
)
def test_new_product_thresholds(rules, sales: tuple, launched: str, eligible: bool) -> None:
    rule = rules["new-product"]
    result = rule.compute(rule.parse_evidence(_product("p", launched, *sales)), _published())
    assert result.eligible is eligible
    assert result.amount_fen == (2_000_000 if eligible else 0)


def test_new_product_counts_only_the_first_three_months_from_the_launch(rules) -> None:
    # 线上3个月累计: a fourth month of sales does not lift a launch that fell short
    rule = rules["new-product"]
    evidence = _product("p", "2023-03-10", "40,000.00", "40,000.00", "40,000.00", "900,000.00")
    result = rule.compute(rule.parse_evidence(evidence), _published())
    assert not result.eligible
    assert _reason(result, "online_sales_first_months").actual == "120,000.00 (2023-03..2023-05)"
    assert "1 later month(s) not counted" in result.calculation


def test_new_product_months_start_with_the_launch_month(rules) -> None:
    evidence = _product("p", "2023-03-10") | {"launched_on": "2023-04-01"}
    with pytest.raises(InvalidInput, match="start with the launch month 2023-04"):
        rules["new-product"].parse_evidence(evidence)


@pytest.mark.parametrize(
    "other", ["新平橙 礼盒", "新平橙礼盒 ", "新平橙·礼盒", "新平橙（礼盒）", "ｘｉｎｐｉｎｇ新平橙礼盒".replace("ｘｉｎｐｉｎｇ", "")]
)
def test_one_product_whatever_its_spaces_width_and_punctuation(rules, other: str) -> None:
    # 一次性: 新平橙礼盒 and 新平橙 礼盒 are one product
    rule = rules["new-product"]
    assert rule.period(rule.parse_evidence(_product(other))) == rule.period(
        rule.parse_evidence(_product("新平橙礼盒"))
    ) == "product:新平橙礼盒"


def test_a_product_code_is_held_once_in_its_normalised_form(rules) -> None:
    rule = rules["new-product"]
    keys = rule.once_keys(rule.parse_evidence(_product(product_code="ＡＢ-6901234 567890")))
    assert [k.key for k in keys] == ["product-code:ab6901234567890"]
    assert rule.once_keys(rule.parse_evidence(_product())) == []


def test_the_old_fixed_if_all_product_rule_is_normalised_too() -> None:
    rule = parse_rule({"kind": "fixed_if_all", "amount_yuan": "20,000.00", "per": "product",
                       "thresholds": [{"key": "ok", "label": "ok", "must_be_true": True}]})  # fmt: skip
    assert rule.period(rule.parse_evidence({"product": "新平橙 礼盒", "figures": {"ok": True}})) == (
        "product:新平橙礼盒"
    )


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


@pytest.mark.parametrize("item", ["supply-chain", "livestream-base"])
def test_one_off_awards_are_once_per_enterprise_not_per_year(rules, item: str) -> None:
    # 给予10万元的奖励 / 给予8万元的奖励: one award; per year, one enterprise could take the
    # whole 300,000 supply-chain budget in three years
    rule = rules[item]
    figures = SUPPLY_CHAIN_OK if item == "supply-chain" else LIVESTREAM_OK
    extra = {"identity": "者竜乡芒果园直播基地"} if item == "livestream-base" else {}
    periods = {
        rule.period(rule.parse_evidence({"year": year, "figures": figures, **extra}))
        for year in (2023, 2024, 2025)
    }
    assert periods == {"一次性"}


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


LIVESTREAM_OK = {
    "in_production_area_or_scenic_spot": True,
    "resident_anchors": 3,
    "regular_livestreaming": True,
    "annual_revenue_yuan": "5,000,000.00",
}


@pytest.mark.parametrize(("anchors", "eligible"), [(2, False), (3, True)])
def test_livestream_base_needs_3_anchors(rules, anchors: int, eligible: bool) -> None:
    figures = {**LIVESTREAM_OK, "resident_anchors": anchors}
    evidence = {"year": 2023, "identity": "新平县者竜乡芒果园直播基地", "figures": figures}
    result = _compute(rules["livestream-base"], evidence)
    assert result.eligible is eligible and result.amount_fen == (8_000_000 if eligible else 0)


def test_a_livestream_base_names_itself_and_is_held_once(rules) -> None:
    rule = rules["livestream-base"]
    with pytest.raises(InvalidInput, match="identity: required"):
        rule.parse_evidence({"year": 2023, "figures": LIVESTREAM_OK})
    keys = rule.once_keys(
        rule.parse_evidence({"year": 2023, "identity": "者竜乡 芒果园直播基地", "figures": LIVESTREAM_OK})
    )
    assert [k.key for k in keys] == ["identity:者竜乡芒果园直播基地"]


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
    evidence = {"year": 2022, "annual_volume_yuan": volume, "figures": STATION_FUNCTIONS}
    result = _compute(rules["station-upgrade"], evidence)
    assert result.amount_fen == amount_fen
    assert result.eligible is (amount_fen > 0)
    assert len(result.reasons) == 8  # every tier with the figures, passed or not, + 4 functions


STATION_FUNCTIONS = {
    "ecommerce_operation": True,
    "livestream_sales": True,
    "warehousing_shipping": True,
    "retail_sales": True,
}


def test_station_period_names_the_station(rules) -> None:
    result = _compute(
        rules["station-upgrade"],
        {"year": 2022, "station_id": "st-7", "annual_volume_yuan": "600,000.00",
         "figures": STATION_FUNCTIONS},
    )  # fmt: skip
    assert result.period == "2022/station:st-7"


@pytest.mark.parametrize("missing", list(STATION_FUNCTIONS))
def test_a_station_without_one_of_the_four_functions_gets_nothing(rules, missing: str) -> None:
    # 打造集电商运营、直播带货、仓储发货、商品销售为一体的示范站点
    figures = {**STATION_FUNCTIONS, missing: False}
    result = _compute(
        rules["station-upgrade"],
        {"year": 2023, "annual_volume_yuan": "5,000,000.00", "figures": figures},
    )
    assert not result.eligible and result.amount_fen == 0
    assert [r.check for r in result.reasons if not r.passed] == [missing]
    with pytest.raises(InvalidInput, match=f"figures.{missing}: missing"):
        rules["station-upgrade"].parse_evidence(
            {"year": 2023, "annual_volume_yuan": "5,000,000.00",
             "figures": {k: v for k, v in STATION_FUNCTIONS.items() if k != missing}}
        )  # fmt: skip


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


def test_sales_evidence_stored_before_store_ids_still_loads_under_its_old_rule() -> None:
    # A database activated with the old program file keeps it (documents are immutable): its
    # claims name the store by text and keep their period; their months are held by that name.
    old = parse_rule({"kind": "percent_of_amount", "percent": "5", "min_total_yuan": "150,000.00",
                      "min_consecutive_months": 3,
                      "platforms": ["taobao", "tmall", "jd", "pinduoduo", "douyin", "kuaishou",
                                    "wechat"]})  # fmt: skip
    stored = {"platform": "douyin", "store_name": " 新平礼好旗舰店",
              "months": [{"month": f"2021-{m:02d}", "sales_yuan": "50,000.00"} for m in (7, 8, 9)]}  # fmt: skip
    result = old.compute(old.parse_evidence(stored))
    assert result.eligible and result.period == "douyin:新平礼好旗舰店/2021-07..2021-09"
    assert old.once_keys(old.parse_evidence(stored))[0].key == (
        "store:douyin:新平礼好旗舰店/month:2021-07"
    )
