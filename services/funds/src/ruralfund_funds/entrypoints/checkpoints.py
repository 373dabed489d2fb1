"""At start: seal an existing database's rows into the (empty) tree once, and a snapshot of each
covered table a migration reshaped since the last start; then sign a checkpoint
each county day (Asia/Shanghai, by the injected clock), whichever replica gets there first."""

from __future__ import annotations

from ruralfund_common.background import BatchedSweep
from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.logging import get_logger

from .. import service

__all__ = ["DAILY_CHECK_SECONDS", "start_ledger_tree", "stop_ledger_tree"]

#: How often the daily checkpoint is looked for (the day changes at most once in between).
DAILY_CHECK_SECONDS = 60.0
log = get_logger("ruralfund.funds.ledger_tree")


async def start_ledger_tree(ctx: ServiceContext) -> None:
    async with ctx.transaction() as tx:
        sealed = await service.seal_migrated_rows(tx)
    if sealed:
        log.info("ledger_tree_built_from_existing_rows", leaves=sealed)
    async with ctx.transaction() as tx:
        reshaped = await service.seal_schema_changes(tx)
    if reshaped:
        log.info("ledger_tables_resealed_after_schema_change", tables=reshaped)
    sweep = BatchedSweep(
        ctx,
        name="funds-daily-checkpoint",
        interval_seconds=DAILY_CHECK_SECONDS,
        batch=1,
        step=service.daily_checkpoint,
    )
    ctx.extras["daily_checkpoint"] = sweep
    await sweep.start()


async def stop_ledger_tree(ctx: ServiceContext) -> None:
    sweep = ctx.extras.pop("daily_checkpoint", None)
    if sweep is not None:
        await sweep.stop()
