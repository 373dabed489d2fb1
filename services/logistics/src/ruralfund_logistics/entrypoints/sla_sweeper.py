"""The breach sweep in the background: reports parcels past their 24-hour deadline (each parcel
once; see ``ruralfund_common.background``)."""

from __future__ import annotations

from ruralfund_common.background import BatchedSweep
from ruralfund_common.bootstrap import ServiceContext

from .. import service
from ..settings import LogisticsSettings

__all__ = ["SlaSweeper"]


class SlaSweeper(BatchedSweep):
    def __init__(self, ctx: ServiceContext, settings: LogisticsSettings) -> None:
        super().__init__(ctx, name="logistics-sla-sweep", interval_seconds=settings.sla_sweep_seconds,
                         batch=settings.sla_sweep_batch, step=lambda tx, limit: service.emit_due_breaches(tx, limit=limit))

    async def sweep(self) -> int:
        return await self.run_now()
