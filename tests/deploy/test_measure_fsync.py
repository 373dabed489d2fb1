"""deploy/measure_fsync.py: the two servers differ in sync_interval only, and it prints figures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "measure_fsync.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("measure_fsync", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_configs_differ_only_in_sync_interval(tmp_path: Path) -> None:
    m = _module()
    always, default = m.nats_config(tmp_path, "always"), m.nats_config(tmp_path, "default")
    assert always.replace("  sync_interval: always\n", "") == default
    assert "sync_interval" not in default


@pytest.mark.integration
def test_it_measures_both_modes_on_real_servers(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "0.3", "--rounds", "1", "--json",
         "--store-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert [f["in_flight"] for f in figures] == [1, 100]
    for f in figures:
        assert f["always_per_s"] > 0 and f["default_per_s"] > 0
        assert f["ratio"] == pytest.approx(f["always_per_s"] / f["default_per_s"], rel=1e-3)
    assert list(tmp_path.iterdir()) == [], "stores must be deleted"
