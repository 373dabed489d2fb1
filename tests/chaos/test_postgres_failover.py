"""PostgreSQL failover under load (issue #18): a primary with a synchronous streaming standby;
while funds is paying, the primary is SIGKILLed and the standby promoted (``pg_ctl promote``).

Every command a client saw accepted (claims, payment orders, co-signatures) exists exactly
once afterwards, no award is paid twice, the ledger verifies, and the services carried on
against the new primary without a restart: their DATABASE_URL names both servers with
``target_session_attrs=read-write`` (ruralfund_common.testing.replication).
Short by default (part of ``make test``); ``RURALFUND_CHAOS=full`` (``make chaos``) runs
the same drill under the heavier load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from ruralfund_common.testing.replication import ReplicatedPostgres
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_postgres() -> Iterator[ReplicatedPostgres]:
    """The rig's PostgreSQL for this module: a primary with a synchronous standby."""
    with ReplicatedPostgres() as pair:
        yield pair


@pytest.mark.timeout(1200)
async def test_promoting_the_sync_standby_while_funds_pays_loses_and_doubles_nothing(rig):
    driver, faults, checks, pair = rig.driver, rig.faults, rig.checks, rig.pg
    log = driver.log
    t0 = time.monotonic()
    await driver.setup()
    driver.start()
    # Fail over while a payment is on its way: ordered, not yet co-signed and executed. The
    # full run fails over again after cloning a new standby from the new primary.
    in_flight: set[str] = set()
    executed_before = 0
    timings = []
    for round_no in range(rig.scale.rounds):
        rebuild_s = 0.0
        if round_no:
            t_rebuild = time.monotonic()
            await asyncio.to_thread(pair.rebuild_standby)
            rebuild_s = time.monotonic() - t_rebuild
        done = len(log.executed)
        await eventually(lambda done=done: len(set(log.payments) - log.executed) > 0 and len(log.executed) > done,
                         timeout=180, interval=0.05, description="a payment in flight after one executed")
        in_flight |= set(log.payments) - log.executed
        executed_before = len(log.executed)
        t_fault = time.monotonic()
        await faults.fail_over_postgres()
        timings.append((time.monotonic() - t_fault, rebuild_s))
        assert not pair.in_recovery(pair.standby), "the standby was not promoted"
        await asyncio.sleep(rig.scale.settle_s)  # load on the new primary
    await driver.stop()
    await driver.finish()
    t_load = time.monotonic()

    assert not log.unresolved, log.unresolved
    lines = [await checks.quiet()]
    lines += await checks.exactly_once(log)
    lines.append(await checks.ledger(log))
    # every payment order a client was given exists once on the new primary, none in excess
    stored = await rig.sql("SELECT payment_id::text AS payment_id FROM funds.payments")
    assert sorted(r["payment_id"] for r in stored) == sorted(log.payments.values()), \
        "payment orders on the new primary differ from those the clients were given"
    assert in_flight <= log.executed, f"payments in flight at the failover not executed: {in_flight - log.executed}"
    assert len(log.executed) > executed_before, "nothing paid after the failover"
    lines.append(f"failover: {len(timings)} time(s), the primary SIGKILLed each time with a payment in flight "
                 f"({len(in_flight)} in all); {len(log.executed) - executed_before} executed after the last one; "
                 f"{len(stored)} payment orders, each once")
    lines.append(rig.recovery())
    per_round = "; ".join(
        (f"standby rebuilt {rebuild:.1f} s, " if rebuild else "") + f"killed → promoted → all ready {s:.1f} s"
        for s, rebuild in timings)
    lines.append(f"time: services up {rig.startup_s:.0f} s; {per_round} (each {rig.scale.down_s:.0f} s without a "
                 f"primary); whole drill {t_load - t0:.0f} s, settling and checks {time.monotonic() - t_load:.0f} s")
    rig.summarise("postgres failover under load", lines)
