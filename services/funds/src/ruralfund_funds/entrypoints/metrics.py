"""Ledger totals for Prometheus: each program's account balances (fen) and trial balance.

Scrapes must not query the database, so a background task refreshes a snapshot every
LEDGER_METRICS_REFRESH_SECONDS and the collector reads it."""

from __future__ import annotations

import asyncio
import contextlib

from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.logging import get_logger
from ruralfund_common.telemetry import register_gauges

__all__ = ["LEDGER_METRICS_REFRESH_SECONDS", "start_ledger_metrics", "stop_ledger_metrics"]

LEDGER_METRICS_REFRESH_SECONDS = 15.0
log = get_logger("ruralfund.funds.metrics")
_snapshot: dict[str, list[tuple[list[str], int]]] = {"balances": [], "trial": []}


async def refresh(ctx: ServiceContext) -> None:
    async with ctx.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT program_code, account, CASE normal_side WHEN 'debit' THEN debits_fen - credits_fen "
            "ELSE credits_fen - debits_fen END AS balance_fen FROM balances ORDER BY program_code, account")
        trial = await conn.fetch(
            "SELECT program_code, sum(debit_fen)::bigint AS d, sum(credit_fen)::bigint AS c FROM postings GROUP BY program_code")
    # integer fen; the exposition format prints them as numbers (exact below 2**53 fen)
    _snapshot["balances"] = [([r["program_code"], r["account"]], r["balance_fen"]) for r in rows]
    _snapshot["trial"] = [([r["program_code"], side], r[key]) for r in trial for side, key in (("debit", "d"), ("credit", "c"))]


async def _loop(ctx: ServiceContext) -> None:
    while True:
        try:
            await refresh(ctx)
        except Exception as exc:  # the database is down: keep the last snapshot
            log.warning("ledger_metrics_refresh_failed", error=repr(exc))
        await asyncio.sleep(LEDGER_METRICS_REFRESH_SECONDS)


async def start_ledger_metrics(ctx: ServiceContext) -> None:
    register_gauges("ruralfund_ledger_balance_fen", "Account balance on its normal side, in fen",
                    ["program", "account"], lambda: _snapshot["balances"])
    register_gauges("ruralfund_ledger_postings_fen", "Sum of postings per side (debits = credits when balanced)",
                    ["program", "side"], lambda: _snapshot["trial"])
    await refresh(ctx)
    ctx.extras["ledger_metrics_task"] = asyncio.create_task(_loop(ctx), name="funds-ledger-metrics")


async def stop_ledger_metrics(ctx: ServiceContext) -> None:
    task = ctx.extras.pop("ledger_metrics_task", None)
    if task:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
