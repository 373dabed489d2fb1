"""Monthly transaction volumes of stations, their annual totals and the Xinping award tier.

One report per station-month. A correction is a new revision with a reason; reports are
never edited, so the history of what was declared stays auditable and the annual total is
the sum of each month's latest revision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Final

from ruralfund_common.calendar import date_zh
from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import FEN_PER_YUAN, parse_yuan, yuan_zh

from .network import Station

__all__ = [
    "MAX_CORRECTION_REASON_CHARS",
    "MAX_MONTH_PARCELS",
    "MAX_MONTH_VOLUME_FEN",
    "MAX_REPORT_YEAR",
    "MIN_REPORT_YEAR",
    "XINPING_STATION_AWARD_RULE",
    "XINPING_STATION_AWARD_TIERS",
    "AnnualTotal",
    "AwardTier",
    "ReportMonth",
    "VolumeReport",
    "VolumeSubmission",
    "accept_report",
    "annual_total",
    "parse_volume_fen",
    "station_award_tier",
]

MIN_REPORT_YEAR: Final = 2014  # the first national demonstration counties were named in 2014
MAX_REPORT_YEAR: Final = 2100
# Far above any county station (the top Xinping tier is 5 M yuan a *year*), and twelve of
# them still fit a bigint: a bound that catches unit slips, not real business.
MAX_MONTH_VOLUME_FEN: Final = 10_000_000_000 * FEN_PER_YUAN
MAX_MONTH_PARCELS: Final = 100_000_000
MAX_CORRECTION_REASON_CHARS: Final = 500


@dataclass(frozen=True, order=True)
class ReportMonth:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not MIN_REPORT_YEAR <= self.year <= MAX_REPORT_YEAR:
            raise InvalidInput(
                "VOLUME_PERIOD_INVALID",
                f"year must be {MIN_REPORT_YEAR}..{MAX_REPORT_YEAR}",
                field="year",
                detail_zh=f"年份须在 {MIN_REPORT_YEAR} 至 {MAX_REPORT_YEAR} 之间。",
            )
        if not 1 <= self.month <= 12:
            raise InvalidInput("VOLUME_PERIOD_INVALID", "month must be 1..12", field="month",
                detail_zh="月份须在 1 至 12 之间。")

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


def parse_volume_fen(volume: str | None, volume_fen: int | None) -> int:
    """The month's volume in fen from exactly one of ``volume`` (yuan as text, "412,345.60")
    or ``volume_fen`` (an integer). Floats never get here: they are refused at the edge."""
    if (volume is None) == (volume_fen is None):
        raise InvalidInput(
            "VOLUME_AMOUNT_INVALID",
            "give exactly one of volume (yuan text) or volume_fen",
            field="volume",
            detail_zh="请给出交易额（volume，以元为单位的文字）或 volume_fen（以分为单位的整数）中的一项，且只给一项。",
        )
    field = "volume" if volume is not None else "volume_fen"
    if volume is not None:
        try:
            fen = parse_yuan(volume)
        except (ValueError, OverflowError, TypeError) as exc:
            raise InvalidInput("VOLUME_AMOUNT_INVALID", str(exc), field=field,
                detail_zh=f"“{field}”不是有效的元金额（如 412,345.60，最多两位小数）。") from None
    else:
        assert volume_fen is not None
        if isinstance(volume_fen, bool) or not isinstance(volume_fen, int):
            raise InvalidInput(
                "VOLUME_AMOUNT_INVALID", "volume_fen must be an integer", field=field,
                detail_zh="“volume_fen”须为整数（以分为单位）。",
            )
        fen = volume_fen
    if fen < 0:
        raise InvalidInput("VOLUME_AMOUNT_INVALID", "a volume cannot be negative", field=field,
            detail_zh="交易额不能为负数。")
    if fen > MAX_MONTH_VOLUME_FEN:
        raise InvalidInput(
            "VOLUME_AMOUNT_INVALID",
            f"a month's volume above {MAX_MONTH_VOLUME_FEN} fen is not plausible",
            field=field,
            detail_zh=f"单月交易额超过 {yuan_zh(MAX_MONTH_VOLUME_FEN)}，不合常理，请核对。",
        )
    return fen


@dataclass(frozen=True)
class VolumeSubmission:
    period: ReportMonth
    volume_fen: int
    parcels: int
    correction_reason: str | None = None


@dataclass(frozen=True)
class VolumeReport:
    id: str
    station_id: str
    period: ReportMonth
    revision: int
    volume_fen: int
    parcels: int
    correction_reason: str | None
    reported_by: str
    reported_at: datetime


def _check_figures(s: VolumeSubmission) -> None:
    if not 0 <= s.volume_fen <= MAX_MONTH_VOLUME_FEN:
        raise InvalidInput("VOLUME_AMOUNT_INVALID", "volume out of range", field="volume_fen",
            detail_zh=f"交易额须在 0 至 {yuan_zh(MAX_MONTH_VOLUME_FEN)} 之间。")
    if not 0 <= s.parcels <= MAX_MONTH_PARCELS:
        raise InvalidInput(
            "VOLUME_PARCELS_INVALID", f"parcels must be 0..{MAX_MONTH_PARCELS}", field="parcels",
            detail_zh=f"包裹数须在 0 至 {MAX_MONTH_PARCELS:,} 之间。",
        )


def _check_period(station: Station, period: ReportMonth, today: date) -> None:
    if today < period.next_first_day:
        raise InvalidInput("VOLUME_MONTH_NOT_ENDED", f"{period} has not ended yet", field="month",
            detail_zh=f"{period.first_day.year}年{period.first_day.month}月尚未结束，月末之后方可报告。")
    if period.next_first_day <= station.opened_on:
        raise InvalidInput(
            "VOLUME_BEFORE_OPENING",
            f"the station opened on {station.opened_on}, after {period}",
            field="month",
            detail_zh=f"站点于{date_zh(station.opened_on)}启用，晚于{period.first_day.year}年{period.first_day.month}月。",
        )
    if station.closed_on is not None and period.first_day > station.closed_on:
        raise Conflict(
            "STATION_CLOSED",
            f"the station closed on {station.closed_on}, before {period}",
            field="month",
            detail_zh=f"站点已于{date_zh(station.closed_on)}关闭，早于{period.first_day.year}年{period.first_day.month}月。",
        )


def _correction_reason(submitted: str | None, current: VolumeReport | None) -> str | None:
    reason = submitted.strip() if submitted is not None else None
    if reason is not None and not 0 < len(reason) <= MAX_CORRECTION_REASON_CHARS:
        raise InvalidInput(
            "VOLUME_CORRECTION_REASON_INVALID",
            f"correction_reason must be 1..{MAX_CORRECTION_REASON_CHARS} characters",
            field="correction_reason",
            detail_zh=f"更正理由须为 1 至 {MAX_CORRECTION_REASON_CHARS} 个字符。",
        )
    if current is None and reason is not None:
        raise InvalidInput(
            "VOLUME_NOTHING_TO_CORRECT",
            "this month was never reported: send it without correction_reason",
            field="correction_reason",
            detail_zh="该月尚未报告过：首次报告请不要填写更正理由（correction_reason）。",
        )
    if current is not None and reason is None:
        raise Conflict(
            "VOLUME_ALREADY_REPORTED",
            f"{current.period} was already reported; a correction needs correction_reason",
            field="correction_reason",
            details={"revision": current.revision, "volume_fen": current.volume_fen},
            detail_zh=f"{current.period.first_day.year}年{current.period.first_day.month}月已报告（第 {current.revision} 版，交易额 {yuan_zh(current.volume_fen)}）；更正须填写更正理由（correction_reason）。",
        )
    return reason


def accept_report(
    station: Station,
    submission: VolumeSubmission,
    *,
    current: VolumeReport | None,
    today: date,
    report_id: str,
    reported_by: str,
    reported_at: datetime,
) -> VolumeReport:
    """The next revision of the station's report for a month, or a refusal. ``current`` is the
    latest revision already stored for that month, ``today`` the county's date."""
    assert current is None or (
        current.station_id == station.id and current.period == submission.period
    )
    _check_figures(submission)
    _check_period(station, submission.period, today)
    reason = _correction_reason(submission.correction_reason, current)
    if current is not None and (current.volume_fen, current.parcels) == (
        submission.volume_fen,
        submission.parcels,
    ):
        raise InvalidInput(
            "VOLUME_CORRECTION_UNCHANGED",
            "the correction repeats the figures already reported",
            field="volume",
            detail_zh="更正的数据与已报告的完全相同，无需更正。",
        )
    return VolumeReport(
        id=report_id,
        station_id=station.id,
        period=submission.period,
        revision=1 if current is None else current.revision + 1,
        volume_fen=submission.volume_fen,
        parcels=submission.parcels,
        correction_reason=reason,
        reported_by=reported_by,
        reported_at=reported_at,
    )


@dataclass(frozen=True)
class AnnualTotal:
    year: int
    volume_fen: int
    parcels: int
    months_reported: tuple[int, ...]


def annual_total(year: int, reports: Iterable[VolumeReport]) -> AnnualTotal:
    """The year's totals from each month's latest revision; other years are ignored."""
    latest: dict[int, VolumeReport] = {}
    for r in reports:
        if r.period.year != year:
            continue
        seen = latest.get(r.period.month)
        assert seen is None or seen.revision != r.revision, (
            f"two revision {r.revision} reports for {r.period}"
        )
        if seen is None or r.revision > seen.revision:
            latest[r.period.month] = r
    return AnnualTotal(
        year=year,
        volume_fen=sum(r.volume_fen for r in latest.values()),
        parcels=sum(r.parcels for r in latest.values()),
        months_reported=tuple(sorted(latest)),
    )


@dataclass(frozen=True)
class AwardTier:
    min_annual_volume_fen: int
    award_fen: int


# Xinping 2021 follow-up, line 2 item 1 (电商（快递）服务站点提升): "年交易额500万元以上 8万 ...
# 20万元以上 2万"; attachment 1 reads the thresholds as inclusive ("含500万元"). Highest first.
XINPING_STATION_AWARD_RULE: Final = (
    "xinping-2021 line 2 item 1: station award by annual transaction volume"
)
XINPING_STATION_AWARD_TIERS: Final = (
    AwardTier(min_annual_volume_fen=5_000_000 * FEN_PER_YUAN, award_fen=80_000 * FEN_PER_YUAN),
    AwardTier(min_annual_volume_fen=1_000_000 * FEN_PER_YUAN, award_fen=50_000 * FEN_PER_YUAN),
    AwardTier(min_annual_volume_fen=500_000 * FEN_PER_YUAN, award_fen=30_000 * FEN_PER_YUAN),
    AwardTier(min_annual_volume_fen=200_000 * FEN_PER_YUAN, award_fen=20_000 * FEN_PER_YUAN),
)


def station_award_tier(
    annual_volume_fen: int, tiers: tuple[AwardTier, ...] = XINPING_STATION_AWARD_TIERS
) -> AwardTier | None:
    """The single highest tier the annual volume reaches (thresholds inclusive), or None."""
    assert all(a.min_annual_volume_fen > b.min_annual_volume_fen for a, b in pairwise(tiers)), (
        "tiers unsorted"
    )
    if annual_volume_fen < 0:
        raise ValueError("annual volume cannot be negative")
    return next((t for t in tiers if annual_volume_fen >= t.min_annual_volume_fen), None)
