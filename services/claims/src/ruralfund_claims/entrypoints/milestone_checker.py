"""The overdue-milestone check in the background.

What is overdue is decided by the injected clock inside each transaction (the county's local
day); only the pause between checks is wall time. Each batch is one transaction (marks +
outbox rows), and SKIP LOCKED lets replicas check at once without announcing anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.logging import get_logger

from .. import service
from ..settings import ClaimsSettings

__all__ = ["CHECKER_KEY", "MilestoneChecker"]

CHECKER_KEY: Final = "claims.milestone_checker"
ERROR_PAUSE_SECONDS: Final = 1.0
log = get_logger("ruralfund.claims.milestones")


class MilestoneChecker:
    def __init__(self, ctx: ServiceContext, settings: ClaimsSettings) -> None:
        self.ctx = ctx
        self.interval = settings.milestone_check_seconds
        self.batch = settings.milestone_check_batch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="claims-milestone-check")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def check(self) -> int:
        """Announce every milestone overdue now; returns how many were announced."""
        total = 0
        while True:
            async with self.ctx.transaction() as tx:
                n = await service.emit_overdue_milestones(tx, limit=self.batch)
            total += n
            if n < self.batch:
                return total

    async def _run(self) -> None:
        while not self._stopping.is_set():
            pause = self.interval
            try:
                announced = await self.check()
                if announced:
                    log.info("milestones_overdue", count=announced)
            except Exception as exc:  # noqa: BLE001 - database down: keep checking later
                log.warning("milestone_check_error", error=repr(exc))
                pause = max(pause, ERROR_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=pause)
