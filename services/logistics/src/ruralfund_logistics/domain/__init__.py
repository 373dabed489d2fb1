"""Logistics domain: the station network, monthly volumes and award tiers, center coverage.

Pure: no I/O, no asyncio, no web or database imports (import-linter enforces it).
"""

from .access import Actor, check_may_read_station, check_may_report_volume
from .coverage import (
    XINPING_CENTER_TARGETS,
    CarrierKind,
    CenterCarrier,
    CoverageReport,
    CoverageTargets,
    RetailPartnership,
    TargetFigure,
    carrier_leaves,
    coverage,
    end_partnership,
    settle_carrier,
    start_partnership,
)
from .network import (
    GeoPoint,
    Station,
    StationDraft,
    StationStatus,
    Tier,
    close_station,
    register_station,
)
from .volumes import (
    XINPING_STATION_AWARD_RULE,
    XINPING_STATION_AWARD_TIERS,
    AnnualTotal,
    AwardTier,
    ReportMonth,
    VolumeReport,
    VolumeSubmission,
    accept_report,
    annual_total,
    parse_volume_fen,
    station_award_tier,
)

__all__ = [
    "XINPING_CENTER_TARGETS",
    "XINPING_STATION_AWARD_RULE",
    "XINPING_STATION_AWARD_TIERS",
    "Actor",
    "AnnualTotal",
    "AwardTier",
    "CarrierKind",
    "CenterCarrier",
    "CoverageReport",
    "CoverageTargets",
    "GeoPoint",
    "ReportMonth",
    "RetailPartnership",
    "Station",
    "StationDraft",
    "StationStatus",
    "TargetFigure",
    "Tier",
    "VolumeReport",
    "VolumeSubmission",
    "accept_report",
    "annual_total",
    "carrier_leaves",
    "check_may_read_station",
    "check_may_report_volume",
    "close_station",
    "coverage",
    "end_partnership",
    "parse_volume_fen",
    "register_station",
    "settle_carrier",
    "start_partnership",
    "station_award_tier",
]
