"""The JetStream data-loss drill: JetStream itself may lose acknowledged messages (Jepsen,
NATS 2.12.1), so ours must not depend on it keeping them.

While funds is down, claims approves more claims: their ClaimApproved events are acknowledged
by JetStream and marked sent in claims' outbox, but nobody has consumed them yet. Then
nats-server is stopped and the CLAIMS stream's message blocks are deleted, as a disk or a
replication bug would lose them. After the restart claims keeps approving: funds sees the next
event's producer sequence jump past its cursor (a gap), asks claims to re-publish the missing
range, claims re-publishes it from its outbox, and every award is reserved exactly once."""

from __future__ import annotations

import os

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.e2e

APPROVED = "claims.evt.claim_approved.v1"
#: delete: the stream's message blocks vanish; truncate: each block is cut in half (its later
#: messages lost, the earlier ones kept). ``make chaos`` runs both.
MODES = ["delete", "truncate"] if os.environ.get("RURALFUND_CHAOS", "").lower() == "full" else ["delete"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES)
async def test_lost_stream_messages_are_detected_and_republished_so_every_effect_happens_once(rig, mode):
    driver, checks = rig.driver, rig.checks
    enterprises = 3
    await driver.setup()
    slots = [(e, q) for q in ("2023Q1", "2023Q2", "2023Q3") for e in driver.enterprises[:enterprises]]
    before, lost, after = slots[:3], slots[3:6], slots[6:9]

    for enterprise, quarter in before:
        await driver.claim_chain(enterprise, quarter)
    await eventually(lambda: _awards(rig), expect=len(before), timeout=60, description="awards before the drill")

    await eventually(lambda: _unsent(rig), expect=0, timeout=30, description="claims' outbox relayed")
    stream = f"{rig.namespace.upper()}_CLAIMS"
    kept_bytes = (await _state(rig, stream)).bytes  # what a truncation keeps: all before the kill

    rig.services["funds"].kill()
    rig.faults.record("sigkill", "funds")
    for enterprise, quarter in lost:
        await driver.claim_chain(enterprise, quarter)
    assert len(driver.log.approved) == len(before) + len(lost)
    await eventually(lambda: _unsent(rig), expect=0, timeout=30, description="claims' outbox relayed")
    sent = await _seq(rig, APPROVED)
    assert sent == len(before) + len(lost)

    # the loss, with nats-server stopped: the CLAIMS stream's message blocks deleted, or cut
    # right after the last message funds consumed
    held = (await _state(rig, stream)).messages
    rig.nats.stop()
    blocks = sorted((rig.stream_dir("claims") / "msgs").glob("*.blk"))
    assert blocks, f"no message blocks under {rig.stream_dir('claims')}"
    total = sum(b.stat().st_size for b in blocks)
    if mode == "delete":
        for block in blocks:
            block.unlink()
    else:
        assert len(blocks) == 1, f"{len(blocks)} blocks: expected one for so few messages"
        os.truncate(blocks[0], kept_bytes)
    lost_bytes = total - sum(b.stat().st_size for b in blocks if b.exists())
    rig.nats.start()
    rig.faults.record(f"stream-{mode}", f"{len(blocks)} block(s) of CLAIMS")
    left = (await _state(rig, stream)).messages
    assert left < held, f"the stream still holds {left} of {held} messages"

    rig.services.start("funds")
    await rig.services.wait_ready()
    assert await _awards(rig) == len(before), "funds cannot have seen the lost approvals"
    for enterprise, quarter in after:  # the producer keeps publishing
        await driver.claim_chain(enterprise, quarter)

    await eventually(lambda: _awards(rig), expect=len(slots), timeout=120,
                     description="every approval reserved after the loss")
    await driver.finish()
    lines = [await checks.quiet()]
    lines += await checks.exactly_once(driver.log)
    lines.append(await checks.ledger(driver.log))

    # the loss was detected (funds: gap, re-publish request) and repaired (claims: re-published)
    funds_log, claims_log = rig.log_events("funds"), rig.log_events("claims")
    gaps = [e for e in funds_log if e.get("event") == APPROVED and e.get("outcome") == "gap"]
    assert gaps, "funds never reported a sequence gap on " + APPROVED
    republished = [e["count"] for e in claims_log if e.get("event") == "outbox_republished" and e.get("subject") == APPROVED]
    assert sum(republished) >= len(lost), f"claims re-published {republished}"
    assert not [e for e in funds_log if e.get("event") == "sequence_gap_accepted"], "funds gave up on lost messages"
    lines.insert(0, f"drill ({mode}): {len(blocks)} block(s) of {stream}, {lost_bytes} bytes lost, {held - left} of "
                    f"{held} messages, {len(lost)} unconsumed approvals among them; funds saw {len(gaps)} gap deliveries, "
                    f"claims re-published {sum(republished)} events")
    lines.append(rig.recovery())
    rig.summarise("JetStream loss drill", lines)


async def _state(rig, stream: str):
    nc = await rig.nats_client()
    try:
        return (await nc.jetstream().stream_info(stream)).state
    finally:
        await nc.close()


async def _awards(rig) -> int:
    return (await rig.sql("SELECT count(*) AS n FROM funds.awards WHERE kind = 'award'"))[0]["n"]


async def _unsent(rig) -> int:
    return (await rig.sql("SELECT count(*) AS n FROM claims.outbox WHERE sent_at IS NULL"))[0]["n"]


async def _seq(rig, subject: str) -> int:
    rows = await rig.sql("SELECT last_seq FROM claims.outbox_sequence WHERE subject = $1", subject)
    return rows[0]["last_seq"] if rows else 0

