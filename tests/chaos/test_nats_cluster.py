"""The four services on a three-node JetStream cluster (streams with three replicas, every node
fsyncing each write) under the chaos load: the node leading a stream is SIGKILLed and started
again, and a node is cut off (SIGSTOP: it keeps its sockets and answers nothing, as behind a
network partition) and brought back. Afterwards every accepted command has had exactly one
effect, every consumer has caught up, the ledger verifies, and no service was restarted: they
rode through the reconnects to the other servers of NATS_URL.

Short by default (one of each drill, part of ``make test``); ``RURALFUND_CHAOS=full``
(``make chaos``) runs three rounds under more load, the third drill of each round stopping a
node (SIGTERM) instead of pausing it in every other round. Each drill's time is in the summary.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import pytest
from ruralfund_common.testing.processes import SERVICES

pytestmark = pytest.mark.e2e

FULL = os.environ.get("RURALFUND_CHAOS", "").strip().lower() == "full"


@pytest.mark.timeout(1800)
async def test_every_accepted_command_has_one_effect_when_leaders_die_and_a_node_is_cut_off(cluster_rig):
    rig = cluster_rig
    driver, faults, checks = rig.driver, rig.faults, rig.checks
    t0 = time.monotonic()
    await driver.setup()
    leaders = await faults.stream_leaders()
    await _assert_three_replicas(rig, list(leaders))
    t1 = time.monotonic()
    driver.start()
    await asyncio.sleep(rig.scale.warmup_s)  # load before the first drill
    for round_no in range(rig.scale.rounds):
        # a different owner's stream each time: its leader is the node that goes
        await faults.kill_stream_leader(SERVICES[round_no % len(SERVICES)])
        await asyncio.sleep(rig.scale.settle_s)
        await faults.cut_off_node(SERVICES[(round_no + 1) % len(SERVICES)], stop=FULL and round_no % 2 == 1)
        await asyncio.sleep(rig.scale.settle_s)
    await driver.stop()
    t2 = time.monotonic()
    await driver.finish()

    assert not driver.log.unresolved, driver.log.unresolved
    assert len(faults.done) == 2 * rig.scale.rounds
    kinds = driver.summary()
    assert kinds["approve_claim"] > 0 and kinds["approve_payment"] > 0 and kinds["record_scans_nats"] > 0, kinds
    restarted = {s: rig.services[s].starts for s in SERVICES if rig.services[s].starts != 1}
    assert not restarted, f"services had to be restarted: {restarted}"
    lines = [f.detail for f in faults.done]
    lines.append(await checks.quiet())
    lines += await checks.exactly_once(driver.log)
    lines.append(await checks.ledger(driver.log))
    lines.append(rig.recovery())
    lines.append(_reconnects(rig))
    lines.append(f"time: cluster and services up {rig.startup_s:.0f} s, set-up {t1 - t0:.0f} s, load with drills "
                 f"{t2 - t1:.0f} s, settling and checks {time.monotonic() - t2:.0f} s")
    rig.summarise("three-node JetStream cluster", lines)


async def _assert_three_replicas(rig, streams: list[str]) -> None:
    """The services made (or scaled) every stream, the DLQ included, to RURALFUND_NATS_REPLICAS=3,
    one copy per node."""
    nc = await rig.nats_client()
    try:
        js = nc.jetstream(timeout=5)
        for stream in streams:
            info = await js.stream_info(stream)
            peers = [info.cluster.leader, *(r.name for r in info.cluster.replicas or [])]
            assert info.config.num_replicas == 3 and sorted(peers) == rig.cluster.names, (stream, info.cluster)
    finally:
        await nc.close()


def _reconnects(rig) -> str:
    """How the services' NATS connections moved between the servers."""
    moved = {s: [e.get("server") for e in rig.log_events(s) if e.get("event") == "nats_reconnected"] for s in SERVICES}
    events = Counter(e.get("event") for s in SERVICES for e in rig.log_events(s))
    return (f"services' NATS connections: {events['nats_disconnected']} disconnects, reconnected "
            + ", ".join(f"{s} {len(servers)}x" for s, servers in moved.items())
            + f"; consumers re-subscribed {events['consumer_resubscribed']}x (after "
            f"{events['consumer_resubscribe_failed']} failed tries, {events['consumer_fetch_error']} failed pulls); "
            "no service restarted")
