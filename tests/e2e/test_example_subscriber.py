"""The worked example consumer (examples/subscriber/consumer.py) as an integrator runs it.

The four services run as processes on a nats-server with the generated authorization (each
service as its own NATS user, `ruralfund deploy nats-config`) and with production-like event
keys; the example logs in as the read-only ``subscriber`` user and knows nothing of ruralfund
but the public keys its owners serve. It is SIGKILLed while events flow and started again: in
the end it holds every genuine event exactly once, each verified, per subject in sequence. A
privileged connection (ops) publishes forgeries, which it refuses and reports, and a genuine
event ahead of its sequence, which it holds back as a gap until the missing one arrives.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import nats
import pytest
from nats.js.errors import NotFoundError
from ruralfund_common.auth import Role
from ruralfund_common.messaging.signing import SigningKey
from ruralfund_common.testing.infra import nats_server_binary, wait_for_nats_url
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

from ruralfund.natsauth import (
    SERVICES,
    JetStreamOptions,
    ServerOptions,
    new_password,
    password_env_var,
    render_config,
    stream_name,
    user_name,
)

pytestmark = pytest.mark.e2e

REPO: Final = Path(__file__).resolve().parents[2]
EXAMPLE: Final = REPO / "examples" / "subscriber" / "consumer.py"
SUBSCRIBER: Final = "subscriber"
CATCH_UP_SECONDS: Final = 60.0
STOP_SECONDS: Final = 15.0
# Production-like keys (not the dev ones, which the example refuses by default).
KEYS: Final = {svc: SigningKey.generate(f"{svc}-example-test") for svc in SERVICES}
CREDIT_CODE: Final = "91530427MA6K0B0Q1Y"


def test_the_example_uses_public_tools_only() -> None:
    """An integrator has none of our packages: the example may not import them."""
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [m for m in modules if m.startswith("ruralfund")]
    assert {"nats", "httpx", "cloudevents.core.bindings.http"} <= modules


# --------------------------------------------------------------------------- the locked server


@dataclass
class LockedNats:
    port: int
    passwords: dict[str, str]
    log_path: Path

    def url_for(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"


@pytest.fixture
def locked_nats(namespace: str, tmp_path: Path) -> Iterator[LockedNats]:
    """nats-server with the generated config of this test's namespace (loopback only)."""
    options = ServerOptions(listen=None, http=None, jetstream=JetStreamOptions(store_dir=str(tmp_path / "js")))
    config, ports, log = tmp_path / "nats.conf", tmp_path / "ports", tmp_path / "nats-server.log"
    config.write_text(render_config([namespace], server=options), encoding="utf-8")
    ports.mkdir()
    users = {"ops": password_env_var("", "ops")}
    users |= {user_name(namespace, who): password_env_var(namespace, who) for who in (*SERVICES, SUBSCRIBER)}
    passwords = {user: new_password() for user in users}
    env = {**os.environ, **{var: passwords[user] for user, var in users.items()}}
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(nats_server_binary()), "-c", str(config), "-a", "127.0.0.1", "-p", "-1",
                                 "--ports_file_dir", str(ports)], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True)
    try:
        url = wait_for_nats_url(proc, ports, log_path=log)
        yield LockedNats(int(url.rsplit(":", 1)[1]), passwords, log)
    finally:
        proc.terminate()
        proc.wait(STOP_SECONDS)


@pytest.fixture
def system_env(locked_nats: LockedNats, namespace: str) -> dict[str, str]:
    """The services as their own NATS users, signing with their own (non-dev) keys."""
    env = {f"RURALFUND_{svc.upper()}_NATS_URL": locked_nats.url_for(user_name(namespace, svc)) for svc in SERVICES}
    env |= {f"RURALFUND_{svc.upper()}_EVENT_SIGNING_KEY": KEYS[svc].setting() for svc in SERVICES}
    env["RURALFUND_EVENT_TRUSTED_KEYS"] = ",".join(KEYS[svc].trusted_entry(f"{svc}.>") for svc in SERVICES)
    return env


# --------------------------------------------------------------------------- the example


class Example:
    """The example as a process of its own, its report (stdout) appended to one file."""

    def __init__(self, system, locked: LockedNats, namespace: str, work: Path) -> None:
        self.state, self.out = work / "subscriber.sqlite3", work / "subscriber.out"
        keys = [a for svc in SERVICES for a in ("--keys", f"{svc}={system.urls[svc]}")]
        self.cmd = [sys.executable, str(EXAMPLE), *keys, "--namespace", namespace, "--state", str(self.state)]
        self.env = {**os.environ, "SUBSCRIBER_NATS_URL": locked.url_for(user_name(namespace, SUBSCRIBER))}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.out, "ab") as out, open(self.out.with_suffix(".err"), "ab") as err:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.stderr()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_SECONDS)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_SECONDS)
            return None

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"the example exited:\n{self.stderr()}")
        return True

    def stderr(self) -> str:
        path = self.out.with_suffix(".err")
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def reports(self) -> list[dict]:
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def rows(self, sql: str) -> list[tuple]:
        if not self.state.exists():
            return []
        db = sqlite3.connect(self.state)
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:  # tables not made yet
            return []
        finally:
            db.close()

    def applied_ids(self) -> set[str]:
        return {row[0] for row in self.rows("SELECT id FROM events")}


# --------------------------------------------------------------------------- helpers


async def _genuine_event_ids(locked: LockedNats, namespace: str, forged_msg_ids: set[str]) -> set[str]:
    """Every event the streams hold, by CloudEvent id (a re-publish keeps the id), read as ops."""
    nc = await nats.connect(locked.url_for("ops"))
    try:
        js, ids = nc.jetstream(), set()
        for owner in SERVICES:
            state = (await js.stream_info(stream_name(namespace, owner))).state
            for seq in range(max(state.first_seq, 1), state.last_seq + 1):  # empty: 0..0
                try:
                    msg = await js.get_msg(stream_name(namespace, owner), seq)
                except NotFoundError:
                    continue
                if ".evt." in msg.subject and (msg.headers or {}).get("Nats-Msg-Id") not in forged_msg_ids:
                    ids.add(json.loads(msg.data)["id"])
        return ids
    finally:
        await nc.close()


def _event(subject: str, n: int) -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "type": subject, "source": f"ruralfund/{subject.split('.')[0]}",
        "time": datetime.now(UTC).isoformat(), "subject": f"probe-{n}", "correlationid": "example-test",
        "datacontenttype": "application/json", "data": {"n": n},
    }).encode()


def _headers(msg_id: str, seq: int) -> dict[str, str]:
    return {"Nats-Msg-Id": msg_id, "Ruralfund-Seq": str(seq),
            "content-type": "application/cloudevents+json; charset=utf-8"}


async def _publish_forgeries(locked: LockedNats, namespace: str) -> dict[str, str]:
    """Four messages claims never wrote, on a subject with no events yet and seq 1, so that
    accepting any of them would show: Nats-Msg-Id -> the refusal the example must report."""
    logical = "claims.evt.claim_rejected.v1"
    subject = f"{namespace}.{logical}" if namespace else logical
    attacker = SigningKey.generate("attacker-1")
    as_claims = SigningKey(KEYS["claims"].key_id, attacker.private)  # claims' key id, another key
    forged = {}
    nc = await nats.connect(locked.url_for("ops"))
    try:
        js = nc.jetstream()
        # funds' genuine key is published too, but only for funds' subjects
        for code, signer in (("UNSIGNED", None), ("BAD_SIGNATURE", as_claims), ("UNKNOWN_KEY", attacker),
                             ("WRONG_SIGNER", KEYS["funds"])):
            msg_id, data = f"forged-{code.lower()}-{uuid.uuid4().hex[:8]}", _event(logical, 0)
            headers = _headers(msg_id, 1)
            if signer is not None:
                headers = signer.sign(subject, data, headers)
            await js.publish(subject, data, headers=headers, stream=stream_name(namespace, "claims"))
            forged[msg_id] = code
    finally:
        await nc.close()
    return forged


async def _publish_probe(locked: LockedNats, namespace: str, seq: int) -> None:
    """A genuine claims event (signed with claims' key) on a subject of its own."""
    prefix = f"{namespace}." if namespace else ""
    logical = "claims.evt.subscriber_probe.v1"
    data = _event(logical, seq)
    headers = KEYS["claims"].sign(prefix + logical, data, _headers(f"probe-{seq}-{uuid.uuid4().hex[:8]}", seq))
    nc = await nats.connect(locked.url_for("ops"))
    try:
        await nc.jetstream().publish(prefix + logical, data, headers=headers, stream=stream_name(namespace, "claims"))
    finally:
        await nc.close()


async def _claim_to_publicity(system) -> None:
    """claims submitted, reviewed, approved -> funds reserves -> notify publishes, funds opens
    the publicity window: events of claims, funds and notify while the example is down."""
    enterprise = person("Packaging Co", Role.ENTERPRISE, credit_code=CREDIT_CODE)
    async with system.client("claims") as claims:
        r = await claims.post("/claims", headers=bearer(enterprise), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": "2023Q3", "units": 12345}})
        assert r.status_code == 201, r.text
        claim = r.json()["id"]
        r = await claims.post(f"/claims/{claim}/review", json={"outcome": "complete"},
                              headers=bearer(person("Admin Wang", Role.BUREAU_ADMIN)))
        assert r.status_code == 200, r.text
        r = await claims.post(f"/claims/{claim}/decision", json={"decision": "approve"},
                              headers=bearer(person("Leader Zhao", Role.LEADING_GROUP)))
        assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- the test


async def test_the_example_holds_every_event_once_across_a_kill_and_refuses_forgeries(
    system, locked_nats: LockedNats, namespace: str, tmp_path: Path
) -> None:
    example = Example(system, locked_nats, namespace, tmp_path)
    example.start()
    try:
        await system.start_xinping()  # the program, its accounts, the enterprise: events flow
        await eventually(lambda: example.alive() and len(example.applied_ids()) >= 1, timeout=CATCH_UP_SECONDS,
                         description="the example applied a first event")
        example.kill()  # mid-stream: SIGKILL, nothing flushed on the way out
        first_run = example.applied_ids()

        await _claim_to_publicity(system)  # while it is down
        forged = await _publish_forgeries(locked_nats, namespace)
        await _publish_probe(locked_nats, namespace, 2)  # ahead of its sequence: 1 is missing
        example.start()
        await eventually(lambda: example.alive() and example.rows(
            "SELECT expected_seq, got_seq FROM gaps WHERE subject = 'claims.evt.subscriber_probe.v1'") == [(1, 2)],
            timeout=CATCH_UP_SECONDS, description="the gap reported")
        assert not example.rows("SELECT id FROM events WHERE subject = 'claims.evt.subscriber_probe.v1'")
        await _publish_probe(locked_nats, namespace, 1)  # the missing one arrives

        async def caught_up() -> bool:
            return example.alive() and example.applied_ids() == await _genuine_event_ids(
                locked_nats, namespace, set(forged))

        await eventually(caught_up, timeout=CATCH_UP_SECONDS, interval=0.5,
                         description="the example holds every genuine event")
        assert example.stop() == 0, example.stderr()
    finally:
        example.stop()

    # exactly once, each signed by its owner's own key, per subject gapless from 1
    rows = example.rows("SELECT id, subject, seq, signed_by FROM events")
    assert len(rows) == len({r[0] for r in rows})
    by_subject: dict[str, list[int]] = {}
    for _id, subject, seq, signed_by in rows:
        assert signed_by == KEYS[subject.split(".")[0]].key_id, (subject, signed_by)
        by_subject.setdefault(subject, []).append(seq)
    for subject, seqs in by_subject.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), subject
    assert {"claims.evt.claim_approved.v1", "funds.evt.award_reserved.v1", "notify.evt.publicity_published.v1",
            "claims.evt.subscriber_probe.v1"} <= set(by_subject)
    # the kill was mid-stream: the second run applied what the first had not
    assert 0 < len(first_run) < len(rows)
    # the forgeries were refused and reported, and moved nothing
    refused = {msg_id: code for msg_id, code in example.rows("SELECT msg_id, code FROM refused")}
    assert refused == forged
    assert "claims.evt.claim_rejected.v1" not in by_subject
    reported = {r.get("msg_id"): r.get("code") for r in example.reports() if r["outcome"] == "refused"}
    assert reported == forged
    # neither the example nor any service was refused anything by NATS: the read-only user is
    # enough for the example, and the services ran under their own users throughout
    assert "Violation" not in locked_nats.log_path.read_text(errors="replace")
