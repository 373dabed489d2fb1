"""Claims' own settings, from ``RURALFUND_CLAIMS_<NAME>`` (then ``RURALFUND_<NAME>``).

A plain dataclass read from the environment, like logistics': a few numbers do not justify
another settings class in the common package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["SETTINGS_KEY", "ClaimsSettings"]

SETTINGS_KEY: Final = "claims.settings"  # where the running service keeps them (ctx.extras)

MIN_CHECK_SECONDS: Final = 0.05
MAX_CHECK_SECONDS: Final = 86_400.0
MAX_BATCH: Final = 5_000
MAX_EVIDENCE_FILE_BYTES: Final = 50 * 1024 * 1024  # bytea rows beyond this belong in object storage
MAX_FILES_PER_CLAIM: Final = 100


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(f"RURALFUND_CLAIMS_{name}") or environ.get(f"RURALFUND_{name}")


@dataclass(frozen=True)
class ClaimsSettings:
    # How often overdue milestones are looked for. A milestone is due by the injected clock's
    # local day, so this only bounds how late the notice goes out (and the dev clock moves it).
    milestone_check_seconds: float = 600.0
    milestone_check_batch: int = 500
    # Evidence files: a scanned invoice or a spreadsheet; larger documents are refused (413).
    evidence_max_file_bytes: int = 10 * 1024 * 1024
    evidence_max_files_per_claim: int = 20

    def __post_init__(self) -> None:
        if not MIN_CHECK_SECONDS <= self.milestone_check_seconds <= MAX_CHECK_SECONDS:
            raise ValueError(
                f"milestone_check_seconds must be {MIN_CHECK_SECONDS}..{MAX_CHECK_SECONDS}"
            )
        if not 1 <= self.milestone_check_batch <= MAX_BATCH:
            raise ValueError(f"milestone_check_batch must be 1..{MAX_BATCH}")
        if not 1 <= self.evidence_max_file_bytes <= MAX_EVIDENCE_FILE_BYTES:
            raise ValueError(f"evidence_max_file_bytes must be 1..{MAX_EVIDENCE_FILE_BYTES}")
        if not 1 <= self.evidence_max_files_per_claim <= MAX_FILES_PER_CLAIM:
            raise ValueError(f"evidence_max_files_per_claim must be 1..{MAX_FILES_PER_CLAIM}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClaimsSettings:
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for name, kind in (
            ("milestone_check_seconds", float),
            ("milestone_check_batch", int),
            ("evidence_max_file_bytes", int),
            ("evidence_max_files_per_claim", int),
        ):
            raw = _lookup(env, name.upper())
            if raw:
                values[name] = kind(raw)
        return cls(**values)  # type: ignore[arg-type]
