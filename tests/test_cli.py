"""The `ruralfund` command mounts every sub-command, and the README's examples run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ruralfund.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_every_subcommand_is_mounted():
    out = runner.invoke(app, ["--help"]).output
    for name in ("dev", "serve", "calendar", "users", "program", "award", "ledger", "deploy"):
        assert name in out


def test_publicity_window_from_the_readme():
    r = runner.invoke(app, ["calendar", "publicity-window", "--published-on", "2026-09-29", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"starts_on": "2026-09-29", "ends_on": "2026-10-10", "payable_from": "2026-10-11"}


def test_program_check_exit_codes():
    assert runner.invoke(app, ["program", "check", str(REPO / "programs/xinping-2021.yaml")]).exit_code == 0
    bad = runner.invoke(app, ["program", "check", str(REPO / "programs/examples/xinping-2021-attachment2.yaml")])
    assert bad.exit_code == 1 and "LINE_SUM_MISMATCH" in bad.output


def test_serve_refuses_an_unknown_service():
    r = runner.invoke(app, ["serve", "ledgerx"])
    assert r.exit_code == 2
