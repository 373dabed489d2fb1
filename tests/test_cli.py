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


def test_users_finds_the_people_that_dev_wrote(tmp_path, monkeypatch):
    """`ruralfund dev` keeps its people in var/dev/users.json; `ruralfund users` without
    --users-file looked in var/users.json and found nobody."""
    from ruralfund_common.auth import Role, UserDirectory

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RURALFUND_USERS_FILE", raising=False)
    UserDirectory(tmp_path / "var/dev/users.json").create("finance-bureau", [Role.FINANCE_BUREAU])
    r = runner.invoke(app, ["users", "token", "finance-bureau"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().count(".") == 2  # a JWT
    assert not (tmp_path / "var/users.json").exists()


def test_dev_refuses_a_taken_port_naming_it(tmp_path):
    """A taken port stops dev before it starts anything (it printed "ready" with the URLs of
    whatever answered there), naming the port; --ports auto moves it and says so."""
    import socket

    from ruralfund import devrun

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        r = runner.invoke(app, ["dev", "--var-dir", str(tmp_path / "dev"), "--base-port", str(taken - 1)])
        assert r.exit_code == 1
        assert f"port {taken} (funds)" in r.output and "already in use" in r.output
        assert not (tmp_path / "dev").exists()  # nothing started, nothing written

        moved = devrun._choose_ports("127.0.0.1", "auto", taken - 1)
        assert moved["funds"] != taken and moved["claims"] == taken - 1


def test_dev_never_counts_another_process_on_its_port_as_ready(monkeypatch, capsys):
    """Something else answering /readyz 200 on the port (another dev's service that took it
    after the check) is not this run's service: dev stops naming the port instead of "ready"."""
    import http.server
    import threading

    import httpx
    import pytest
    import typer

    from ruralfund import devrun

    class Impostor(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name
            body = b'{"status": "ok", "dev_run_id": "another-run"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setitem(devrun.PORTS, "funds", port)
    try:
        with httpx.Client(timeout=2) as client:
            assert devrun._ours_and_ready(client, "127.0.0.1", "funds", "another-run") is True
            with pytest.raises(typer.Exit) as stopped:
                devrun._ours_and_ready(client, "127.0.0.1", "funds", "this-run")
    finally:
        server.shutdown()
    assert stopped.value.exit_code == 1
    assert f"port {port} (funds) is answered by another process" in capsys.readouterr().err.replace("\n", " ")
