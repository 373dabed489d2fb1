"""Ledger throughput: payments executed per second with every check, over real PostgreSQL, as a
ratio of this machine's PostgreSQL commit rate measured in the same run.

What is timed: the executing (second) approvals of payment orders, through the funds service
layer exactly as the HTTP API runs it (``service.approve_payments`` in one transaction per
call): load and lock the awards, their objections and orders; check the approver's role, the
content hash, two distinct people, the award's window, objections, default; lock and check
the accounts (nothing below zero); post the entry; update kept balances; extend the audit hash
chain; write the payment_executed event to the outbox; seal the changed rows into the ledger's
Merkle tree and sign its head (issue 15). The first approvals, reservations and
releases are set up beforehand (not timed).

Definitions printed with the figures:
- a *payment* is one executed payment order = one journal entry;
- a *posting* is one ledger line (one debit or one credit on one account); a payment is 4
  postings (reservation → spent, payee ← joint account).

Payment runs: ``--batch`` approvals per call (the signatory co-signs a list, as the
``POST /payment-approvals`` endpoint allows; 1 = one payment per transaction), ``--workers``
concurrent connections, all on one program (one hot joint-account row, as in production).

Usage: ``.venv/bin/python -m benchmarks.ledger [--payments N] [--batch B] [--workers W] [--json]``
Bounded: at most MAX_PAYMENTS; loopback servers only (DATABASE_URL or embedded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ruralfund_common.auth import Principal, Role
from ruralfund_common.calendar import WorkingCalendar
from ruralfund_common.contracts import ClaimApproved, ItemBudget, LineBudget, ProgramActivated
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Tx
from ruralfund_common.messaging.signing import EventKeys
from ruralfund_common.testing.infra import (
    create_database,
    drop_database,
    embedded_postgres,
    is_loopback_url,
)
from ruralfund_funds import service
from ruralfund_funds.adapters.verify import verify_ledger
from ruralfund_funds.app import MIGRATIONS

from benchmarks.limits import measure_pg_commit_rate
from benchmarks.loop import run as run_on_service_loop
from benchmarks.profiling import profiled

MAX_PAYMENTS: Final = 200_000
DEFAULT_PAYMENTS: Final = 10_000
POSTINGS_PER_PAYMENT: Final = 4
SETUP_CHUNK: Final = 500
NOW: Final = datetime(2026, 3, 9, 2, tzinfo=UTC)
PAYEE: Final = "91530427MA6K0B0Q1Y"
LEADER = Principal("u-leader", "Leader Zhao", frozenset({Role.LEADING_GROUP}))
SIGNATORY = Principal("u-signatory", "Signatory Chen", frozenset({Role.CONTRACTOR_SIGNATORY}))
CLERK = Principal("u-clerk", "Clerk Wang", frozenset({Role.BUREAU_ADMIN}))


class _FixedClock:
    """Payments happen on one county day (the windows are long over)."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class _Ctx:
    """What the use cases read from the service context: the clock and the calendar."""

    def __init__(self) -> None:
        self.clock = _FixedClock(NOW)
        self.calendar = WorkingCalendar.default()
        self.messaging = SimpleNamespace(keys=EventKeys.dev("funds"))  # signs the ledger tree's head


def _program(payments: int) -> ProgramActivated:
    total = payments * 246_900 + 100_000_00
    return ProgramActivated(
        program_code="bench-2021", name="benchmark", county_code="530427", county_name="新平县", year=2021,
        phase="follow-up", total_fen=total, activated_at=NOW, joint_account_no="6222000000000000",
        lines=[LineBudget(code="brand", name="brand", budget_fen=total, items=[
            ItemBudget(code="brand-packaging", name="brand packaging", budget_fen=total, mode="reward")])],
    )


def _award(n: int) -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"c-{n}", award_id=f"a-{n:07d}", program_code="bench-2021", line_code="brand",
        item_code="brand-packaging", item_name="brand packaging", credit_code=PAYEE, enterprise_name="新平礼好",
        payee_bank_account="6228480000000000001", payee_bank_name="农业银行", amount_fen=246_900,
        rule_version="per_unit@1", period="2021Q3", approved_by="u-leader", approved_at=NOW, requires_publicity=False,
    )


async def _in_tx(pool, ctx: _Ctx, fn) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        tx = Tx(conn, "funds", ctx.clock, ctx=ctx)
        result = await fn(tx)
        await service.seal(tx)  # as run_command does: the rows become leaves of the Merkle tree
        return result


async def _setup(pool, ctx: _Ctx, payments: int) -> list[tuple[str, str]]:
    """Program, release, reservations, payment orders and first approvals; returns (payment, sha)."""
    program = _program(payments)
    await _in_tx(pool, ctx, lambda tx: service.open_program(tx, program))
    await _in_tx(pool, ctx, lambda tx: service.release_funds(tx, "bench-2021", "rel-1", program.total_fen, "r", CLERK))
    orders: list[tuple[str, str]] = []
    for start in range(0, payments, SETUP_CHUNK):
        async def chunk(tx: Tx, start: int = start) -> None:
            for n in range(start, min(payments, start + SETUP_CHUNK)):
                await service.reserve_award(tx, _award(n))
                view = await service.request_payment(tx, f"a-{n:07d}", CLERK)
                orders.append((view["payment_id"], view["content_sha256"]))
        await _in_tx(pool, ctx, chunk)
    for start in range(0, payments, SETUP_CHUNK):
        items = [service.ApprovalItem(p, s) for p, s in orders[start:start + SETUP_CHUNK]]
        await _in_tx(pool, ctx, lambda tx, items=items: service.approve_payments(tx, items, LEADER, command_id=None))
    return orders


async def _execute(pool, ctx: _Ctx, orders: list[tuple[str, str]], batch: int, workers: int) -> tuple[float, int]:
    """The timed part: signatories co-sign in batches on ``workers`` connections."""
    batches = [orders[i:i + batch] for i in range(0, len(orders), batch)]
    queue: asyncio.Queue = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    refused = 0

    async def worker() -> None:
        nonlocal refused
        while not queue.empty():
            b = queue.get_nowait()
            items = [service.ApprovalItem(p, s) for p, s in b]
            done = await _in_tx(pool, ctx, lambda tx, items=items: service.approve_payments(tx, items, SIGNATORY, command_id=None))
            refused += sum(1 for i in done if i.outcome["status"] != "executed")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started, refused


async def measure_ledger(admin_dsn: str, payments: int, batch: int, workers: int) -> dict[str, Any]:
    db = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(admin_dsn, db)
    try:
        await migrate(dsn, "funds", MIGRATIONS)
        pool = await create_pool(dsn, "funds", min_size=workers, max_size=workers)
        ctx = _Ctx()
        try:
            orders = await _setup(pool, ctx, payments)
            seconds, refused = await _execute(pool, ctx, orders, batch, workers)
            async with pool.acquire() as conn:
                executed = await conn.fetchval("SELECT count(*) FROM payments WHERE status='executed'")
                lines = await conn.fetchval("SELECT count(*) FROM postings p JOIN entries e USING (entry_id) "
                                            "WHERE e.kind='payment_executed'")
                report = await verify_ledger(conn)
        finally:
            await pool.close()
        assert refused == 0 and executed == payments, f"{executed} executed, {refused} refused"
        assert lines == payments * POSTINGS_PER_PAYMENT
        assert report.ok, report.problems[:5]
        return {"payments": payments, "batch": batch, "workers": workers, "seconds": seconds,
                "payments_per_s": payments / seconds, "postings_per_s": lines / seconds,
                "verified": {"audit_records": report.audit_records, "postings": report.postings}}
    finally:
        await drop_database(admin_dsn, db)


async def run(dsn: str, payments: int, batch: int, workers: int, seconds: float) -> dict[str, Any]:
    # the commit rate is measured before and after (a shared machine's load drifts); the mean is the limit
    before = await measure_pg_commit_rate(dsn, seconds, 1)
    ledger = await measure_ledger(dsn, payments, batch, workers)
    with profiled("ledger-single-payments"):
        single = await measure_ledger(dsn, min(payments, 2_000), 1, workers)
    after = await measure_pg_commit_rate(dsn, seconds, 1)
    commit_rate = (before + after) / 2
    return {"pg_commit_1_conn": commit_rate, "pg_commit_before_after": [before, after],
            "ledger": ledger, "one_payment_per_tx": single,
            "ratios": {"postings_per_commit": ledger["postings_per_s"] / commit_rate,
                       "payments_per_commit": ledger["payments_per_s"] / commit_rate,
                       "one_per_tx_payments_per_commit": single["payments_per_s"] / commit_rate}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="ledger payments per second vs the PostgreSQL commit rate")
    p.add_argument("--payments", type=int, default=DEFAULT_PAYMENTS)
    p.add_argument("--batch", type=int, default=200, help="approvals per transaction (a payment run)")
    p.add_argument("--workers", type=int, default=2, help="concurrent connections")
    p.add_argument("--seconds", type=float, default=3.0, help="duration of the commit-rate measurement")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    payments = max(1, min(args.payments, MAX_PAYMENTS))
    batch = max(1, min(args.batch, service.MAX_BATCH_APPROVALS))
    with ExitStack() as stack:
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        if not is_loopback_url(dsn):
            raise SystemExit(f"refusing a non-loopback server: {dsn}")
        report = run_on_service_loop(run(dsn, payments, batch, max(1, args.workers), args.seconds))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print(report)
    return 0


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    led, one, commit = report["ledger"], report["one_payment_per_tx"], report["pg_commit_1_conn"]
    t = Table(title=f"Ledger: {led['payments']:,} payments executed with every check "
                    f"({led['workers']} connections, one program)")
    t.add_column("figure")
    t.add_column("per second", justify="right")
    t.add_column("/ PG commit rate", justify="right")
    t.add_row(f"postings, payment runs of {led['batch']}", f"{led['postings_per_s']:,.0f}",
              f"{led['postings_per_s'] / commit:.2f}")
    t.add_row(f"payments, payment runs of {led['batch']}", f"{led['payments_per_s']:,.0f}",
              f"{led['payments_per_s'] / commit:.2f}")
    t.add_row("payments, one per transaction", f"{one['payments_per_s']:,.0f}", f"{one['payments_per_s'] / commit:.2f}")
    t.add_row("postings, one payment per transaction", f"{one['postings_per_s']:,.0f}",
              f"{one['postings_per_s'] / commit:.2f}")
    before, after = report["pg_commit_before_after"]
    t.add_row(f"limit: PG commits, 1 connection (BEGIN; INSERT; COMMIT), mean of {before:,.0f} before "
              f"and {after:,.0f} after", f"{commit:,.0f}", "1.00")
    Console().print(t)
    print(f"a payment = 1 journal entry = {POSTINGS_PER_PAYMENT} postings (ledger lines); target 5,000 postings/s; "
          f"ledger verified after the run: {led['verified']}")


if __name__ == "__main__":
    sys.exit(main())
