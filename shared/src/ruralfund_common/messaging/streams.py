"""JetStream stream set-up, idempotent so every service can run it at every start."""

from __future__ import annotations

from typing import Any

from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

__all__ = ["ensure_stream", "STREAM_DUPLICATE_WINDOW_SECONDS"]

# JetStream drops a re-sent message whose Nats-Msg-Id it saw within this window: it covers a
# relay that crashed between publishing and marking its rows sent and restarted.
STREAM_DUPLICATE_WINDOW_SECONDS = 120


async def ensure_stream(js: Any, name: str, subjects: list[str]) -> None:
    """Create or reconcile a stream; safe to call from every service at every start."""
    config = StreamConfig(
        name=name, subjects=subjects, storage=StorageType.FILE,
        duplicate_window=STREAM_DUPLICATE_WINDOW_SECONDS,
    )
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except Exception:
            await js.stream_info(name)  # lost a creation race with another service: fine
        return
    if sorted(info.config.subjects or []) != sorted(subjects):
        await js.update_stream(config)
