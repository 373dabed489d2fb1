"""A three-node JetStream cluster of embedded nats-server processes on 127.0.0.1.

Why: a production deployment runs NATS as a cluster with streams replicated three times
(RURALFUND_NATS_REPLICAS=3); what it promises (a stream survives the loss of its leader or of a
node cut off from the others) can only be checked against real servers electing real leaders.
Each node is an :class:`EmbeddedNats` with its own store dir and a configuration naming its
peers' routes; ``sync_interval: always`` makes every node fsync each write before it counts
towards the quorum, as the Helm values ask of a production cluster.

Nodes keep their client and route ports across stop/kill/start, so clients configured with
the comma-separated URL list (NATS_URL) and the peers' routes find them again. The ports are
chosen below Linux's ephemeral range: while a node is down, an outgoing connection of the run
could otherwise take its port.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Final, Self

from ..settings import nats_servers
from .infra import EmbeddedNats, connect_nats, free_ports_below_ephemeral
from .wait import eventually

__all__ = ["SYNC_INTERVAL", "EmbeddedNatsCluster", "nats_cluster"]

#: Every node fsyncs each JetStream write before acknowledging it (the default is every 2 min,
#: so a power loss on two nodes could lose what a quorum had acknowledged).
SYNC_INTERVAL: Final = "always"
CLUSTER_NAME: Final = "ruralfund"
#: A cluster elects its JetStream meta leader a few seconds after the nodes meet.
READY_TIMEOUT_S: Final = 60.0
#: A stream leader is re-elected within seconds of losing its leader; a loaded runner needs more.
LEADER_TIMEOUT_S: Final = 60.0
_STREAM_INFO_TIMEOUT_S: Final = 2.0
_log = logging.getLogger(__name__)


def node_config(name: str, route_port: int, route_ports: list[int]) -> str:
    """A node's nats-server configuration (the client port and store dir come as flags)."""
    routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in route_ports)
    return (f"server_name: {name}\n"
            f"jetstream {{\n  sync_interval: {SYNC_INTERVAL}\n}}\n"
            f"cluster {{\n  name: {CLUSTER_NAME}\n  listen: 127.0.0.1:{route_port}\n  routes: [{routes}]\n}}\n")


class EmbeddedNatsCluster:
    """``size`` nats-server processes forming one JetStream cluster; node ``i`` is named ``n<i>``.

    ``nodes[i]`` is the node's :class:`EmbeddedNats` (stop, kill, start, pause, resume it);
    :attr:`url` is the comma-separated list the services take as NATS_URL.
    """

    def __init__(self, size: int = 3) -> None:
        assert size >= 3 and size % 2 == 1, "a JetStream quorum needs an odd number of nodes, at least 3"
        ports = free_ports_below_ephemeral(2 * size)
        self.client_ports, self.route_ports = ports[:size], ports[size:]
        self.names = [f"n{i}" for i in range(size)]
        self.nodes = [
            EmbeddedNats(port=self.client_ports[i],
                         config_text=node_config(self.names[i], self.route_ports[i], self.route_ports))
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.client_ports)

    @property
    def servers(self) -> list[str]:
        return nats_servers(self.url)

    def node(self, name: str) -> EmbeddedNats:
        return self.nodes[self.names.index(name)]

    def start(self) -> str:
        """Start every node that is not running; the cluster may still be electing (see ready)."""
        for node in self.nodes:
            node.start()
        return self.url

    async def ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until JetStream answers through every running node (a meta leader is elected and each
        node knows it): a stream can then be created with all replicas."""
        async def answers() -> bool:
            for node in self.nodes:
                if not node.running or node.paused:
                    continue
                try:
                    nc = await connect_nats(node.url)
                except Exception:  # noqa: BLE001 - not accepting clients yet
                    return False
                try:
                    info = json.loads((await nc.request("$JS.API.INFO", b"", timeout=2)).data)
                    if "error" in info:
                        return False
                except Exception:  # noqa: BLE001 - no responders / timeout while electing
                    return False
                finally:
                    await nc.close()
            return True

        await eventually(answers, timeout=timeout, interval=0.2, description="JetStream cluster ready")

    async def stream_leader(self, stream: str, *, timeout: float = LEADER_TIMEOUT_S,
                            not_on: str | None = None) -> str:
        """The name of the node leading ``stream`` once it has a leader (other than ``not_on``),
        as many peers as its replicas (a stream just scaled up has its leader before its new
        replicas) and the replicas on every node that is up (running, not paused) current."""
        up = {name for name, node in zip(self.names, self.nodes) if node.running and not node.paused}

        async def leader() -> str | None:
            info = await self.stream_info(stream) or {}
            cluster = info.get("cluster") or {}
            name, replicas = cluster.get("leader"), cluster.get("replicas") or []
            if not name or name == not_on or 1 + len(replicas) < info["config"].get("num_replicas", 1):
                return None
            if not all(r.get("current") and not r.get("offline") for r in replicas if r.get("name") in up):
                return None
            return str(name)

        return await eventually(leader, timeout=timeout, interval=0.2,
                                description=f"stream {stream} led by a node with current replicas")

    async def stream_cluster(self, stream: str) -> dict[str, Any] | None:
        """The cluster part (leader, replicas) of :meth:`stream_info`."""
        info = await self.stream_info(stream)
        return None if info is None else info.get("cluster") or {}

    async def stream_info(self, stream: str) -> dict[str, Any] | None:
        """``$JS.API.STREAM.INFO`` from any node that is up; None while no node can answer (no
        leader at the moment)."""
        for node in self.nodes:
            if node.running and not node.paused:
                info = await _stream_info(node.url, stream)
                if info is not None:
                    return info
        return None

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def close(self) -> None:
        with ExitStack() as stack:
            for node in self.nodes:
                stack.callback(node.close)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedNatsCluster({', '.join(f'{n}={node.pid}' for n, node in zip(self.names, self.nodes))})"


@contextmanager
def nats_cluster(size: int = 3) -> Iterator[EmbeddedNatsCluster]:
    """A started cluster for the block (call ``await cluster.ready()`` before using streams)."""
    with EmbeddedNatsCluster(size) as cluster:
        yield cluster


async def _stream_info(url: str, stream: str) -> dict[str, Any] | None:
    """One node's answer to ``$JS.API.STREAM.INFO``, or None (node starting, no stream leader)."""
    try:
        nc = await connect_nats(url)
    except Exception as exc:  # noqa: BLE001 - a node starting up: the caller asks another
        _log.debug("stream info: %s does not answer: %r", url, exc)
        return None
    try:
        msg = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=_STREAM_INFO_TIMEOUT_S)
        info = json.loads(msg.data)
    except Exception as exc:  # noqa: BLE001 - no leader at the moment
        _log.debug("stream info of %s via %s: %r", stream, url, exc)
        return None
    finally:
        await nc.close()
    return None if "error" in info else info
