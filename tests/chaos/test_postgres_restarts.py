"""After PostgreSQL restarts under load every consumer keeps pulling and every service answers.

Found by `make chaos` (2 of 4 runs): after a fast restart (`pg_ctl -m fast`) a durable showed
`waiting pulls 0` with messages pending and HTTP requests hung, until the service was killed;
asyncpg had logged `InternalClientError('cannot switch to state 15; another operation (2) is
in progress')`. Fixed by bounding what can wait on a broken connection: pool acquire/release
(db.pool.ACQUIRE_TIMEOUT_SECONDS), one message (messaging.runtime.HANDLE_TIMEOUT_SECONDS), one
outbox batch; an unavailable database is a 503 to retry.
"""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.e2e

RESTARTS = 5


@pytest.mark.timeout(1200)
async def test_every_consumer_keeps_pulling_after_postgres_restarts(rig):
    driver, faults, checks = rig.driver, rig.faults, rig.checks
    await driver.setup()
    driver.start()
    await asyncio.sleep(rig.scale.warmup_s)
    for n in range(RESTARTS):
        await faults.restart_postgres(hard=False)  # no service restart afterwards
        await asyncio.sleep(rig.scale.settle_s)
    await driver.stop()
    await driver.finish()
    print(await checks.quiet())  # fails with "consumers behind: <durable>: N pending, 0 unacked"
