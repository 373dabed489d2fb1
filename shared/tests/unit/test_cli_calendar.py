"""`ruralfund calendar` sub-commands, run through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from ruralfund_common.calendar import CALENDAR_DIR_ENV
from typer.testing import CliRunner

from ruralfund.cli_calendar import app

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_2027 = REPO_ROOT / "calendar" / "2027.example.yaml"

runner = CliRunner()


@pytest.fixture
def cal_dir(tmp_path: Path) -> Path:
    return tmp_path / "calendar"


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- publicity-window


def test_publicity_window_json_is_exactly_the_three_dates(cal_dir: Path) -> None:
    result = run(
        "publicity-window", "--published-on", "2026-09-29", "--json", "--calendar-dir", cal_dir
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "starts_on": "2026-09-29",
        "ends_on": "2026-10-10",
        "payable_from": "2026-10-11",
    }


def test_publicity_window_text_has_english_and_chinese_labels(cal_dir: Path) -> None:
    result = run("publicity-window", "--published-on", "2026-02-12", "--calendar-dir", cal_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("公示开始 starts_on" in line and "2026-02-12" in line for line in lines)
    assert any("ends_on" in line and "2026-02-25" in line for line in lines)
    assert any("payable_from" in line and "2026-02-26" in line for line in lines)
    assert "2026-02-26T00:00:00+08:00" in result.stdout


def test_publicity_window_unknown_year_exits_2_with_json_error(cal_dir: Path) -> None:
    result = run(
        "publicity-window", "--published-on", "2027-03-01", "--json", "--calendar-dir", cal_dir
    )
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert set(error) == {"code", "message"}
    assert error["code"] == "CALENDAR_YEAR_UNKNOWN"
    assert "2027" in error["message"] and "ruralfund calendar load FILE" in error["message"]


def test_publicity_window_unknown_year_text_error(cal_dir: Path) -> None:
    result = run("publicity-window", "--published-on", "2027-03-01", "--calendar-dir", cal_dir)
    assert result.exit_code == 2
    assert "ruralfund calendar load FILE" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("bad", ["2026-02-30", "yesterday", "2026-9-1", "20260901"])
def test_publicity_window_bad_date_exits_2(cal_dir: Path, bad: str) -> None:
    result = run("publicity-window", "--published-on", bad, "--calendar-dir", cal_dir)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr and bad in result.stderr
    as_json = run("publicity-window", "--published-on", bad, "--json", "--calendar-dir", cal_dir)
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["code"] == "INVALID_DATE"


def test_publicity_window_reads_the_directory_from_the_environment(
    cal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("load", EXAMPLE_2027, "--calendar-dir", cal_dir).exit_code == 0
    monkeypatch.setenv(CALENDAR_DIR_ENV, str(cal_dir))
    result = run("publicity-window", "--published-on", "2027-02-03", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ends_on"] == "2027-02-16"


# ---------------------------------------------------------------- load


def test_load_then_2027_is_computed_from_the_file(cal_dir: Path) -> None:
    result = run("load", EXAMPLE_2027, "--calendar-dir", cal_dir)
    assert result.exit_code == 0, result.output
    assert "Loaded 2027: 29 holidays, 5 makeup working days" in result.stdout
    assert "ILLUSTRATION" in result.stdout
    assert (cal_dir / "2027.json").is_file()

    window = run(
        "publicity-window", "--published-on", "2027-02-03", "--json", "--calendar-dir", cal_dir
    )
    assert window.exit_code == 0, window.output
    assert json.loads(window.stdout) == {
        "starts_on": "2027-02-03",
        "ends_on": "2027-02-16",
        "payable_from": "2027-02-17",
    }


def test_load_invalid_file_exits_1_with_the_reason(cal_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "2027.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "year": 2027,
                "holidays": ["2027-01-01"],
                "makeup_working_days": ["2027-10-08"],
                "source": "test",
            }
        ),
        encoding="utf-8",
    )
    result = run("load", bad, "--calendar-dir", cal_dir)
    assert result.exit_code == 1
    assert "Saturdays or Sundays" in result.stderr and "2027-10-08" in result.stderr
    assert not (cal_dir / "2027.json").exists()


def test_load_missing_file_exits_1(cal_dir: Path, tmp_path: Path) -> None:
    result = run("load", tmp_path / "nope.yaml", "--calendar-dir", cal_dir)
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def test_load_notes_replacement_and_override_of_the_package(cal_dir: Path, tmp_path: Path) -> None:
    data = {
        "year": 2026,
        "holidays": ["2026-01-01", "2026-10-01"],
        "makeup_working_days": [],
        "source": "test override",
    }
    path = tmp_path / "2026.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    first = run("load", path, "--calendar-dir", cal_dir)
    assert first.exit_code == 0, first.output
    assert "overrides the chinesecalendar package" in first.stdout
    assert "replaced" not in first.stdout
    second = run("load", path, "--calendar-dir", cal_dir)
    assert "replaced the previously loaded 2026" in second.stdout


# ---------------------------------------------------------------- show


def test_show_package_year(cal_dir: Path) -> None:
    result = run("show", "2026", "--calendar-dir", cal_dir)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "chinesecalendar" in out
    holidays, makeup = out.split("makeup working days")
    assert "2026-10-05 (Mon)" in holidays
    assert "2026-10-10 (Sat)" in makeup and "2026-02-14 (Sat)" in makeup
    assert "2026-10-10" not in holidays


def test_show_year_file_and_json(cal_dir: Path) -> None:
    run("load", EXAMPLE_2027, "--calendar-dir", cal_dir)
    text = run("show", "2027", "--calendar-dir", cal_dir)
    assert text.exit_code == 0, text.output
    assert f"year file {cal_dir / '2027.json'}" in text.stdout
    as_json = run("show", "2027", "--json", "--calendar-dir", cal_dir)
    shown = json.loads(as_json.stdout)
    assert shown["origin"] == "year_file"
    assert shown["makeup_working_days"][0] == "2027-02-14"
    assert len(shown["holidays"]) == 29


def test_show_unknown_year_exits_2(cal_dir: Path) -> None:
    result = run("show", "2030", "--json", "--calendar-dir", cal_dir)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["code"] == "CALENDAR_YEAR_UNKNOWN"
