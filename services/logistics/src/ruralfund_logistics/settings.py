"""Logistics' own settings, from ``RURALFUND_LOGISTICS_<NAME>`` (then ``RURALFUND_<NAME>``).

A plain dataclass read from the environment: two numbers do not justify another dependency.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["LogisticsSettings"]

MIN_SWEEP_SECONDS: Final = 0.05
MAX_SWEEP_SECONDS: Final = 3600.0
MAX_SWEEP_BATCH: Final = 5000


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(f"RURALFUND_LOGISTICS_{name}") or environ.get(f"RURALFUND_{name}")


@dataclass(frozen=True)
class LogisticsSettings:
    # How often the breach sweep runs. A breach is reported at most this late; the deadline
    # itself is by the injected clock, so the dev clock moves breaches too.
    sla_sweep_seconds: float = 30.0
    # Parcels reported per sweep transaction (the sweep loops until none is due).
    sla_sweep_batch: int = 500

    def __post_init__(self) -> None:
        if not MIN_SWEEP_SECONDS <= self.sla_sweep_seconds <= MAX_SWEEP_SECONDS:
            raise ValueError(f"sla_sweep_seconds must be {MIN_SWEEP_SECONDS}..{MAX_SWEEP_SECONDS}")
        if not 1 <= self.sla_sweep_batch <= MAX_SWEEP_BATCH:
            raise ValueError(f"sla_sweep_batch must be 1..{MAX_SWEEP_BATCH}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LogisticsSettings:
        env = os.environ if environ is None else environ
        seconds = _lookup(env, "SLA_SWEEP_SECONDS")
        batch = _lookup(env, "SLA_SWEEP_BATCH")
        return cls(
            sla_sweep_seconds=float(seconds) if seconds else cls.sla_sweep_seconds,
            sla_sweep_batch=int(batch) if batch else cls.sla_sweep_batch,
        )
