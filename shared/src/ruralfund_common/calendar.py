"""China's working days (Asia/Shanghai) and the 5-working-day publicity window (公示).

A working day is Monday-Friday, minus statutory holidays, plus weekend days declared
working days (调休, "makeup working days").  Each year comes from exactly one source:

1. a *year file* an admin loaded (``ruralfund calendar load FILE``), stored as
   ``<calendar dir>/<year>.json``; it wins over the package for that year, because the
   State Council's notice is the authority and the package may lag or be wrong;
2. otherwise the ``chinesecalendar`` package's built-in data (2004-2026 in 1.11.0).

A date in a year known to neither raises :class:`CalendarYearUnknown`: the schedule is
published only about a month ahead, and a guessed deadline could release money early.

Publicity window rule: day 1 is the publication day if it is a working day, otherwise the
next working day; the window ends at the end of day 5 (Asia/Shanghai); payment is allowed
from 00:00 Asia/Shanghai of the calendar day after day 5.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

from ruralfund_common.errors import DomainError

__all__ = [
    "CALENDAR_DIR_ENV",
    "COUNTY_TZ",
    "DEFAULT_CALENDAR_DIR",
    "MAX_WORKING_DAYS_OFFSET",
    "MAX_YEAR_FILE_BYTES",
    "PUBLICITY_WORKING_DAYS",
    "CalendarFileError",
    "CalendarStore",
    "CalendarYearUnknown",
    "PublicityWindow",
    "WorkingCalendar",
    "YearCalendar",
    "YearSource",
    "add_working_days",
    "date_zh",
    "default_calendar",
    "default_calendar_dir",
    "is_working_day",
    "local_date",
    "next_working_day",
    "package_years",
    "publicity_window",
    "publicity_window_for_instant",
    "read_year_file",
    "working_days_between",
]

COUNTY_TZ = ZoneInfo("Asia/Shanghai")
PUBLICITY_WORKING_DAYS = 5
CALENDAR_DIR_ENV = "RURALFUND_CALENDAR_DIR"
DEFAULT_CALENDAR_DIR = Path("var/calendar")

# Limits.  A year has at most 366 days, so longer date lists are certainly wrong.
MAX_DATES_PER_LIST = 366
MAX_YEAR_FILE_BYTES = 256 * 1024
MAX_SOURCE_CHARS = 500
MIN_YEAR, MAX_YEAR = 2000, 2100
# About 40 years of working days; anything larger is a bug in the caller.
MAX_WORKING_DAYS_OFFSET = 10_000

_YEAR_FILE_KEYS = frozenset({"year", "holidays", "makeup_working_days", "source"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


class CalendarFileError(ValueError):
    """A year file (or a stored copy) is unreadable or breaks a rule; ``problems`` lists why."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems = list(problems)
        full = message if not self.problems else message + ": " + "; ".join(self.problems)
        super().__init__(full)


class CalendarYearUnknown(DomainError):
    """No source knows this year's working days; the system refuses to guess."""

    code = "CALENDAR_YEAR_UNKNOWN"
    status = 422

    def __init__(self, year: int, calendar_dir: Path | None) -> None:
        first, last = package_years()[0], package_years()[-1]
        where = (
            f"no year file for {year} is loaded in {calendar_dir}"
            if calendar_dir is not None
            else "no year-file directory is configured"
        )
        message = (
            f"The working-day calendar for {year} is unknown: the chinesecalendar package "
            f"covers {first}-{last} and {where}. "
            f"Load the State Council's {year} holiday schedule with "
            "`ruralfund calendar load FILE`."
        )
        super().__init__(
            self.code,
            message,
            status=422,
            details={"year": year, "calendar_dir": str(calendar_dir) if calendar_dir else None},
            title_zh=f"{year}年工作日历未知",
            detail_zh=f"系统尚无{year}年的工作日安排（已知{first}年至{last}年），无法计算期限；"
            f"请由管理员载入国务院办公厅公布的{year}年节假日安排后再办理。",
        )
        self.year = year


def _require_date(d: date) -> date:
    """Refuse datetimes: a UTC instant's date is not the county's day (see local_date)."""
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(
            f"expected a date, got {type(d).__name__}; convert instants with local_date()"
        )
    return d


def _weekday_name(d: date) -> str:
    return _WEEKDAY_NAMES[d.weekday()]


# --------------------------------------------------------------------------- year data


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One year's statutory holidays and makeup working days, sorted, with their source."""

    year: int
    holidays: tuple[date, ...]
    makeup_working_days: tuple[date, ...]
    source: str

    def __post_init__(self) -> None:
        problems = _rule_problems(self.year, self.holidays, self.makeup_working_days)
        if problems:
            raise CalendarFileError(f"invalid calendar for {self.year}", problems)

    def is_working_day(self, d: date) -> bool:
        assert d.year == self.year, f"{d} asked of the {self.year} calendar"
        if d in self.makeup_working_days:
            return True
        return d.weekday() < _SATURDAY and d not in self.holidays

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "holidays": [d.isoformat() for d in self.holidays],
            "makeup_working_days": [d.isoformat() for d in self.makeup_working_days],
            "source": self.source,
        }

    def to_json(self) -> str:
        """Normalised JSON: fixed key order, sorted dates, Chinese kept readable."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> YearCalendar:
        """Parse and validate a year file's content; every problem found is reported at once."""
        if not isinstance(data, Mapping):
            raise CalendarFileError(
                "a year file must be a mapping with keys year, holidays, "
                f"makeup_working_days, source; got {type(data).__name__}"
            )
        problems = _shape_problems(data)
        if problems:
            raise CalendarFileError("invalid year file", problems)
        year: int = data["year"]
        holidays = _parse_dates(data["holidays"], "holidays", problems)
        makeup = _parse_dates(data["makeup_working_days"], "makeup_working_days", problems)
        if problems:
            raise CalendarFileError(f"invalid year file for {year}", problems)
        return cls(year, tuple(sorted(holidays)), tuple(sorted(makeup)), data["source"].strip())


def _shape_problems(data: Mapping[Any, Any]) -> list[str]:
    """Keys, the year and the source; the date lists are checked by _parse_dates."""
    problems = []
    unknown = sorted(str(k) for k in data if k not in _YEAR_FILE_KEYS)
    if unknown:
        problems.append(f"unknown keys {unknown} (allowed: {sorted(_YEAR_FILE_KEYS)})")
    missing = sorted(_YEAR_FILE_KEYS - set(data))
    if missing:
        problems.append(f"missing keys {missing}")
    year = data.get("year")
    if "year" in data and (isinstance(year, bool) or not isinstance(year, int)):
        problems.append(f"year must be an integer, got {year!r}")
    elif isinstance(year, int) and not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}")
    source = data.get("source")
    if "source" in data and (not isinstance(source, str) or not source.strip()):
        problems.append("source must name the notice the dates come from (non-empty text)")
    elif isinstance(source, str) and len(source) > MAX_SOURCE_CHARS:
        problems.append(f"source is longer than {MAX_SOURCE_CHARS} characters")
    for key in ("holidays", "makeup_working_days"):
        if key in data and not isinstance(data[key], list):
            problems.append(f"{key} must be a list of YYYY-MM-DD dates")
    return problems


def _parse_dates(items: list[Any], key: str, problems: list[str]) -> list[date]:
    """Parse a list of dates; YAML hands unquoted dates over as ``date`` objects already."""
    if len(items) > MAX_DATES_PER_LIST:
        problems.append(f"{key} lists {len(items)} dates, more than {MAX_DATES_PER_LIST}")
        return []
    out: list[date] = []
    for item in items:
        if isinstance(item, date) and not isinstance(item, datetime):
            out.append(item)
        elif isinstance(item, str) and _ISO_DATE.fullmatch(item.strip()):
            try:
                out.append(date.fromisoformat(item.strip()))
            except ValueError:
                problems.append(f"{key}: {item!r} is not a real date")
        else:
            problems.append(f"{key}: {item!r} is not a YYYY-MM-DD date")
    duplicates = sorted({d for d in out if out.count(d) > 1})
    if duplicates:
        problems.append(f"{key}: listed twice: {[d.isoformat() for d in duplicates]}")
    return out


def _rule_problems(year: int, holidays: Iterable[date], makeup: Iterable[date]) -> list[str]:
    """The rules a year's data must satisfy, whatever its source."""
    holidays, makeup = list(holidays), list(makeup)
    problems = []
    for key, dates in (("holidays", holidays), ("makeup_working_days", makeup)):
        outside = [d.isoformat() for d in dates if d.year != year]
        if outside:
            problems.append(f"{key}: dates outside {year}: {outside}")
    both = sorted(set(holidays) & set(makeup))
    if both:
        problems.append(
            f"dates both a holiday and a makeup working day: {[d.isoformat() for d in both]}"
        )
    weekdays = [f"{d.isoformat()} ({_weekday_name(d)})" for d in makeup if d.weekday() < _SATURDAY]
    if weekdays:
        problems.append(f"makeup_working_days must be Saturdays or Sundays: {weekdays}")
    return problems


def read_year_file(path: Path) -> YearCalendar:
    """Read a YAML (.yaml/.yml) or JSON (.json) year file and validate it."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise CalendarFileError(f"{path}: year files must end in .yaml, .yml or .json")
    try:
        if path.stat().st_size > MAX_YEAR_FILE_BYTES:
            raise CalendarFileError(f"{path}: larger than {MAX_YEAR_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarFileError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CalendarFileError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    try:
        return YearCalendar.from_dict(data)
    except CalendarFileError as exc:
        raise CalendarFileError(f"{path}: {exc}") from exc


# --------------------------------------------------------------------------- package data


@cache  # the package's data is fixed for the life of the process
def package_years() -> tuple[int, ...]:
    """Years the chinesecalendar package knows (2004-2026 in 1.11.0)."""
    keys = chinese_calendar.holidays.keys()
    return tuple(range(min(keys).year, max(keys).year + 1))


@cache
def _package_version() -> str:
    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - installed under another name
        return "unknown"


def _package_year(year: int) -> YearCalendar:
    """The package's data for a year, in the same shape as a year file."""
    holidays = sorted(d for d in chinese_calendar.holidays if d.year == year)
    makeup = sorted(d for d in chinese_calendar.workdays if d.year == year)
    source = f"chinesecalendar {_package_version()} package (built-in data)"
    return YearCalendar(year, tuple(holidays), tuple(makeup), source)


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class YearSource:
    """Where one year's calendar comes from: an admin-loaded year file or the package."""

    calendar: YearCalendar
    origin: Literal["year_file", "package"]
    path: Path | None = None


class CalendarStore:
    """The directory of loaded year files, ``<dir>/<year>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, year: int) -> Path:
        return self.directory / f"{year}.json"

    def load_file(self, path: Path) -> YearCalendar:
        """Validate a year file and store it as normalised JSON, replacing that year's copy."""
        calendar = read_year_file(Path(path))
        self._write_atomically(self.path_for(calendar.year), calendar.to_json())
        return calendar

    def years(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return sorted(int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit())

    def _write_atomically(self, target: Path, text: str) -> None:
        # Write beside the target then rename: a running service never reads half a file.
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{target.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def default_calendar_dir() -> Path:
    """``$RURALFUND_CALENDAR_DIR`` if set, else ``./var/calendar``."""
    configured = os.environ.get(CALENDAR_DIR_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_CALENDAR_DIR


# --------------------------------------------------------------------------- calendar


# (inode, mtime, size): replacing a file always changes the inode, even within one mtime tick.
_FileKey = tuple[int, int, int]


class WorkingCalendar:
    """Working days from year files in ``year_files_dir`` (if any), else the package.

    Stored year files are re-read when they change, so a long-running service sees a
    newly loaded year without a restart.  ``None`` means package data only.
    """

    def __init__(self, year_files_dir: Path | None) -> None:
        self.year_files_dir = Path(year_files_dir) if year_files_dir is not None else None
        self._files: dict[int, tuple[_FileKey, YearCalendar]] = {}
        self._package: dict[int, YearCalendar] = {}

    @classmethod
    def default(cls) -> WorkingCalendar:
        return cls(default_calendar_dir())

    # -- sources

    def source_for_year(self, year: int) -> YearSource:
        """The year's data, from its year file if one is loaded, else from the package."""
        from_file = self._year_file(year)
        if from_file is not None:
            return from_file
        if year in package_years():
            if year not in self._package:
                self._package[year] = _package_year(year)
            return YearSource(self._package[year], "package")
        raise CalendarYearUnknown(year, self.year_files_dir)

    def known_years(self) -> list[int]:
        stored = CalendarStore(self.year_files_dir).years() if self.year_files_dir else []
        return sorted(set(package_years()) | set(stored))

    def _year_file(self, year: int) -> YearSource | None:
        if self.year_files_dir is None:
            return None
        path = CalendarStore(self.year_files_dir).path_for(year)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._files.pop(year, None)  # removed: fall back to the package
            return None
        key: _FileKey = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._files.get(year)
        if cached is None or cached[0] != key:
            cached = (key, self._read_stored(path, year))
            self._files[year] = cached
        return YearSource(cached[1], "year_file", path)

    @staticmethod
    def _read_stored(path: Path, year: int) -> YearCalendar:
        # A broken stored file is an error, never a silent fallback to the package.
        calendar = read_year_file(path)
        if calendar.year != year:
            raise CalendarFileError(f"{path}: holds year {calendar.year}, not {year}")
        return calendar

    # -- working days

    def is_working_day(self, d: date) -> bool:
        _require_date(d)
        return self.source_for_year(d.year).calendar.is_working_day(d)

    def next_working_day(self, d: date, include_self: bool = False) -> date:
        """The first working day after ``d`` (or ``d`` itself if allowed and working)."""
        day = _require_date(d) if include_self else _require_date(d) + _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (``d`` itself not counted); n < 0 goes back.

        ``add_working_days(d, 0) == d``.  Friday + 1 is the next Monday (if working);
        Saturday + 1 is also that Monday.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r}")
        if abs(n) > MAX_WORKING_DAYS_OFFSET:
            raise ValueError(f"|n| must be at most {MAX_WORKING_DAYS_OFFSET}, got {n}")
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        day, remaining = _require_date(d), abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``: after ``a``, up to and including ``b``.

        Negative when ``b < a`` (``-working_days_between(b, a)``).  For n >= 0,
        ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        if _require_date(b) < _require_date(a):
            return -self.working_days_between(b, a)
        count, day = 0, a
        while day < b:
            day += _ONE_DAY
            count += self.is_working_day(day)
        return count

    # -- publicity

    def publicity_window(
        self, published_on: date, working_days: int = PUBLICITY_WORKING_DAYS
    ) -> PublicityWindow:
        """Day 1 = publication day if working, else the next working day; ends after day N."""
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise TypeError(f"working_days must be an int, got {working_days!r}")
        if not 1 <= working_days <= MAX_WORKING_DAYS_OFFSET:
            raise ValueError(f"working_days must be 1..{MAX_WORKING_DAYS_OFFSET}")
        starts_on = self.next_working_day(published_on, include_self=True)
        ends_on = self.add_working_days(starts_on, working_days - 1)
        return PublicityWindow(starts_on, ends_on, ends_on + _ONE_DAY)

    def publicity_window_for_instant(
        self, published_at: datetime, working_days: int = PUBLICITY_WORKING_DAYS
    ) -> PublicityWindow:
        return self.publicity_window(local_date(published_at), working_days)


# --------------------------------------------------------------------------- publicity


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant must be timezone-aware (UTC), got naive {instant.isoformat()}")
    return instant


def local_date(instant: datetime) -> date:
    """The county's calendar day (Asia/Shanghai) of an aware instant."""
    return _require_aware(instant).astimezone(COUNTY_TZ).date()


def date_zh(day: date) -> str:
    """A day as people read it in Chinese text: ``2026年10月13日`` (no leading zeros); an
    instant (a datetime) is the county's day it falls on."""
    if isinstance(day, datetime):
        day = local_date(day)
    return f"{day.year}年{day.month}月{day.day}日"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=COUNTY_TZ)


@dataclass(frozen=True, slots=True)
class PublicityWindow:
    """Day 1 (``starts_on``), day N (``ends_on``) and the first payable day, all local dates."""

    starts_on: date
    ends_on: date
    payable_from: date

    def __post_init__(self) -> None:
        if not self.starts_on <= self.ends_on < self.payable_from:
            raise ValueError(f"window dates out of order: {self}")

    def starts_at(self) -> datetime:
        return _start_of(self.starts_on)

    def ends_at(self) -> datetime:
        """The end of ``ends_on`` = 00:00 Asia/Shanghai of ``payable_from``."""
        return _start_of(self.payable_from)

    def is_open(self, at: datetime) -> bool:
        """True from 00:00 of day 1 until (excluding) ``ends_at()``.

        Whether an objection filed after publication but before day 1 (a notice published on
        a Saturday) is accepted is the caller's decision; the window itself starts on day 1.
        """
        return self.starts_at() <= _require_aware(at) < self.ends_at()

    def is_payable(self, at: datetime) -> bool:
        return _require_aware(at) >= self.ends_at()

    def to_dict(self) -> dict[str, str]:
        return {
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "payable_from": self.payable_from.isoformat(),
        }


# --------------------------------------------------------------------------- module level

_default_calendars: dict[Path, WorkingCalendar] = {}


def default_calendar() -> WorkingCalendar:
    """The calendar over :func:`default_calendar_dir`, one instance per directory."""
    directory = default_calendar_dir()
    if directory not in _default_calendars:
        _default_calendars[directory] = WorkingCalendar(directory)
    return _default_calendars[directory]


def _cal(calendar: WorkingCalendar | None) -> WorkingCalendar:
    return calendar if calendar is not None else default_calendar()


def is_working_day(d: date, *, calendar: WorkingCalendar | None = None) -> bool:
    return _cal(calendar).is_working_day(d)


def next_working_day(
    d: date, include_self: bool = False, *, calendar: WorkingCalendar | None = None
) -> date:
    return _cal(calendar).next_working_day(d, include_self)


def add_working_days(d: date, n: int, *, calendar: WorkingCalendar | None = None) -> date:
    return _cal(calendar).add_working_days(d, n)


def working_days_between(a: date, b: date, *, calendar: WorkingCalendar | None = None) -> int:
    return _cal(calendar).working_days_between(a, b)


def publicity_window(
    published_on: date,
    working_days: int = PUBLICITY_WORKING_DAYS,
    *,
    calendar: WorkingCalendar | None = None,
) -> PublicityWindow:
    return _cal(calendar).publicity_window(published_on, working_days)


def publicity_window_for_instant(
    published_at: datetime,
    working_days: int = PUBLICITY_WORKING_DAYS,
    *,
    calendar: WorkingCalendar | None = None,
) -> PublicityWindow:
    return _cal(calendar).publicity_window_for_instant(published_at, working_days)
