"""Messages in, and the events this service publishes (for the AsyncAPI document).

In: ``logistics.cmd.record_scans.v1`` from the center's sorting line and stations' systems,
published straight to JetStream (no producer sequence: the inbox dedups by envelope id).
A scan that breaks a rule is refused alone and recorded with its reason; a message that is
not a RecordScans command at all is dead-lettered by the framework.
"""

from __future__ import annotations

from ruralfund_common.contracts import StationRegistered, StationVolumeReported
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.contracts.logistics.record_scans import RecordScans
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Envelope, EventRouter, Tx

from .. import service
from ..domain import RawScan

__all__ = ["events"]

log = get_logger("ruralfund.logistics.scans")
events = EventRouter()
events.emits(StationRegistered, StationVolumeReported, DeliverySlaBreached)


@events.subscribe(RecordScans, name="record_scans")
async def record_scans(tx: Tx, env: Envelope[RecordScans]) -> None:
    """Record a batch of parcel scans (idempotent by scan id, any order)."""
    command = env.data
    raws = [
        RawScan(
            s.scan_id, s.parcel_id, s.station_id, s.kind, s.scanned_at, s.destination_station_id
        )
        for s in command.scans
    ]
    result = await service.record_scans(
        tx, raws, batch_id=env.id, source=command.source, keep_rejections=True
    )
    if result.rejected:
        log.warning(
            "scans_rejected",
            msg_id=env.id,
            source=command.source,
            rejected=len(result.rejected),
            codes=sorted({r.code for r in result.rejected}),
        )
