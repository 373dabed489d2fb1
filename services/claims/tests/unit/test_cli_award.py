"""`ruralfund award compute` (mounted as `ruralfund award`): an auditor recomputes any award
from the program file's rule and the evidence; JSON keys eligible, amount_fen, rule_version,
reasons; exit 0 eligible, 1 ineligible, 2 cannot compute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruralfund_claims.domain.program import check_program
from ruralfund_common.credit_code import with_check_character
from typer.testing import CliRunner

from ruralfund.cli_award import app

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
runner = CliRunner()


def _compute(tmp_path: Path, item: str, evidence: Any, *extra: str, program: str = "xinping-2021"):
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(evidence, ensure_ascii=False), encoding="utf-8")
    args = ["compute", "--program", program, "--item", item, "--evidence", str(path)]
    args += ["--programs-dir", str(PROGRAMS), "--json", *extra]
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.output)


def _rule_version(item: str) -> str:
    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    program = check_program(doc).program
    assert program is not None
    rule = program.item(item).rule
    assert rule is not None
    return rule.version


@pytest.mark.parametrize(
    ("units", "exit_code", "amount_fen"),
    [(9_999, 1, 0), (10_000, 0, 200_000), (12_345, 0, 246_900)],
)
def test_brand_packaging(tmp_path: Path, units: int, exit_code: int, amount_fen: int) -> None:
    code, out = _compute(tmp_path, "brand-packaging", {"quarter": "2023Q3", "units": units})
    assert (code, out["eligible"], out["amount_fen"]) == (exit_code, exit_code == 0, amount_fen)
    assert out["rule_version"] == _rule_version("brand-packaging")
    assert {"eligible", "amount_fen", "rule_version", "reasons"} <= set(out)
    reason, period = out["reasons"]
    assert period["check"] == "within_program_period" and period["passed"]
    assert (reason["check"], reason["actual"], reason["passed"]) == (
        "min_units",
        f"{units:,}",
        units >= 10_000,
    )


def _months(*sales: str) -> list[dict[str, str]]:
    return [{"month": f"2023-{i + 7:02d}", "sales_yuan": s} for i, s in enumerate(sales)]


@pytest.mark.parametrize(
    ("months", "eligible", "amount_fen"),
    [
        (_months("50,000.00", "50,000.00", "49,999.99"), False, 0),  # 149,999.99
        (_months("50,000.00", "50,000.00", "50,000.00"), True, 750_000),  # 150,000.00 x 5%
        (_months("100,000.00", "60,000.00"), False, 0),  # 2 months only
        (
            _months("50,000.00", "50,000.00", "50,000.10"),
            True,
            750_001,
        ),  # 7,500.005 -> 7,500.01 half up
    ],
)
def test_sales_reward(tmp_path: Path, months: list, eligible: bool, amount_fen: int) -> None:
    evidence = {"platform": "douyin", "store_id": "88001234", "store_name": "新平礼好旗舰店",
                "opened_on": "2023-07-01", "months": months}  # fmt: skip
    code, out = _compute(tmp_path, "sales-reward", evidence)
    assert out["paid_once"][0] == "douyin 店铺 88001234 的 2023年7月"
    assert (code, out["eligible"], out["amount_fen"]) == (
        0 if eligible else 1,
        eligible,
        amount_fen,
    )


@pytest.mark.parametrize(
    ("volume", "amount_fen"),
    [("199,999.99", 0), ("200,000.00", 2_000_000), ("5,000,000.00", 8_000_000)],
)
def test_station_tiers(tmp_path: Path, volume: str, amount_fen: int) -> None:
    evidence = {"year": 2023, "station_id": "st-1", "annual_volume_yuan": volume,
                "figures": {"ecommerce_operation": True, "livestream_sales": True,
                            "warehousing_shipping": True, "retail_sales": True}}  # fmt: skip
    code, out = _compute(tmp_path, "station-upgrade", evidence)
    assert out["amount_fen"] == amount_fen and code == (0 if amount_fen else 1)


def test_a_whole_claim_document_may_be_given(tmp_path: Path) -> None:
    claim = {
        "id": "c-1",
        "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q4", "units": 20_000},
    }
    code, out = _compute(tmp_path, "brand-packaging", claim)
    assert (code, out["amount_fen"], out["period"]) == (0, 400_000, "2023Q4")


def test_the_claimants_county_is_checked_when_given(tmp_path: Path) -> None:
    outside = with_check_character("91530400MA6Q00031")
    code, out = _compute(
        tmp_path,
        "brand-packaging",
        {"quarter": "2023Q3", "units": 12_345},
        "--credit-code",
        outside,
    )
    assert (code, out["eligible"], out["amount_fen"]) == (1, False, 0)
    assert (out["reasons"][0]["check"], out["reasons"][0]["actual"]) == (
        "registered_in_county",
        "530400",
    )


def test_another_rule_version_is_refused(tmp_path: Path) -> None:
    code, out = _compute(
        tmp_path,
        "brand-packaging",
        {"quarter": "2023Q3", "units": 12_345},
        "--rule-version",
        "per_unit/v1+000000000000",
    )
    assert (code, out["code"]) == (2, "RULE_VERSION_MISMATCH")
    same = _rule_version("brand-packaging")
    code, out = _compute(
        tmp_path, "brand-packaging", {"quarter": "2023Q3", "units": 12_345}, "--rule-version", same
    )
    assert code == 0 and out["rule_version"] == same


@pytest.mark.parametrize(
    ("item", "evidence", "error"),
    [
        ("trade-fairs", {}, "ITEM_NOT_CLAIMABLE"),
        ("no-such-item", {}, "ITEM_NOT_FOUND"),
        ("brand-packaging", {"quarter": "2023Q5", "units": 1}, "EVIDENCE_INVALID"),
    ],
)
def test_what_cannot_be_computed_exits_2(
    tmp_path: Path, item: str, evidence: dict, error: str
) -> None:
    code, out = _compute(tmp_path, item, evidence)
    assert (code, out["code"]) == (2, error)


def test_unknown_and_invalid_programs_exit_2(tmp_path: Path) -> None:
    code, out = _compute(tmp_path, "brand-packaging", {}, program="no-such-program")
    assert (code, out["code"]) == (2, "PROGRAM_NOT_FOUND")
    attachment2 = str(PROGRAMS / "examples" / "xinping-2021-attachment2.yaml")
    code, out = _compute(
        tmp_path, "brand-packaging", {"quarter": "2023Q3", "units": 1}, program=attachment2
    )
    assert (code, out["code"]) == (2, "PROGRAM_INVALID")


def test_the_fictional_county_by_code_from_examples(tmp_path: Path) -> None:
    evidence = {
        "year": 2024,
        "station_id": "v-1",
        "category": "village",
        "investment_yuan": "30,000.00",
    }
    code, out = _compute(tmp_path, "station-build", evidence, program="fictional-county-2024")
    assert (code, out["amount_fen"], out["period"]) == (0, 2_000_000, "station:v-1")


def test_the_new_evidence_reaches_award_compute(tmp_path: Path) -> None:
    # new product: launch date after publication, months from the launch, normalised identity
    evidence = {"product_name": "新平橙 礼盒", "product_code": "6901234567890",
                "launched_on": "2023-03-10",
                "months": [{"month": m, "online_sales_yuan": "50,000.00"}
                           for m in ("2023-03", "2023-04", "2023-05")]}  # fmt: skip
    code, out = _compute(tmp_path, "new-product", evidence)
    assert (code, out["amount_fen"], out["period"]) == (0, 2_000_000, "product:新平橙礼盒")
    assert out["paid_once"] == ["产品编码 6901234567890"]
    evidence["launched_on"], evidence["months"][0]["month"] = "2022-03-10", "2022-03"
    evidence["months"] = evidence["months"][:1]
    code, out = _compute(tmp_path, "new-product", evidence)
    failed = [r["check"] for r in out["reasons"] if not r["passed"]]
    assert code == 1 and failed == ["launched_after_publication", "online_sales_first_months",
                                    "within_program_period"]  # fmt: skip


def test_an_unlisted_platform_is_printed_as_a_flag(tmp_path: Path) -> None:
    evidence = {"platform": "xiaohongshu", "store_id": "x1", "opened_on": "2023-07-01",
                "months": _months("50,000.00", "50,000.00", "50,000.00")}  # fmt: skip
    code, out = _compute(tmp_path, "sales-reward", evidence)
    assert code == 0 and out["flags"][0].startswith("PLATFORM_UNLISTED")


def test_text_output_names_every_reason(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("quarter: 2023Q3\nunits: 9999\n", encoding="utf-8")
    args = [
        "compute",
        "--program",
        "xinping-2021",
        "--item",
        "brand-packaging",
        "--evidence",
        str(path),
    ]
    result = runner.invoke(app, [*args, "--programs-dir", str(PROGRAMS)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "9,999 (required >= 10,000)" in result.output
    assert "not eligible, 0.00 yuan" in result.output
