"""`ruralfund program check FILE [--json]` (mounted as `ruralfund program`): exit 0 with the
warnings printed, 1 on errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ruralfund.cli_program import app

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
runner = CliRunner()


def test_ruyuan_checks_with_the_logistics_share_as_a_warning() -> None:
    result = runner.invoke(app, ["check", str(PROGRAMS / "ruyuan-2021-p2.yaml")])
    assert result.exit_code == 0, result.output
    assert "WARNING RATIO_BELOW_MIN" in result.output and "28.75%" in result.output
    assert "ruyuan-2021-p2: can be activated (0 error(s)" in result.output


def test_ruyuan_json_report() -> None:
    result = runner.invoke(app, ["check", str(PROGRAMS / "ruyuan-2021-p2.yaml"), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["can_activate"] and report["errors"] == []
    ratios = {r["code"]: (r["status"], r["share_percent"]) for r in report["ratios"]}
    assert ratios == {
        "hardware-decoration-max": ("unverified", "2.50"),
        "logistics-min": ("breached", "28.75"),
        "training-max": ("met", "7.50"),
    }


def test_xinping_attachment_2_layout_is_an_error() -> None:
    path = PROGRAMS / "examples" / "xinping-2021-attachment2.yaml"
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.output.count("ERROR   LINE_SUM_MISMATCH") == 2
    assert "2,900,000.00" in result.output and "cannot be activated" in result.output
    report = json.loads(runner.invoke(app, ["check", str(path), "--json"]).output)
    assert [e["figures"]["difference_yuan"] for e in report["errors"]] == [
        "-240,000.00",
        "240,000.00",
    ]


def test_every_shipped_program_file_is_checked() -> None:
    for path in [*PROGRAMS.glob("*.yaml"), *PROGRAMS.glob("examples/*.yaml")]:
        result = runner.invoke(app, ["check", str(path), "--json"])
        expected = 1 if path.name == "xinping-2021-attachment2.yaml" else 0
        assert result.exit_code == expected, (path, result.output)


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: &x [1]\nb: *x\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["errors"][0]["code"] == "PROGRAM_DOCUMENT_INVALID"


def test_a_json_program_file_is_read_as_json(tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "xinping.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0


def test_the_check_says_what_claims_need_and_what_is_paid_once() -> None:
    result = runner.invoke(app, ["check", str(PROGRAMS / "xinping-2021.yaml")])
    assert result.exit_code == 0, result.output
    assert "claims  cover 2022-10-23 .. acceptance (published 2022-10-23)" in result.output
    assert (
        "claim   sales-reward (percent_of_amount, once per store_month): "
        "months, opened_on, platform, store_id" in result.output
    )
    assert "claim   supply-chain (fixed_if_all, once per enterprise)" in result.output
    report = json.loads(
        runner.invoke(app, ["check", str(PROGRAMS / "ruyuan-2021-p2.yaml"), "--json"]).output
    )
    (example,) = report["claims"]["items"]
    assert (example["code"], example["claimable"]) == ("station-operation-reward", False)
    assert (report["claims"]["claims_from"], report["claims"]["claims_until"]) == (
        "2023-03-15",
        "2024-12-31",
    )
