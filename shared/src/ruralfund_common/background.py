"""A periodic job that works through due rows in batches, each batch one transaction.

Used for sweeps decided by the injected clock (overdue milestones, missed delivery deadlines):
only the pause between runs is wall time. The step marks rows and writes outbox rows in the
same transaction and uses SKIP LOCKED, so several replicas can run it without doing anything
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

from .bootstrap import ServiceContext
from .logging import get_logger
from .messaging import Tx

__all__ = ["ERROR_PAUSE_SECONDS", "BatchedSweep"]

ERROR_PAUSE_SECONDS: Final = 1.0
log = get_logger("ruralfund.background")


class BatchedSweep:
    def __init__(self, ctx: ServiceContext, *, name: str, interval_seconds: float, batch: int,
                 step: Callable[[Tx, int], Awaitable[int]]) -> None:
        """``step(tx, limit)`` handles up to ``limit`` due rows and returns how many it did."""
        assert interval_seconds > 0 and batch > 0
        self.ctx, self.name, self.interval, self.batch, self.step = ctx, name, interval_seconds, batch, step
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run_now(self) -> int:
        """Handle everything due now; returns how many rows were handled."""
        total = 0
        while True:
            async with self.ctx.transaction() as tx:
                n = await self.step(tx, self.batch)
            total += n
            if n < self.batch:
                return total

    async def _run(self) -> None:
        while not self._stopping.is_set():
            pause = self.interval
            try:
                handled = await self.run_now()
                if handled:
                    log.info("sweep_done", job=self.name, count=handled)
            except Exception as exc:  # database down: try again later
                log.warning("sweep_error", job=self.name, error=repr(exc))
                pause = max(pause, ERROR_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=pause)
