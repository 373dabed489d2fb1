"""JetStream stream set-up, idempotent so every service can run it at every start."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError

from ..logging import get_logger

__all__ = ["STREAM_DUPLICATE_WINDOW_SECONDS", "ensure_stream"]

# JetStream drops a re-sent message whose Nats-Msg-Id it saw within this window: it covers a
# relay that crashed between publishing and marking its rows sent and restarted.
STREAM_DUPLICATE_WINDOW_SECONDS = 120
# A cluster answers "no leader" (503), nothing, or late while it elects one - a server just lost,
# or a loaded machine that creates three copies of a stream in more than the 5 s a JetStream
# request waits. Set-up retries that this long before a service gives up starting.
STREAM_SETUP_TIMEOUT_SECONDS = 60.0
_RETRY_PAUSE_SECONDS = 0.5
_TRANSIENT = (NatsTimeoutError, asyncio.TimeoutError, ServiceUnavailableError, NoRespondersError)
log = get_logger("ruralfund.streams")


async def ensure_stream(js: Any, name: str, subjects: list[str], *, replicas: int = 1,
                        timeout: float = STREAM_SETUP_TIMEOUT_SECONDS) -> None:
    """Create or reconcile a stream; safe to call from every service at every start.

    ``replicas`` is the deployment's RURALFUND_NATS_REPLICAS: a stream created before the
    deployment became a cluster (or by a service with another setting) is scaled to it rather
    than refused, as JetStream allows for a running stream. On a single server anything above 1
    fails here, at start, with the server's reason. Answers a cluster gives while it elects a
    leader are retried for ``timeout`` seconds."""
    assert 1 <= replicas <= 5, replicas
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await _ensure_stream(js, name, subjects, replicas)
        except _TRANSIENT as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("stream_setup_retry", stream=name, error=repr(exc))
            await asyncio.sleep(_RETRY_PAUSE_SECONDS)


async def _ensure_stream(js: Any, name: str, subjects: list[str], replicas: int) -> None:
    config = StreamConfig(
        name=name, subjects=subjects, storage=StorageType.FILE,
        duplicate_window=STREAM_DUPLICATE_WINDOW_SECONDS, num_replicas=replicas,
    )
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except Exception as exc:
            try:
                info = await js.stream_info(name)  # lost a creation race with another service: fine
            except NotFoundError:
                raise exc from None  # the server's reason (e.g. replicas > 1 on a single server)
    if replicas > 1 and not (info.cluster and info.cluster.name):
        # a single server refuses to create such a stream, but some versions (2.9) take the
        # update and report replicas they do not keep: refuse here, so a deployment that asks
        # for a cluster's replicas of a lone server does not start
        raise RuntimeError(f"stream {name}: RURALFUND_NATS_REPLICAS={replicas} but the NATS server is not "
                           "in a JetStream cluster (replicas > 1 need one)")
    if sorted(info.config.subjects or []) != sorted(subjects) or (info.config.num_replicas or 1) != replicas:
        await js.update_stream(config)
