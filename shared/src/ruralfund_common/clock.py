"""Injected clocks.

Domain rules about publicity windows and SLAs depend on "now", so no code calls
``datetime.now()`` directly: services get a ``Clock``. The dev clock can be set and advanced
(through an admin endpoint) to walk a claim through a 5-working-day window in seconds; a
service refuses to start with it in production.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from .errors import DomainError

__all__ = ["Clock", "DevClock", "DevClockForbidden", "SystemClock", "make_clock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    kind = "system"

    def now(self) -> datetime:
        return datetime.now(UTC)


class DevClockForbidden(DomainError):
    status = 500


class DevClock:
    """A controllable clock: real time plus an offset.

    With ``state_file`` the offset lives in a small JSON file, so every service process on a
    developer's machine (``ruralfund dev``) moves together when one of them is told to advance.
    """

    kind = "dev"

    def __init__(self, state_file: str | Path | None = None) -> None:
        self._file = Path(state_file) if state_file else None
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._file_mtime: float | None = None

    def _read_file(self) -> None:
        if self._file is None:
            return
        try:
            mtime = self._file.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._file_mtime:
            data = json.loads(self._file.read_text() or "{}")
            self._offset = timedelta(microseconds=int(data.get("offset_us", 0)))
            self._file_mtime = mtime

    def _write_file(self) -> None:
        if self._file is None:
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(f".{os.getpid()}.tmp")
        offset_us = self._offset // timedelta(microseconds=1)
        tmp.write_text(json.dumps({"offset_us": offset_us}))
        tmp.replace(self._file)
        self._file_mtime = self._file.stat().st_mtime_ns

    def now(self) -> datetime:
        with self._lock:
            self._read_file()
            return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        with self._lock:
            self._offset = instant - datetime.now(UTC)
            self._write_file()
        return self.now()

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._read_file()
            self._offset += delta
            self._write_file()
        return self.now()

    def reset(self) -> datetime:
        with self._lock:
            self._offset = timedelta(0)
            self._write_file()
        return self.now()


def make_clock(kind: str, env: str, state_file: str | None = None) -> Clock:
    if kind == "dev":
        if env == "production":
            raise DevClockForbidden(
                "DEV_CLOCK_IN_PRODUCTION",
                "the controllable dev clock cannot be used when RURALFUND_ENV=production",
                title_zh="生产环境不能使用开发时钟",
                detail_zh="生产环境（RURALFUND_ENV=production）不能使用可调的开发时钟。",
            )
        return DevClock(state_file)
    return SystemClock()
