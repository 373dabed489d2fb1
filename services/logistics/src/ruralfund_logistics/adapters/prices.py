"""asyncpg SQL for price schedules and bands, baselines and certified shippers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import asyncpg

from ..domain import (
    PRICE_TARGETS,
    CertifiedShipper,
    PriceBaseline,
    PriceSchedule,
    PriceTarget,
    WeightBand,
)
from .repository import execute_refusing_duplicates

__all__ = ["PriceStore"]

# constraint -> the refusal it stands for, when a concurrent request won the race
_UNIQUE_REFUSALS: Final[dict[str, tuple[str, str]]] = {
    "price_schedules_carrier_id_version_key": (
        "PRICE_PUBLISHED_CONCURRENTLY",
        "another version was published at the same time; reload and publish again",
    ),
    "price_baselines_pkey": (
        "BASELINE_SET_CONCURRENTLY",
        "the baseline was changed at the same time; reload and try again",
    ),
    "certified_shippers_active_once": (
        "SHIPPER_ALREADY_CERTIFIED",
        "this enterprise is already certified",
    ),
}


def _target(code: str, reduction_bp: int) -> PriceTarget:
    known = PRICE_TARGETS.get(code)
    # a stored baseline keeps the target it was set with, even if the table of targets changes
    return (
        known
        if known and known.reduction_bp == reduction_bp
        else PriceTarget(code, reduction_bp, "")
    )


def _baseline(r: Mapping[str, Any]) -> PriceBaseline:
    return PriceBaseline(
        county_code=r["county_code"],
        revision=r["revision"],
        target=_target(r["target_code"], r["target_reduction_bp"]),
        reference_weight_g=r["reference_weight_g"],
        price_fen=r["price_fen"],
        measured=r["measured"],
        correction_reason=r["correction_reason"],
        set_by=r["set_by"],
        set_at=r["set_at"],
    )


def _shipper(r: Mapping[str, Any]) -> CertifiedShipper:
    return CertifiedShipper(
        id=str(r["id"]),
        center_id=str(r["center_id"]),
        credit_code=r["credit_code"],
        name=r["name"],
        certified_on=r["certified_on"],
        revoked_on=r["revoked_on"],
        revoke_reason=r["revoke_reason"],
    )


class PriceStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def _execute(self, sql: str, *args: Any) -> None:
        await execute_refusing_duplicates(self.conn, _UNIQUE_REFUSALS, sql, *args)

    # -- schedules -------------------------------------------------------------------------
    async def schedules(self, carrier_ids: list[str]) -> dict[str, list[PriceSchedule]]:
        """Every version of each carrier's prices, oldest first."""
        rows = await self.conn.fetch(
            "SELECT s.*, b.position, b.up_to_g, b.min_fen, b.max_fen FROM price_schedules s "
            "JOIN price_bands b ON b.schedule_id = s.id WHERE s.carrier_id = ANY($1::uuid[]) "
            "ORDER BY s.carrier_id, s.version, b.position",
            [uuid.UUID(c) for c in carrier_ids],
        )
        bands: dict[str, list[WeightBand]] = {}
        heads: dict[str, Mapping[str, Any]] = {}
        for r in rows:
            sid = str(r["id"])
            heads.setdefault(sid, r)
            bands.setdefault(sid, []).append(WeightBand(r["up_to_g"], r["min_fen"], r["max_fen"]))
        out: dict[str, list[PriceSchedule]] = {c: [] for c in carrier_ids}
        for sid, r in heads.items():
            out[str(r["carrier_id"])].append(
                PriceSchedule(
                    id=sid,
                    carrier_id=str(r["carrier_id"]),
                    version=r["version"],
                    effective_from=r["effective_from"],
                    bands=tuple(bands[sid]),
                    note=r["note"],
                    published_by=r["published_by"],
                    published_at=r["published_at"],
                )
            )
        return out

    async def add_schedule(self, s: PriceSchedule) -> None:
        await self._execute(
            "INSERT INTO price_schedules (id, carrier_id, version, effective_from, note, published_by, "
            "published_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            uuid.UUID(s.id),
            uuid.UUID(s.carrier_id),
            s.version,
            s.effective_from,
            s.note,
            s.published_by,
            s.published_at,
        )
        await self.conn.execute(
            "INSERT INTO price_bands (schedule_id, position, up_to_g, min_fen, max_fen) "
            "SELECT $1, u.* FROM unnest($2::int[], $3::int[], $4::bigint[], $5::bigint[]) AS u",
            uuid.UUID(s.id),
            list(range(len(s.bands))),
            [b.up_to_g for b in s.bands],
            [b.min_fen for b in s.bands],
            [b.max_fen for b in s.bands],
        )

    # -- baselines -------------------------------------------------------------------------
    async def baselines(self, county_code: str) -> list[PriceBaseline]:
        rows = await self.conn.fetch(
            "SELECT * FROM price_baselines WHERE county_code = $1 ORDER BY revision", county_code
        )
        return [_baseline(r) for r in rows]

    async def add_baseline(self, b: PriceBaseline) -> None:
        await self._execute(
            "INSERT INTO price_baselines (county_code, revision, target_code, target_reduction_bp, "
            "reference_weight_g, price_fen, measured, correction_reason, set_by, set_at) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            b.county_code,
            b.revision,
            b.target.code,
            b.target.reduction_bp,
            b.reference_weight_g,
            b.price_fen,
            b.measured,
            b.correction_reason,
            b.set_by,
            b.set_at,
        )

    # -- certified shippers ------------------------------------------------------------------
    async def shippers(self, center_id: str) -> list[CertifiedShipper]:
        rows = await self.conn.fetch(
            "SELECT * FROM certified_shippers WHERE center_id = $1 ORDER BY certified_on, name, id",
            uuid.UUID(center_id),
        )
        return [_shipper(r) for r in rows]

    async def shipper(self, shipper_id: str, *, lock: bool = False) -> CertifiedShipper | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM certified_shippers WHERE id = $1" + (" FOR UPDATE" if lock else ""),
            uuid.UUID(shipper_id),
        )
        return _shipper(row) if row else None

    async def add_shipper(
        self, s: CertifiedShipper, *, created_at: datetime, created_by: str
    ) -> None:
        await self._execute(
            "INSERT INTO certified_shippers (id, center_id, credit_code, name, certified_on, created_at, "
            "created_by) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            uuid.UUID(s.id),
            uuid.UUID(s.center_id),
            s.credit_code,
            s.name,
            s.certified_on,
            created_at,
            created_by,
        )

    async def save_revocation(self, s: CertifiedShipper) -> None:
        await self.conn.execute(
            "UPDATE certified_shippers SET revoked_on = $2, revoke_reason = $3 WHERE id = $1",
            uuid.UUID(s.id),
            s.revoked_on,
            s.revoke_reason,
        )
