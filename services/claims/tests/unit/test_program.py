"""The program check on both Xinping files, and on broken documents: every problem reported."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from ruralfund_claims.domain.program import (
    check_program,
    decode_program_document,
    require_activatable,
)
from ruralfund_common.errors import InvalidInput

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
XINPING_ITEMS = [
    "brand-packaging",
    "sales-reward",
    "new-product",
    "supply-chain",
    "livestream-base",
    "trade-fairs",
    "brand-promotion-event",
    "brand-publicity",
    "anchor-training",
    "station-upgrade",
    "logistics-center",
]


def _load(name: str) -> dict:
    return yaml.safe_load((PROGRAMS / name).read_text(encoding="utf-8"))


@pytest.fixture
def xinping() -> dict:
    return _load("xinping-2021.yaml")


def _codes(check) -> list[str]:
    return sorted(i.code for i in check.errors)


def test_xinping_2021_checks_and_can_be_activated(xinping: dict) -> None:
    check = check_program(xinping)
    assert check.errors == [] and check.can_activate
    program = require_activatable(check)
    assert (program.code, program.county_code, program.year, program.phase) == (
        "xinping-2021",
        "530427",
        2021,
        "follow_up",
    )
    assert program.county_name == "新平彝族傣族自治县"
    assert program.total_fen == 500_000_000
    assert [i.code for i in program.items()] == XINPING_ITEMS
    assert sum(i.budget_fen for i in program.items()) == 500_000_000
    assert [(line.code, line.budget_fen) for line in program.lines] == [
        ("brand-promotion", 314_000_000),
        ("logistics-upgrade", 186_000_000),
    ]
    modes = {i.code: i.mode for i in program.items()}
    assert [c for c, m in modes.items() if m == "reward"] == [
        "brand-packaging",
        "sales-reward",
        "new-product",
        "supply-chain",
        "livestream-base",
        "station-upgrade",
    ]
    assert all((i.rule is not None) == (i.mode == "reward") for i in program.items())


def test_xinping_budgets_are_the_originals(xinping: dict) -> None:
    program = require_activatable(check_program(xinping))
    budgets_wan = {
        i.code: i.budget_fen // 1_000_000 for i in program.items()
    }  # 1万 yuan = 1,000,000 fen
    assert budgets_wan == {
        "brand-packaging": 100,
        "sales-reward": 50,
        "new-product": 10,
        "supply-chain": 30,
        "livestream-base": 24,
        "trade-fairs": 10,
        "brand-promotion-event": 20,
        "brand-publicity": 20,
        "anchor-training": 50,
        "station-upgrade": 150,
        "logistics-center": 36,
    }


def test_xinping_demo_placeholders_are_warnings(xinping: dict) -> None:
    warnings = check_program(xinping).warnings
    assert [(w.code, w.path) for w in warnings] == [
        ("ESTIMATED_DATES", "estimated"),  # the original prints no publication date
        ("DEMO_DATA", "contractor"),
        ("DEMO_DATA", "joint_account"),
    ]


def test_xinping_states_its_publication_and_claim_period(xinping: dict) -> None:
    program = check_program(xinping).program
    assert program is not None
    assert program.published_on == date(2022, 10, 23) == program.claim_starts_on
    assert program.claim_ends_on is None  # until acceptance, which the original does not date


def test_a_rule_counting_from_publication_needs_the_date(xinping: dict) -> None:
    doc = {k: v for k, v in xinping.items() if k not in ("published_on", "estimated")}
    errors = [(e.code, e.path) for e in check_program(doc).errors]
    assert errors == [("PUBLICATION_DATE_MISSING", "published_on")]
    message = check_program(doc).errors[0].message
    assert "sales-reward" in message and "new-product" in message


def test_a_claim_period_ending_before_it_starts_is_an_error(xinping: dict) -> None:
    doc = {**xinping, "claim_period": {"starts_on": "2023-01-01", "ends_on": "2022-12-31"}}
    assert [e.code for e in check_program(doc).errors] == ["DOCUMENT_INVALID"]


def test_opt_in_names_only_example_items(xinping: dict) -> None:
    doc = {**xinping, "opt_in": ["sales-reward"]}
    assert [e.code for e in check_program(doc).errors] == ["OPT_IN_INVALID"]


def test_xinping_anchor_training_has_attachment_2s_town_teams(xinping: dict) -> None:
    # 附件2: 各乡镇孵化一支3人以上直播带货团队 — no town without a team
    program = check_program(xinping).program
    assert program is not None
    towns = {d.code: d for d in program.item("anchor-training").deliverables}["towns-without-team"]
    assert "各乡镇孵化一支" in towns.name
    assert (towns.bound.comparison, towns.bound.value) == ("at_most", 0)


def test_xinping_performance_targets_are_data(xinping: dict) -> None:
    targets = {t["code"]: t for t in xinping["targets"]}
    assert targets["logo-packaging-units"]["min_value"] == 4_500_000
    assert targets["stations-5m"]["min_value"] == 4 and targets["stations-200k"]["min_value"] == 25
    assert len(targets) == 18


def test_attachment_2_layout_reports_both_line_mismatches() -> None:
    check = check_program(_load("examples/xinping-2021-attachment2.yaml"))
    assert not check.can_activate
    mismatches = [
        (e.code, e.figures["line"], e.figures["items_sum_yuan"], e.figures["line_budget_yuan"])
        for e in check.errors
    ]
    assert mismatches == [
        ("LINE_SUM_MISMATCH", "brand-promotion", "2,900,000.00", "3,140,000.00"),
        ("LINE_SUM_MISMATCH", "logistics-upgrade", "2,100,000.00", "1,860,000.00"),
    ]
    with pytest.raises(InvalidInput) as refused:
        require_activatable(check)
    assert refused.value.code == "PROGRAM_INVALID"
    assert "2,900,000.00" in refused.value.message and "3,140,000.00" in refused.value.message
    assert "2,100,000.00" in refused.value.message and "1,860,000.00" in refused.value.message


def test_total_mismatch_is_reported_with_figures(xinping: dict) -> None:
    xinping["total_yuan"] = "5,000,000.01"
    (error,) = check_program(xinping).errors
    assert error.code == "TOTAL_SUM_MISMATCH"
    assert error.figures == {
        "lines_sum_yuan": "5,000,000.00",
        "total_yuan": "5,000,000.01",
        "difference_yuan": "-0.01",
    }


def test_every_problem_is_reported_at_once(xinping: dict) -> None:
    items = xinping["lines"][0]["items"]
    items[0]["budget_yuan"] = "1,000,001.00"  # line 1 no longer adds up
    items[1]["rule"]["percent"] = "500"  # bad rule parameter
    del items[2]["rule"]  # reward item without a rule
    items[5]["rule"] = {"kind": "per_unit"}  # service item with a rule
    items[3]["code"] = "brand-packaging"  # duplicate code (and supply-chain disappears)
    xinping["targets"][0]["item_codes"] = ["no-such-item"]
    check = check_program(xinping)
    assert _codes(check) == sorted(
        [
            "LINE_SUM_MISMATCH",
            "RULE_INVALID",
            "RULE_MISSING",
            "RULE_NOT_ALLOWED",
            "DUPLICATE_CODE",
            "UNKNOWN_ITEM",
            "UNKNOWN_ITEM",
        ]
    )  # no-such-item, and the target of the renamed supply-chain
    assert not check.can_activate


def test_amounts_must_be_yuan_text_never_floats(xinping: dict) -> None:
    xinping["lines"][1]["items"][1]["budget_yuan"] = 360000.0
    check = check_program(xinping)
    assert check.program is None and [(e.code, e.path) for e in check.errors] == [
        ("DOCUMENT_INVALID", "lines.1.items.1.budget_yuan")
    ]


def test_malformed_amount_text_is_an_error(xinping: dict) -> None:
    xinping["lines"][1]["items"][1]["budget_yuan"] = "36,00,00.00"
    assert [(e.code, e.path) for e in check_program(xinping).errors] == [
        ("AMOUNT_INVALID", "lines[1].items[1].budget_yuan")
    ]


def test_misspelt_keys_are_errors_not_ignored(xinping: dict) -> None:
    xinping["lines"][0]["items"][0]["budjet_yuan"] = "1.00"
    assert "DOCUMENT_INVALID" in _codes(check_program(xinping))


def test_an_award_larger_than_its_item_budget_is_an_error(xinping: dict) -> None:
    xinping["lines"][0]["items"][2]["rule"]["amount_yuan"] = "100,000.01"
    errors = check_program(xinping).errors
    assert [(e.code, e.figures) for e in errors] == [
        ("AWARD_EXCEEDS_BUDGET", {"award_yuan": "100,000.01", "item_budget_yuan": "100,000.00"})
    ]


def test_contractor_credit_code_is_checked(xinping: dict) -> None:
    xinping["contractor"]["credit_code"] = "91530427MA6DEM0009"
    assert _codes(check_program(xinping)) == ["CREDIT_CODE_INVALID"]


def test_yaml_and_json_bodies_decode_to_the_same_document(xinping: dict) -> None:
    raw_yaml = (PROGRAMS / "xinping-2021.yaml").read_bytes()
    assert decode_program_document(raw_yaml, "application/yaml") == xinping
    assert decode_program_document(json.dumps(xinping).encode(), "application/json") == xinping


def test_yaml_aliases_are_refused() -> None:
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(InvalidInput) as refused:
        decode_program_document(bomb, "application/yaml")
    assert refused.value.code == "PROGRAM_DOCUMENT_INVALID" and "aliases" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "media_type"),
    [(b"[" * 10_000 + b"]" * 10_000, "application/json"),
     (b"[" * 10_000 + b"]" * 10_000, "application/yaml")],
)
def test_documents_nested_past_the_parsers_are_refused(raw: bytes, media_type: str) -> None:
    """Also for `ruralfund program check FILE`, which has no HTTP edge to catch it."""
    with pytest.raises(InvalidInput) as refused:
        decode_program_document(raw, media_type)
    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "DOCUMENT_TOO_DEEP", 400, "body",
    )  # fmt: skip


def test_oversized_documents_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_program_document(b" " * (256 * 1024 + 1), "application/json")
    assert refused.value.status == 413


def test_not_a_mapping_is_a_document_error() -> None:
    check = check_program(["not", "a", "program"])
    assert check.program is None and _codes(check) == ["DOCUMENT_INVALID"]


def test_checking_does_not_change_the_document(xinping: dict) -> None:
    before = copy.deepcopy(xinping)
    check_program(xinping)
    assert xinping == before


def test_a_program_stored_before_issue_16_still_checks_and_loads_its_claims() -> None:
    # A stored document never changes (migration 0007) and load_program re-checks it: the
    # Xinping file as databases hold it from before issue 16 must still activate, and its
    # claims' evidence (store by name, the new product as a box ticked) still compute.
    old = yaml.safe_load(
        (Path(__file__).parent / "data" / "xinping-2021-before-issue-16.yaml").read_text("utf-8")
    )
    check = check_program(old)
    assert check.can_activate and check.program is not None
    sales = check.program.item("sales-reward").rule
    evidence = sales.parse_evidence({"platform": "douyin", "store_name": "新平礼好旗舰店", "months": [
        {"month": f"2021-{m:02d}", "sales_yuan": "50,000.00"} for m in (7, 8, 9)]})  # fmt: skip
    assert sales.compute(evidence).amount_fen == 750_000
    product = check.program.item("new-product").rule
    figures = {"developed_after_publication": True, "online_sales_3_months_yuan": "150,000.00"}
    assert product.compute(product.parse_evidence({"product": "新平橙 礼盒", "figures": figures})).period == (
        "product:新平橙礼盒"
    )
