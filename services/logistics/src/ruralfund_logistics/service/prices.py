"""Price use cases: carriers publish range prices, the public board and its history, the
county's baseline and the price target, and the certified e-commerce enterprises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import asyncpg
from ruralfund_common.auth import Role
from ruralfund_common.errors import NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import require_no_conflict_of_interest

from .. import domain
from ..adapters.prices import PriceStore
from ..adapters.repository import Repository
from ..domain import (
    Actor,
    CenterCarrier,
    CertifiedShipper,
    PriceBaseline,
    PriceIndicator,
    PriceQuote,
    PriceSchedule,
    Station,
    WeightBand,
)
from .network import NETWORK_ADMIN_ROLES, _today

__all__ = [
    "PRICE_PUBLISHER_ROLES",
    "BandInput",
    "CarrierPrices",
    "PriceBoard",
    "PriceTargetReport",
    "certify_shipper",
    "price_board",
    "price_history",
    "price_target_report",
    "publish_prices",
    "revoke_shipper",
    "set_price_baseline",
]

# Carriers publish their own prices (an enterprise whose credit code is the carrier's).
PRICE_PUBLISHER_ROLES: Final = NETWORK_ADMIN_ROLES | {Role.ENTERPRISE}


@dataclass(frozen=True)
class BandInput:
    up_to_g: int
    min_price: str  # yuan as text: "3.50"
    max_price: str


async def _carrier_at(repo: Repository, center_id: str, carrier_id: str) -> CenterCarrier:
    # FOR UPDATE: a carrier's versions are numbered one after the other
    carrier = await repo.carrier(carrier_id, lock="update")
    if carrier is None or carrier.center_id != center_id:
        raise NotFound("CARRIER_NOT_FOUND", f"no carrier {carrier_id} at station {center_id}",
            detail_zh=f"站点 {center_id} 没有编号为 {carrier_id} 的快递企业。")
    return carrier


def _bands(given: Sequence[BandInput]) -> list[WeightBand]:
    return [
        WeightBand(
            b.up_to_g,
            domain.parse_price_fen(b.min_price, f"bands[{i}].min_price"),
            domain.parse_price_fen(b.max_price, f"bands[{i}].max_price"),
        )
        for i, b in enumerate(given)
    ]


async def publish_prices(
    tx: Tx,
    actor: Actor,
    center_id: str,
    carrier_id: str,
    *,
    bands: Sequence[BandInput],
    effective_from: date,
    note: str | None,
) -> tuple[CenterCarrier, PriceSchedule]:
    repo, store = Repository(tx.conn), PriceStore(tx.conn)
    carrier = await _carrier_at(repo, center_id, carrier_id)
    domain.check_may_publish_prices(actor, carrier)
    versions = (await store.schedules([carrier.id]))[carrier.id]
    schedule = domain.publish_schedule(
        carrier,
        bands=_bands(bands),
        effective_from=effective_from,
        note=note,
        current=versions[-1] if versions else None,
        today=_today(tx),
        schedule_id=new_id(),
        published_by=actor.subject,
        published_at=tx.clock.now(),
    )
    await store.add_schedule(schedule)
    return carrier, schedule


async def _center_or_404(conn: asyncpg.Connection, county_code: str) -> Station:
    center = await Repository(conn).active_center(county_code)
    if center is None:
        raise NotFound(
            "COUNTY_CENTER_NOT_FOUND", f"county {county_code} has no active logistics center",
            detail_zh=f"县 {county_code} 尚无在用的县级物流配送中心。",
        )
    return center


@dataclass(frozen=True)
class CarrierPrices:
    carrier: CenterCarrier
    in_force: PriceSchedule | None
    upcoming: list[PriceSchedule]  # published, applying later


@dataclass(frozen=True)
class PriceBoard:
    center: Station
    as_of: date
    carriers: list[CarrierPrices]
    shippers: list[CertifiedShipper]  # certified on as_of


async def price_board(conn: asyncpg.Connection, county_code: str, *, as_of: date) -> PriceBoard:
    """What every carrier settled in the county center charges certified enterprises on a day."""
    center = await _center_or_404(conn, county_code)
    carriers = [c for c in await Repository(conn).carriers(center.id) if c.present_on(as_of)]
    store = PriceStore(conn)
    versions = await store.schedules([c.id for c in carriers])
    board = [
        CarrierPrices(
            c,
            domain.schedule_in_force(versions[c.id], as_of),
            [v for v in versions[c.id] if v.effective_from > as_of],
        )
        for c in carriers
    ]
    shippers = [s for s in await store.shippers(center.id) if s.active_on(as_of)]
    return PriceBoard(center, as_of, board, shippers)


async def price_history(
    conn: asyncpg.Connection, county_code: str, *, carrier_id: str | None
) -> list[tuple[CenterCarrier, PriceSchedule]]:
    """Every version ever published at the county's center, newest first."""
    center = await _center_or_404(conn, county_code)
    carriers = {c.id: c for c in await Repository(conn).carriers(center.id)}
    if carrier_id is not None:
        if carrier_id not in carriers:
            raise NotFound("CARRIER_NOT_FOUND", f"no carrier {carrier_id} at the county center",
                detail_zh=f"县级物流配送中心没有编号为 {carrier_id} 的快递企业。")
        carriers = {carrier_id: carriers[carrier_id]}
    versions = await PriceStore(conn).schedules(list(carriers))
    found = [(carriers[cid], v) for cid, vs in versions.items() for v in vs]
    return sorted(found, key=lambda cv: (cv[1].published_at, cv[1].version), reverse=True)


async def set_price_baseline(
    tx: Tx,
    actor: Actor,
    county_code: str,
    *,
    target: str,
    reference_weight_g: int,
    price: str,
    measured: str,
    correction_reason: str | None,
) -> PriceBaseline:
    store = PriceStore(tx.conn)
    history = await store.baselines(county_code)
    baseline = domain.new_baseline(
        county_code=county_code,
        target_code=target,
        reference_weight_g=reference_weight_g,
        price_fen=domain.parse_price_fen(price, "price"),
        measured=measured,
        correction_reason=correction_reason,
        current=history[-1] if history else None,
        set_by=actor.subject,
        set_at=tx.clock.now(),
    )
    await store.add_baseline(baseline)  # (county, revision) is the key: a race is a 409
    return baseline


@dataclass(frozen=True)
class PriceTargetReport:
    indicator: PriceIndicator
    history: list[PriceBaseline]


async def price_target_report(
    conn: asyncpg.Connection, county_code: str, *, as_of: date
) -> PriceTargetReport:
    """The average price of the reference agricultural parcel across the express carriers'
    ranges in force on ``as_of``, against the county's latest baseline."""
    history = await PriceStore(conn).baselines(county_code)
    if not history:
        raise NotFound("PRICE_BASELINE_NOT_SET", f"county {county_code} has no price baseline",
            detail_zh=f"县 {county_code} 尚未设定价格基准。")
    baseline = history[-1]
    board = await price_board(conn, county_code, as_of=as_of)
    quotes = [
        PriceQuote(cp.carrier, cp.in_force, band)
        for cp in board.carriers
        if cp.in_force is not None
        and (band := domain.band_for(cp.in_force, baseline.reference_weight_g)) is not None
    ]
    indicator = domain.price_indicator(baseline, quotes, as_of=as_of)
    return PriceTargetReport(indicator, history)


async def certify_shipper(
    tx: Tx, actor: Actor, center_id: str, *, credit_code: str, name: str, certified_on: date
) -> CertifiedShipper:
    require_no_conflict_of_interest(actor.stakes, credit_code, decision_zh="认证该企业享受物流区间价")
    repo, store = Repository(tx.conn), PriceStore(tx.conn)
    center = await repo.station(center_id, lock="share")
    if center is None:
        raise NotFound("STATION_NOT_FOUND", f"no station {center_id}",
            detail_zh=f"没有编号为 {center_id} 的站点。")
    active = [s.credit_code for s in await store.shippers(center.id) if s.revoked_on is None]
    shipper = domain.certify_shipper(
        center,
        shipper_id=new_id(),
        credit_code=credit_code,
        name=name,
        certified_on=certified_on,
        active_codes=active,
        today=_today(tx),
    )
    await store.add_shipper(shipper, created_at=tx.clock.now(), created_by=actor.subject)
    return shipper


async def revoke_shipper(
    tx: Tx, actor: Actor, center_id: str, shipper_id: str, *, revoked_on: date, reason: str
) -> CertifiedShipper:
    store = PriceStore(tx.conn)
    found = await store.shipper(shipper_id, lock=True)
    if found is not None and found.center_id != center_id:
        found = None
    if found is not None:
        require_no_conflict_of_interest(
            actor.stakes, found.credit_code, decision_zh="撤销该企业的物流区间价认证"
        )
    revoked = domain.revoke_shipper(found, revoked_on=revoked_on, reason=reason, today=_today(tx))
    await store.save_revocation(revoked)
    return revoked
