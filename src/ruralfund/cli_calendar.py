"""`ruralfund calendar ...`: working-day calendar administration and publicity windows.

Exit codes: 0 success; 1 an invalid year file (``load``); 2 bad input or a year the
calendar does not know (CALENDAR_YEAR_UNKNOWN), so scripts can tell "fix your input /
load the year" apart from success.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from ruralfund_common.calendar import (
    PUBLICITY_WORKING_DAYS,
    CalendarFileError,
    CalendarStore,
    CalendarYearUnknown,
    WorkingCalendar,
    YearSource,
    default_calendar_dir,
    package_years,
)

__all__ = ["app"]

EXIT_INVALID_FILE = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="calendar",
    help="China's working days (holidays, makeup working days) and 公示 publicity windows.",
    no_args_is_help=True,
    add_completion=False,  # a sub-app: completion belongs to the main `ruralfund` CLI
)

CalendarDirOption = Annotated[
    Path | None,
    typer.Option(
        "--calendar-dir",
        help="Directory of loaded year files (default: $RURALFUND_CALENDAR_DIR, else ./var/calendar).",
        file_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _calendar_dir(option: Path | None) -> Path:
    return option if option is not None else default_calendar_dir()


def _fail(code: str, message: str, *, as_json: bool, exit_code: int) -> NoReturn:
    # JSON errors go to stdout so a script reading stdout always gets one JSON document.
    if as_json:
        typer.echo(json.dumps({"code": code, "message": message}, ensure_ascii=False))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(exit_code)


def _parse_date(text: str, *, as_json: bool) -> date:
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        _fail(
            "INVALID_DATE",
            f"--published-on must be a real date written YYYY-MM-DD, got {text!r}",
            as_json=as_json,
            exit_code=EXIT_BAD_INPUT,
        )


def _day(d: date) -> str:
    return f"{d.isoformat()} ({_WEEKDAYS[d.weekday()]})"


@app.command("publicity-window")
def publicity_window_command(
    published_on: Annotated[
        str, typer.Option("--published-on", help="Publication date, YYYY-MM-DD (Asia/Shanghai).")
    ],
    as_json: JsonOption = False,
    calendar_dir: CalendarDirOption = None,
) -> None:
    """Day 1, day 5 and the first payable day of a 5-working-day publicity (公示)."""
    published = _parse_date(published_on, as_json=as_json)
    calendar = WorkingCalendar(_calendar_dir(calendar_dir))
    try:
        window = calendar.publicity_window(published)
    except CalendarYearUnknown as exc:
        _fail(exc.code, exc.message, as_json=as_json, exit_code=EXIT_BAD_INPUT)
    except CalendarFileError as exc:  # a stored year file was damaged by hand
        _fail("CALENDAR_FILE_INVALID", str(exc), as_json=as_json, exit_code=EXIT_INVALID_FILE)
    if as_json:
        typer.echo(json.dumps(window.to_dict()))
        return
    typer.echo(
        f"Publicity of a notice published on {_day(published)}: "
        f"{PUBLICITY_WORKING_DAYS} working days, Asia/Shanghai"
    )
    typer.echo(f"  公示开始 starts_on     {_day(window.starts_on)}  (day 1)")
    typer.echo(
        f"  公示截止 ends_on       {_day(window.ends_on)}  "
        f"(day {PUBLICITY_WORKING_DAYS}, ends {window.ends_at().isoformat()})"
    )
    typer.echo(f"  可以支付 payable_from  {_day(window.payable_from)}  (from 00:00)")


@app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="Year file, .yaml/.yml or .json.")],
    calendar_dir: CalendarDirOption = None,
) -> None:
    """Validate a year file (holidays, makeup working days) and store it for all services."""
    store = CalendarStore(_calendar_dir(calendar_dir))
    previously_stored = set(store.years())
    try:
        loaded = store.load_file(file)
    except CalendarFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_FILE) from None
    typer.echo(
        f"Loaded {loaded.year}: {len(loaded.holidays)} holidays, "
        f"{len(loaded.makeup_working_days)} makeup working days -> {store.path_for(loaded.year)}"
    )
    typer.echo(f"  source: {loaded.source}")
    if loaded.year in previously_stored:
        typer.echo(f"  note: replaced the previously loaded {loaded.year} year file")
    if loaded.year in package_years():
        typer.echo(f"  note: overrides the chinesecalendar package's data for {loaded.year}")


def _source_text(source: YearSource) -> str:
    if source.origin == "year_file":
        return f"year file {source.path} ({source.calendar.source})"
    return source.calendar.source


def _show_dict(source: YearSource) -> dict[str, Any]:
    out = source.calendar.to_dict()
    out["origin"] = source.origin
    out["path"] = str(source.path) if source.path else None
    return out


@app.command("show")
def show_command(
    year: Annotated[int, typer.Argument(help="Calendar year, e.g. 2026.")],
    as_json: JsonOption = False,
    calendar_dir: CalendarDirOption = None,
) -> None:
    """List a year's holidays and makeup working days, and where they come from."""
    calendar = WorkingCalendar(_calendar_dir(calendar_dir))
    try:
        source = calendar.source_for_year(year)
    except CalendarYearUnknown as exc:
        _fail(exc.code, exc.message, as_json=as_json, exit_code=EXIT_BAD_INPUT)
    except CalendarFileError as exc:
        _fail("CALENDAR_FILE_INVALID", str(exc), as_json=as_json, exit_code=EXIT_INVALID_FILE)
    if as_json:
        typer.echo(json.dumps(_show_dict(source), ensure_ascii=False))
        return
    cal = source.calendar
    typer.echo(f"{cal.year} — source: {_source_text(source)}")
    typer.echo(f"节假日 holidays ({len(cal.holidays)}):")
    for d in cal.holidays:
        typer.echo(f"  {_day(d)}")
    typer.echo(f"调休上班 makeup working days ({len(cal.makeup_working_days)}):")
    for d in cal.makeup_working_days:
        typer.echo(f"  {_day(d)}")
