"""A loss at the *tail* of a subject is repaired (it used to be missed).

Consumers find lost messages only when a later message on the same subject arrives with a
producer sequence past their cursor. If JetStream loses the last events of a subject and the
producer then stays quiet on that subject (no approval for days, or ever again at the end of a
program), nothing notices: the effects of those acknowledged events never happen.

Idle consumers ask the producer for its high-water mark (messaging.runtime.TAIL_CHECK_SECONDS)
and request the re-publish of what they have not seen.
"""

from __future__ import annotations

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
async def test_lost_tail_of_a_subject_is_repaired_without_a_later_event(rig):
    driver = rig.driver
    await driver.setup()
    slots = [(e, "2023Q1") for e in driver.enterprises[:4]]
    for enterprise, quarter in slots[:2]:
        await driver.claim_chain(enterprise, quarter)
    await eventually(lambda: _awards(rig), expect=2, timeout=60, description="awards before the loss")

    rig.services["funds"].kill()
    for enterprise, quarter in slots[2:]:  # the last approvals for a while
        await driver.claim_chain(enterprise, quarter)
    await eventually(lambda: _unsent(rig), expect=0, timeout=30, description="claims' outbox relayed")

    rig.nats.stop()
    for block in (rig.stream_dir("claims") / "msgs").glob("*.blk"):
        block.unlink()
    rig.nats.start()
    rig.services.start("funds")
    await rig.services.wait_ready()

    # no later claim_approved.v1: does anything notice that funds is 2 behind claims' outbox?
    await eventually(lambda: _awards(rig), expect=4, timeout=120,
                     description="the two lost approvals reserved without a later approval")


async def _awards(rig) -> int:
    return (await rig.sql("SELECT count(*) AS n FROM funds.awards WHERE kind = 'award'"))[0]["n"]


async def _unsent(rig) -> int:
    return (await rig.sql("SELECT count(*) AS n FROM claims.outbox WHERE sent_at IS NULL"))[0]["n"]
