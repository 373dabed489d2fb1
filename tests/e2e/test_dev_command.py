"""`ruralfund dev` (what `make run` runs) brings the whole system up on a machine with no servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_dev_starts_embedded_servers_all_services_and_loads_the_demo_program(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL") and not k.startswith("RURALFUND_")}
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "ruralfund", "dev", "--var-dir", str(tmp_path / "dev"), "--exit-when-ready",
         "--program", str(REPO / "programs/xinping-2021.yaml"), "--host", "127.0.0.1", "--free-ports"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )
    seconds = time.monotonic() - started
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "embedded NATS" in out and "embedded PostgreSQL" in out
    assert "loaded" in out and "xinping-2021.yaml" in out, out[-2000:]
    for svc in ("claims", "funds", "logistics", "notify"):
        assert f"{svc} API docs" in out
    assert "/publicity" in out
    assert seconds < 180
