"""Streams follow the deployment's replica setting (RURALFUND_NATS_REPLICAS): on a three-node
JetStream cluster a stream made before is scaled to three replicas, keeps its messages and
survives the loss of its leader; a single server refuses replicas it cannot keep."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from ruralfund_common.messaging.streams import ensure_stream
from ruralfund_common.testing.infra import connect_nats
from ruralfund_common.testing.nats_cluster import EmbeddedNatsCluster
from ruralfund_common.testing.wait import eventually
from structlog.testing import capture_logs

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster() -> Iterator[EmbeddedNatsCluster]:
    with EmbeddedNatsCluster(3) as c:
        yield c


async def test_a_stream_is_scaled_to_three_replicas_and_survives_its_leader(cluster, namespace):
    await cluster.ready()
    nc = await connect_nats(cluster.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    stream = f"{namespace.upper()}_CLAIMS"
    try:
        js = nc.jetstream(timeout=5)
        await ensure_stream(js, stream, [f"{namespace}.claims.>"], replicas=1)
        for i in range(10):
            await js.publish(f"{namespace}.claims.evt.x.v1", b"%d" % i, headers={"Nats-Msg-Id": f"m{i}"})
        assert (await js.stream_info(stream)).config.num_replicas == 1

        await ensure_stream(js, stream, [f"{namespace}.claims.>"], replicas=3)  # scaled, not refused
        leader = await cluster.stream_leader(stream)
        peers = await cluster.stream_cluster(stream)
        assert sorted([peers["leader"], *(r["name"] for r in peers["replicas"])]) == cluster.names
        assert (await js.stream_info(stream)).config.num_replicas == 3

        cluster.node(leader).kill()  # the replicas elect a new leader; nothing acknowledged is lost
        assert await cluster.stream_leader(stream, not_on=leader) != leader
        ack = await js.publish(f"{namespace}.claims.evt.x.v1", b"10", headers={"Nats-Msg-Id": "m10"}, timeout=10)
        assert ack.seq == 11
        again = await js.publish(f"{namespace}.claims.evt.x.v1", b"0", headers={"Nats-Msg-Id": "m0"})
        assert again.duplicate  # the duplicate window was replicated with the messages
        assert (await js.stream_info(stream)).state.messages == 11
    finally:
        await nc.close()


async def test_a_service_starting_while_the_cluster_has_no_quorum_waits_for_it(cluster, namespace):
    """Two of three servers down: no leader can be elected, every JetStream request times out.
    Stream set-up (what a starting service does) retries instead of failing the start, and
    creates the stream once the servers are back."""
    await cluster.ready()
    stream = f"{namespace.upper()}_NOTIFY"
    nc = await connect_nats(cluster.nodes[0].url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream(timeout=2)
        cluster.nodes[1].kill()
        cluster.nodes[2].kill()
        with capture_logs() as logs:
            setup = asyncio.create_task(ensure_stream(js, stream, [f"{namespace}.notify.>"], replicas=3, timeout=300))
            await eventually(lambda: [e for e in logs if e["event"] == "stream_setup_retry"], timeout=60,
                             description="stream set-up retried")
            assert not setup.done(), setup
            cluster.nodes[1].start()
            cluster.nodes[2].start()
            await asyncio.wait_for(setup, 300)
        assert (await js.stream_info(stream)).config.num_replicas == 3
        assert await cluster.stream_leader(stream)
    finally:
        await nc.close()


async def test_a_single_server_refuses_more_replicas_than_it_can_keep(nats_client, namespace):
    js = nats_client.jetstream(timeout=5)
    stream = f"{namespace.upper()}_FUNDS"
    with pytest.raises(Exception, match="non-clustered"):
        await ensure_stream(js, stream, [f"{namespace}.funds.>"], replicas=3)
    await ensure_stream(js, stream, [f"{namespace}.funds.>"], replicas=1)
    with pytest.raises(Exception, match="cluster"):  # not silently "scaled" (nats-server 2.9 took it)
        await ensure_stream(js, stream, [f"{namespace}.funds.>"], replicas=3)
    assert (await js.stream_info(stream)).config.num_replicas == 1
