"""The breach sweep in the background: reports parcels past their 24-hour deadline.

Time to compare against comes from the injected clock inside each transaction; only the pause
between sweeps is wall time. Each batch is its own transaction (marks + outbox rows), and
SKIP LOCKED lets several replicas sweep at once without reporting a parcel twice.
"""

from __future__ import annotations

import asyncio
import contextlib

from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.logging import get_logger

from .. import service
from ..settings import LogisticsSettings

__all__ = ["SlaSweeper"]

ERROR_PAUSE_SECONDS = 1.0
log = get_logger("ruralfund.logistics.sla")


class SlaSweeper:
    def __init__(self, ctx: ServiceContext, settings: LogisticsSettings) -> None:
        self.ctx = ctx
        self.interval = settings.sla_sweep_seconds
        self.batch = settings.sla_sweep_batch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="logistics-sla-sweep")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def sweep(self) -> int:
        """Report every breach due now; returns how many were reported."""
        total = 0
        while True:
            async with self.ctx.transaction() as tx:
                n = await service.emit_due_breaches(tx, limit=self.batch)
            total += n
            if n < self.batch:
                return total

    async def _run(self) -> None:
        while not self._stopping.is_set():
            pause = self.interval
            try:
                reported = await self.sweep()
                if reported:
                    log.info("sla_breaches_reported", count=reported)
            except Exception as exc:  # noqa: BLE001 - database down: keep sweeping later
                log.warning("sla_sweep_error", error=repr(exc))
                pause = max(pause, ERROR_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=pause)
