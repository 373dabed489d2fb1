"""Faults under load: while a driver submits claims, approvals, payments and parcel scans, each
service is SIGKILLed and restarted, then nats-server, then PostgreSQL. Afterwards every accepted
command has had exactly one effect, no event is lost, the ledger verifies and every SLA breach
was emitted once. Short by default; ``RURALFUND_CHAOS=full`` (``make chaos``) runs more rounds
under more load."""

from __future__ import annotations

import asyncio
import time

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(1800)
async def test_every_accepted_command_has_exactly_one_effect_through_faults(rig):
    driver, faults, checks = rig.driver, rig.faults, rig.checks
    t0 = time.monotonic()
    await driver.setup()
    t1 = time.monotonic()
    driver.start()
    await asyncio.sleep(rig.scale.warmup_s)  # load before the first fault
    for round_no in range(rig.scale.rounds):
        await faults.round(round_no)
    await driver.stop()
    t2 = time.monotonic()
    await driver.finish()

    assert not driver.log.unresolved, driver.log.unresolved
    assert len(faults.done) == faults.expected
    kinds = driver.summary()
    assert kinds["approve_claim"] > 0 and kinds["approve_payment"] > 0 and kinds["record_scans_nats"] > 0, kinds
    lines = [await checks.quiet()]
    lines += await checks.exactly_once(driver.log)
    lines.append(await checks.ledger(driver.log))
    lines.append(rig.recovery())
    lines.append(f"time: services up {rig.startup_s:.0f} s, set-up {t1 - t0:.0f} s, load with faults {t2 - t1:.0f} s, "
                 f"settling and checks {time.monotonic() - t2:.0f} s")
    rig.summarise("faults under load", lines)
