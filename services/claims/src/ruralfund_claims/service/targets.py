"""Performance targets (绩效目标) with the actual value each one's measure gives: approved
claims, logistics' station volumes, or what service contracts report."""

from __future__ import annotations

from typing import Final

import asyncpg
from ruralfund_common.clock import Clock
from ruralfund_common.contracts import StationRegistered
from ruralfund_common.messaging import Tx
from ruralfund_common.money import format_yuan

from ..adapters import targets as repo
from ..domain.program import Program
from ..domain.targets import Target, is_met
from ..views import ProgramTargetsOut, TargetOut
from .programs import load_program

__all__ = ["program_targets", "record_station"]

_SOURCES: Final = {
    "none": "not measured by this system",
    "approved_claims": "approved claims under {items}",
    "approved_claim_units": "units of approved claims under {items}",
    "approved_claim_enterprises": "enterprises with an approved claim under {items}",
    "approved_claim_identities": "distinct bases (and enterprises) approved under {items}",
    "stations_in_band": "stations of the county with an annual volume in {band} (logistics)",
    "contract_deliverables": "{deliverables} reported by the service contracts of {items}",
}


async def program_targets(conn: asyncpg.Connection, code: str, clock: Clock) -> ProgramTargetsOut:
    program = await load_program(conn, code)
    targets = [await _target_out(conn, program, t) for t in program.targets]
    return ProgramTargetsOut(program_code=program.code, measured_at=clock.now(), targets=targets)


async def _target_out(conn: asyncpg.Connection, program: Program, t: Target) -> TargetOut:
    actual = await _actual(conn, program, t)
    return TargetOut(
        code=t.code,
        name=t.name,
        unit=t.unit,
        comparison=t.bound.comparison,
        target_value=t.bound.value,
        target=t.bound.text(),
        measure=t.measure,
        source=_source(t),
        actual_value=actual,
        met=is_met(t.bound, actual) if t.measure != "none" else None,
        item_codes=list(t.item_codes),
        deliverables=list(t.deliverables),
    )


async def _actual(conn: asyncpg.Connection, program: Program, t: Target) -> int | None:
    items = list(t.item_codes)
    match t.measure:
        case "approved_claims":
            return await repo.approved_claims(conn, program.code, items)
        case "approved_claim_units":
            return await repo.approved_claim_units(conn, program.code, items)
        case "approved_claim_enterprises":
            return await repo.approved_claim_enterprises(conn, program.code, items)
        case "approved_claim_identities":
            return await repo.approved_claim_identities(conn, program.code, items)
        case "stations_in_band":
            assert t.band_min_fen is not None  # the program check requires it
            return await repo.stations_in_band(
                conn, program.county_code, t.band_min_fen, t.band_below_fen
            )
        case "contract_deliverables":
            worst_of = t.bound.comparison == "at_most"
            return await repo.contract_deliverable_total(
                conn, program.code, items, list(t.deliverables), worst_of=worst_of
            )
    return None


def _source(t: Target) -> str:
    band = f"[{format_yuan(t.band_min_fen or 0)}, " + (
        f"{format_yuan(t.band_below_fen)})" if t.band_below_fen is not None else "∞)"
    )
    return _SOURCES[t.measure].format(
        items=", ".join(t.item_codes), deliverables=", ".join(t.deliverables), band=band
    )


async def record_station(tx: Tx, event: StationRegistered) -> None:
    await repo.upsert_station(
        tx.conn,
        {
            "station_id": event.station_id,
            "name": event.name,
            "tier": event.tier,
            "county_code": event.county_code,
            "operator_credit_code": event.operator_credit_code,
            "updated_at": tx.clock.now(),
        },
    )
