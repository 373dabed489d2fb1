"""The overdue-milestone check in the background: announces each overdue milestone once, by the
county's local day (see ``ruralfund_common.background``)."""

from __future__ import annotations

from typing import Final

from ruralfund_common.background import BatchedSweep
from ruralfund_common.bootstrap import ServiceContext

from .. import service
from ..settings import ClaimsSettings

__all__ = ["CHECKER_KEY", "MilestoneChecker"]

CHECKER_KEY: Final = "claims.milestone_checker"


class MilestoneChecker(BatchedSweep):
    def __init__(self, ctx: ServiceContext, settings: ClaimsSettings) -> None:
        super().__init__(ctx, name="claims-milestone-check", interval_seconds=settings.milestone_check_seconds,
                         batch=settings.milestone_check_batch, step=lambda tx, limit: service.emit_overdue_milestones(tx, limit=limit))

    async def check(self) -> int:
        return await self.run_now()
