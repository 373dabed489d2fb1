"""Working days and the 5-working-day publicity window, with real 2026 dates."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_common.calendar import (
    CALENDAR_DIR_ENV,
    COUNTY_TZ,
    PUBLICITY_WORKING_DAYS,
    CalendarFileError,
    CalendarStore,
    CalendarYearUnknown,
    PublicityWindow,
    WorkingCalendar,
    YearCalendar,
    add_working_days,
    date_zh,
    default_calendar_dir,
    is_working_day,
    local_date,
    next_working_day,
    package_years,
    publicity_window,
    publicity_window_for_instant,
    read_year_file,
    working_days_between,
)
from ruralfund_common.errors import DomainError

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_2027 = REPO_ROOT / "calendar" / "2027.example.yaml"

PACKAGE = WorkingCalendar(None)


def window(starts: str, ends: str, payable: str) -> PublicityWindow:
    return PublicityWindow(
        date.fromisoformat(starts), date.fromisoformat(ends), date.fromisoformat(payable)
    )


def year_2027(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "year": 2027,
        "holidays": ["2027-01-01", "2027-10-01", "2027-10-04", "2027-10-05"],
        "makeup_working_days": ["2027-10-09"],
        "source": "test fixture, not an official schedule",
    }
    data.update(overrides)
    return data


def write(path: Path, data: object) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> CalendarStore:
    return CalendarStore(tmp_path / "calendar")


# ---------------------------------------------------------------- the package's years


def test_package_data_matches_chinese_calendar_for_every_day_of_2026() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert PACKAGE.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_package_years_are_2004_to_2026() -> None:
    assert package_years()[0] == 2004
    assert package_years()[-1] == 2026


def test_2026_spring_festival_days() -> None:
    assert PACKAGE.is_working_day(date(2026, 2, 14))  # Saturday, makeup working day
    assert PACKAGE.is_working_day(date(2026, 2, 28))  # Saturday, makeup working day
    for day in range(15, 24):  # 2026-02-15 (Sun) .. 2026-02-23 (Mon) off
        assert not PACKAGE.is_working_day(date(2026, 2, day))
    assert PACKAGE.is_working_day(date(2026, 2, 24))


def test_publicity_before_spring_festival_spans_it_and_counts_the_makeup_saturday() -> None:
    # Thu 12 (1), Fri 13 (2), Sat 14 makeup (3), 15-23 off, Tue 24 (4), Wed 25 (5)
    assert PACKAGE.publicity_window(date(2026, 2, 12)) == window(
        "2026-02-12", "2026-02-25", "2026-02-26"
    )


def test_publicity_published_during_spring_festival_starts_after_it() -> None:
    # Tue 24 (1), 25, 26, 27, Sat 28 makeup (5); payable from Sunday 1 March
    assert PACKAGE.publicity_window(date(2026, 2, 16)) == window(
        "2026-02-24", "2026-02-28", "2026-03-01"
    )


def test_2026_national_day_days() -> None:
    assert PACKAGE.is_working_day(date(2026, 10, 10))  # Saturday, makeup working day
    assert PACKAGE.is_working_day(date(2026, 9, 20))  # Sunday, makeup working day
    assert not PACKAGE.is_working_day(date(2026, 10, 5))  # Monday, holiday
    assert PACKAGE.is_working_day(date(2026, 10, 8))  # Thursday after the holiday


def test_publicity_over_national_day_ends_on_the_makeup_saturday() -> None:
    # Tue 29 (1), Wed 30 (2), Oct 1-7 off, Thu 8 (3), Fri 9 (4), Sat 10 makeup (5)
    assert PACKAGE.publicity_window(date(2026, 9, 29)) == window(
        "2026-09-29", "2026-10-10", "2026-10-11"
    )


def test_publicity_published_on_national_day_starts_on_8_october() -> None:
    assert PACKAGE.publicity_window(date(2026, 10, 1)) == window(
        "2026-10-08", "2026-10-13", "2026-10-14"
    )


def test_publicity_published_on_saturday_before_makeup_sunday_starts_on_that_sunday() -> None:
    # Sat 19 Sept is off; Sun 20 Sept is a makeup working day, so it is day 1.
    assert PACKAGE.publicity_window(date(2026, 9, 19)) == window(
        "2026-09-20", "2026-09-24", "2026-09-25"
    )


def test_publicity_published_on_ordinary_saturday_starts_monday() -> None:
    assert PACKAGE.publicity_window(date(2026, 3, 7)) == window(
        "2026-03-09", "2026-03-13", "2026-03-14"
    )


def test_publicity_published_on_a_working_day_counts_that_day() -> None:
    assert PACKAGE.publicity_window(date(2026, 3, 10)) == window(
        "2026-03-10", "2026-03-16", "2026-03-17"
    )


def test_publicity_window_length_is_configurable_but_positive() -> None:
    assert PUBLICITY_WORKING_DAYS == 5
    assert PACKAGE.publicity_window(date(2026, 3, 7), 1) == window(
        "2026-03-09", "2026-03-09", "2026-03-10"
    )
    with pytest.raises(ValueError):
        PACKAGE.publicity_window(date(2026, 3, 7), 0)


# ---------------------------------------------------------------- instants and the window


def test_window_ends_at_midnight_shanghai_and_payment_starts_then() -> None:
    w = PACKAGE.publicity_window(date(2026, 9, 29))
    ends_at = w.ends_at()
    assert ends_at == datetime(2026, 10, 11, 0, 0, tzinfo=COUNTY_TZ)
    assert ends_at.astimezone(UTC) == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    just_before = ends_at - timedelta(microseconds=1)
    assert w.is_open(just_before) and not w.is_payable(just_before)
    assert not w.is_open(ends_at) and w.is_payable(ends_at)
    assert not w.is_open(datetime(2026, 9, 28, 15, 59, tzinfo=UTC))  # 23:59 on the 28th
    assert w.is_open(datetime(2026, 9, 28, 16, 0, tzinfo=UTC))  # 00:00 on the 29th


def test_window_to_dict_uses_iso_dates() -> None:
    assert PACKAGE.publicity_window(date(2026, 9, 29)).to_dict() == {
        "starts_on": "2026-09-29",
        "ends_on": "2026-10-10",
        "payable_from": "2026-10-11",
    }


def test_instant_is_converted_to_the_shanghai_date_first() -> None:
    # 15:59 UTC Friday 6 March = 23:59 Friday in the county: day 1 is that Friday
    friday = PACKAGE.publicity_window_for_instant(datetime(2026, 3, 6, 15, 59, tzinfo=UTC))
    assert friday.starts_on == date(2026, 3, 6)
    # 16:30 UTC = 00:30 Saturday 7 March in the county: day 1 is Monday 9 March
    saturday = PACKAGE.publicity_window_for_instant(datetime(2026, 3, 6, 16, 30, tzinfo=UTC))
    assert saturday == window("2026-03-09", "2026-03-13", "2026-03-14")


def test_naive_datetimes_and_datetimes_as_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2026, 3, 6, 12, 0))
    w = PACKAGE.publicity_window(date(2026, 3, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        w.is_payable(datetime(2026, 3, 20, 12, 0))
    with pytest.raises(TypeError, match="local_date"):
        PACKAGE.is_working_day(datetime(2026, 3, 6, 20, 0, tzinfo=UTC))


def test_window_dates_must_be_in_order() -> None:
    with pytest.raises(ValueError):
        window("2026-03-10", "2026-03-09", "2026-03-11")


# ---------------------------------------------------------------- working-day arithmetic


def test_next_working_day() -> None:
    assert PACKAGE.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)  # Fri -> Mon
    assert PACKAGE.next_working_day(date(2026, 3, 6), include_self=True) == date(2026, 3, 6)
    assert PACKAGE.next_working_day(date(2026, 3, 7), include_self=True) == date(2026, 3, 9)
    assert PACKAGE.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)


def test_add_working_days() -> None:
    assert PACKAGE.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri + 1
    assert PACKAGE.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Sat + 1
    assert PACKAGE.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 7)
    assert PACKAGE.add_working_days(date(2026, 3, 9), -1) == date(2026, 3, 6)
    assert PACKAGE.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert PACKAGE.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert PACKAGE.add_working_days(date(2026, 2, 24), -1) == date(2026, 2, 14)
    with pytest.raises(ValueError):
        PACKAGE.add_working_days(date(2026, 3, 9), 10_001)


def test_working_days_between_counts_after_a_up_to_b() -> None:
    assert PACKAGE.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert PACKAGE.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert PACKAGE.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert PACKAGE.working_days_between(date(2026, 10, 10), date(2026, 9, 30)) == -3


@given(
    start=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)),
    n=st.integers(min_value=0, max_value=40),
)
def test_between_inverts_add(start: date, n: int) -> None:
    end = PACKAGE.add_working_days(start, n)
    assert PACKAGE.working_days_between(start, end) == n
    if n > 0:
        assert PACKAGE.is_working_day(end)


@given(published=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30)))
def test_every_window_holds_exactly_five_working_days(published: date) -> None:
    w = PACKAGE.publicity_window(published)
    assert PACKAGE.is_working_day(w.starts_on) and PACKAGE.is_working_day(w.ends_on)
    assert w.starts_on >= published
    assert PACKAGE.working_days_between(published - timedelta(days=1), w.starts_on) == 1
    assert PACKAGE.working_days_between(w.starts_on, w.ends_on) == PUBLICITY_WORKING_DAYS - 1
    assert w.payable_from == w.ends_on + timedelta(days=1)


# ---------------------------------------------------------------- unknown years


def test_2027_is_refused_until_a_year_file_is_loaded(store: CalendarStore) -> None:
    calendar = WorkingCalendar(store.directory)
    with pytest.raises(CalendarYearUnknown) as refused:
        calendar.publicity_window(date(2027, 2, 3))
    error = refused.value
    assert isinstance(error, DomainError)
    assert error.code == "CALENDAR_YEAR_UNKNOWN"
    assert error.status == 422
    assert "2027" in error.message
    assert "ruralfund calendar load FILE" in error.message
    assert error.to_dict()["details"]["year"] == 2027

    store.load_file(EXAMPLE_2027)
    # The same instance sees the new year: a running service needs no restart.
    # Wed 3 (1), Thu 4 (2), Feb 5-13 off, Sun 14 makeup (3), Mon 15 (4), Tue 16 (5)
    assert calendar.publicity_window(date(2027, 2, 3)) == window(
        "2027-02-03", "2027-02-16", "2027-02-17"
    )


def test_window_crossing_into_an_unknown_year_is_refused_not_guessed(
    store: CalendarStore, tmp_path: Path
) -> None:
    calendar = WorkingCalendar(store.directory)
    with pytest.raises(CalendarYearUnknown):
        calendar.publicity_window(date(2026, 12, 29))
    store.load_file(write(tmp_path / "2027.json", year_2027()))
    # Tue 29, Wed 30, Thu 31 Dec; Fri 1 Jan off; Mon 4, Tue 5 Jan
    assert calendar.publicity_window(date(2026, 12, 29)) == window(
        "2026-12-29", "2027-01-05", "2027-01-06"
    )


def test_package_only_calendar_refuses_2027() -> None:
    with pytest.raises(CalendarYearUnknown, match="no year-file directory"):
        PACKAGE.is_working_day(date(2027, 1, 4))
    with pytest.raises(CalendarYearUnknown):
        PACKAGE.is_working_day(date(2003, 12, 31))


# ---------------------------------------------------------------- year files win


def test_a_2026_year_file_wins_over_the_package(store: CalendarStore, tmp_path: Path) -> None:
    package_2026 = PACKAGE.source_for_year(2026).calendar
    amended = package_2026.to_dict()
    amended["holidays"].remove("2026-10-05")
    amended["source"] = "amended test schedule: 2026-10-05 is a working day"
    calendar = WorkingCalendar(store.directory)
    assert not calendar.is_working_day(date(2026, 10, 5))

    store.load_file(write(tmp_path / "2026.yaml", amended))
    assert calendar.source_for_year(2026).origin == "year_file"
    assert calendar.is_working_day(date(2026, 10, 5))
    # Tue 29 (1), Wed 30 (2), Mon 5 Oct (3), Thu 8 (4), Fri 9 (5)
    assert calendar.publicity_window(date(2026, 9, 29)) == window(
        "2026-09-29", "2026-10-09", "2026-10-10"
    )

    store.path_for(2026).unlink()  # removed: back to the package
    assert calendar.source_for_year(2026).origin == "package"
    assert not calendar.is_working_day(date(2026, 10, 5))


def test_reloading_a_year_replaces_it_for_a_running_calendar(
    store: CalendarStore, tmp_path: Path
) -> None:
    calendar = WorkingCalendar(store.directory)
    store.load_file(write(tmp_path / "a.json", year_2027()))
    assert not calendar.is_working_day(date(2027, 10, 5))
    fixed = year_2027(holidays=["2027-01-01", "2027-10-01", "2027-10-04"])
    store.load_file(write(tmp_path / "b.json", fixed))
    assert calendar.is_working_day(date(2027, 10, 5))


def test_a_replaced_file_is_noticed_even_with_the_same_size_and_mtime(
    store: CalendarStore, tmp_path: Path
) -> None:
    # Coarse filesystem clocks can give two quick loads the same mtime; the rename gives a
    # new inode, which is what makes the reload reliable.
    calendar = WorkingCalendar(store.directory)
    store.load_file(write(tmp_path / "a.json", year_2027()))
    before = store.path_for(2027).stat()
    assert not calendar.is_working_day(date(2027, 10, 5))
    moved = ["2027-01-01", "2027-10-01", "2027-10-04", "2027-10-06"]
    store.load_file(write(tmp_path / "b.json", year_2027(holidays=moved)))
    after = store.path_for(2027).stat()
    assert after.st_size == before.st_size
    os.utime(store.path_for(2027), ns=(before.st_atime_ns, before.st_mtime_ns))
    assert calendar.is_working_day(date(2027, 10, 5))
    assert not calendar.is_working_day(date(2027, 10, 6))


def test_module_functions_use_the_directory_from_the_environment(
    store: CalendarStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CALENDAR_DIR_ENV, str(store.directory))
    assert default_calendar_dir() == store.directory
    with pytest.raises(CalendarYearUnknown):
        is_working_day(date(2027, 10, 4))
    store.load_file(write(tmp_path / "2027.yaml", year_2027()))
    assert not is_working_day(date(2027, 10, 4))
    assert is_working_day(date(2027, 10, 9))  # makeup Saturday
    assert next_working_day(date(2027, 10, 1)) == date(2027, 10, 6)
    assert add_working_days(date(2027, 10, 1), 2) == date(2027, 10, 7)
    assert working_days_between(date(2027, 10, 1), date(2027, 10, 9)) == 4
    # Wed 6 (1), Thu 7 (2), Fri 8 (3), Sat 9 makeup (4), Mon 11 (5)
    assert publicity_window(date(2027, 10, 1)) == window("2027-10-06", "2027-10-11", "2027-10-12")
    instant = datetime(2027, 9, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 October in the county
    assert publicity_window_for_instant(instant) == publicity_window(date(2027, 10, 1))


def test_default_calendar_dir_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CALENDAR_DIR_ENV, raising=False)
    assert default_calendar_dir() == Path("var/calendar")


# ---------------------------------------------------------------- the store


def test_store_writes_normalised_json_and_lists_years(store: CalendarStore, tmp_path: Path) -> None:
    unsorted = year_2027(holidays=["2027-10-05", "2027-01-01", "2027-10-04", "2027-10-01"])
    loaded = store.load_file(write(tmp_path / "in.yaml", unsorted))
    assert loaded.year == 2027
    assert loaded.holidays[0] == date(2027, 1, 1)
    stored = json.loads(store.path_for(2027).read_text(encoding="utf-8"))
    assert stored == {
        "year": 2027,
        "holidays": ["2027-01-01", "2027-10-01", "2027-10-04", "2027-10-05"],
        "makeup_working_days": ["2027-10-09"],
        "source": "test fixture, not an official schedule",
    }
    assert store.years() == [2027]
    assert sorted(p.name for p in store.directory.iterdir()) == ["2027.json"]  # no temp files


def test_yaml_unquoted_dates_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "2027.yml"
    path.write_text(
        "year: 2027\nholidays: [2027-01-01]\nmakeup_working_days: [2027-10-09]\n"
        "source: 国务院办公厅通知 (test)\n",
        encoding="utf-8",
    )
    loaded = read_year_file(path)
    assert loaded.holidays == (date(2027, 1, 1),)
    assert loaded.source == "国务院办公厅通知 (test)"


def test_shipped_example_is_valid_and_marked_as_illustration() -> None:
    example = read_year_file(EXAMPLE_2027)
    assert example.year == 2027
    assert "ILLUSTRATION" in example.source
    assert "ILLUSTRATION ONLY" in EXAMPLE_2027.read_text(encoding="utf-8")
    assert all(d.weekday() >= 5 for d in example.makeup_working_days)
    assert date(2027, 1, 1) in example.holidays


def test_a_damaged_stored_file_is_an_error_not_a_fallback(store: CalendarStore) -> None:
    store.directory.mkdir(parents=True)
    store.path_for(2026).write_text("{not json", encoding="utf-8")
    with pytest.raises(CalendarFileError, match="not valid JSON"):
        WorkingCalendar(store.directory).is_working_day(date(2026, 3, 9))


def test_a_stored_file_must_hold_the_year_of_its_name(store: CalendarStore) -> None:
    store.directory.mkdir(parents=True)
    write(store.path_for(2028), year_2027())
    with pytest.raises(CalendarFileError, match="not 2028"):
        WorkingCalendar(store.directory).is_working_day(date(2028, 3, 9))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (year_2027(holidays=["2026-12-31"]), "dates outside 2027"),
        (year_2027(makeup_working_days=["2028-01-01"]), "dates outside 2027"),
        (
            year_2027(makeup_working_days=["2027-10-09", "2027-10-10"], holidays=["2027-10-10"]),
            "both a holiday and a makeup",
        ),
        (
            year_2027(makeup_working_days=["2027-10-08"]),
            r"Saturdays or Sundays.*2027-10-08 \(Fri\)",
        ),
        (year_2027(holidays=["2027-02-30"]), "'2027-02-30' is not a real date"),
        (year_2027(holidays=["2027/01/01"]), "not a YYYY-MM-DD date"),
        (year_2027(holidays=["2027-01-01", "2027-01-01"]), "listed twice"),
        (year_2027(holidays="2027-01-01"), "must be a list"),
        (year_2027(year="2027"), "year must be an integer"),
        (year_2027(year=1899), "outside 2000-2100"),
        (year_2027(source=""), "source must name the notice"),
        (year_2027(makeup_workdays=[]), "unknown keys"),
        ({"year": 2027, "holidays": []}, "missing keys"),
        (["2027-01-01"], "must be a mapping"),
    ],
)
def test_bad_year_files_are_refused(
    store: CalendarStore, tmp_path: Path, data: object, problem: str
) -> None:
    with pytest.raises(CalendarFileError, match=problem):
        store.load_file(write(tmp_path / "bad.yaml", data))
    assert store.years() == []  # nothing stored


def test_bad_year_file_formats_are_refused(store: CalendarStore, tmp_path: Path) -> None:
    txt = tmp_path / "2027.txt"
    txt.write_text("year: 2027", encoding="utf-8")
    with pytest.raises(CalendarFileError, match=r"\.yaml, \.yml or \.json"):
        store.load_file(txt)
    broken = tmp_path / "2027.yaml"
    broken.write_text("year: [2027\n", encoding="utf-8")
    with pytest.raises(CalendarFileError, match="not valid YAML"):
        store.load_file(broken)
    with pytest.raises(CalendarFileError, match="cannot read"):
        store.load_file(tmp_path / "missing.json")
    assert isinstance(CalendarFileError("x"), ValueError)


def test_year_calendar_is_valid_by_construction() -> None:
    with pytest.raises(CalendarFileError, match="Saturdays or Sundays"):
        YearCalendar(2027, (), (date(2027, 1, 4),), "test")


def test_a_day_in_chinese_text_has_no_leading_zeros_and_an_instant_is_the_countys_day() -> None:
    assert date_zh(date(2026, 10, 13)) == "2026年10月13日"
    assert date_zh(date(2026, 3, 2)) == "2026年3月2日"
    # 16:30 UTC on 12 October is already 13 October in the county (UTC+8)
    assert date_zh(datetime(2026, 10, 12, 16, 30, tzinfo=UTC)) == "2026年10月13日"
