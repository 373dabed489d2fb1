"""The four services as real OS processes (``ruralfund serve``) on real NATS and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from ruralfund_common.auth import Role
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("claims", "funds", "logistics", "notify")
READY_TIMEOUT_SECONDS = 60.0
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
ENTERPRISE = person("Packaging Co", Role.ENTERPRISE, credit_code="91530427MA6K0B0Q1Y")


class MailBox:
    """The SMTP server notify sends to, and what the flows ask of the mails it received."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"

    def mails(self, to: str | None = None) -> list[Message]:
        found = map(message_from_bytes, self.messages)
        return [m for m in found if to is None or to in (m["To"] or "")]

    def mail(self, subject_text: str, to: str | None = None) -> Message | None:
        """The one mail (to ``to``) whose subject holds ``subject_text``; None while none came."""
        found = [m for m in self.mails(to) if subject_text in self.subject_of(m)]
        assert len(found) <= 1, f"{subject_text!r} was mailed {len(found)} times: it is sent once"
        return found[0] if found else None

    @staticmethod
    def subject_of(mail: Message) -> str:
        return str(make_header(decode_header(mail["Subject"] or "")))

    @staticmethod
    def body_of(mail: Message) -> str:
        part = mail.get_payload(0) if mail.is_multipart() else mail
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


@dataclass
class System:
    urls: dict[str, str]
    procs: dict[str, subprocess.Popen]
    logs: dict[str, Path]
    mailbox: MailBox
    clock_file: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.urls[service], timeout=10)

    async def open_xinping(self) -> None:
        """Monday 2026-03-02, 10:00 in Shanghai on the dev clock (the clock file moves all four
        services), the program loaded (as `ruralfund dev` loads it) and its accounts opened by funds."""
        admin = bearer(ADMIN)
        async with self.client("claims") as claims, self.client("funds") as funds:
            r = await funds.post("/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"}, headers=admin)
            assert r.status_code == 200, r.text
            r = await claims.post("/programs", content=(REPO / "programs/xinping-2021.yaml").read_bytes(),
                                  headers={**admin, "Content-Type": "application/yaml"})
            assert r.status_code == 201, r.text

            async def accounts_open() -> bool:
                return (await funds.get("/programs/xinping-2021/balances", headers=admin)).status_code == 200

            await eventually(accounts_open, timeout=20, description="funds opened the program's accounts")

    async def start_xinping(self, *, contact_email: str = "li@packaging.example",
                            account_no: str = "6228480000000000001") -> None:
        """The opening every Xinping flow shares: :meth:`open_xinping`, and 新平礼好包装有限公司
        (91530427MA6K0B0Q1Y) registered."""
        await self.open_xinping()
        async with self.client("claims") as claims:
            r = await claims.post("/enterprises", headers=bearer(ADMIN), json={
                "credit_code": "91530427MA6K0B0Q1Y", "name": "新平礼好包装有限公司", "kind": "enterprise",
                "contact": {"name": "李经理", "email": contact_email},
                "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": account_no},
                "program_code": "xinping-2021"})
            assert r.status_code == 201, r.text

    async def approved_packaging(self, claims: httpx.AsyncClient, *, quarter: str = "2023Q3",
                                 units: int = 12345) -> tuple[str, str]:
        """The enterprise's brand-packaging claim, reviewed complete and approved: (claim, award)."""
        r = await claims.post("/claims", headers=bearer(ENTERPRISE), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": quarter, "units": units}})
        assert r.status_code == 201, r.text
        claim_id = r.json()["id"]
        r = await claims.post(f"/claims/{claim_id}/review", json={"outcome": "complete"}, headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        r = await claims.post(f"/claims/{claim_id}/decision", json={"decision": "approve"}, headers=bearer(LEADER))
        assert r.status_code == 200, r.text
        return claim_id, r.json()["award_id"]

    def log_tail(self, service: str, lines: int = 40) -> str:
        return "\n".join(self.logs[service].read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture
def system_env() -> dict[str, str]:
    """More environment for the four services; a test overrides this fixture to run them, say,
    with their own NATS users and production-like event keys (test_example_subscriber)."""
    return {}


@pytest_asyncio.fixture(loop_scope="session")
async def system(nats_url, database_url, namespace, mailbox, tmp_path, system_env) -> Iterator[System]:
    ports = {svc: free_port() for svc in SERVICES}
    clock_file = tmp_path / "clock.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    env.update({
        "NATS_URL": nats_url, "DATABASE_URL": database_url, "RURALFUND_NAMESPACE": namespace,
        "RURALFUND_ENV": "test", "RURALFUND_CLOCK": "dev", "RURALFUND_DEV_CLOCK_FILE": str(clock_file),
        "RURALFUND_CALENDAR_DIR": str(tmp_path / "calendar"), "RURALFUND_LOG_FORMAT": "json",
        "RURALFUND_OUTBOX_POLL_SECONDS": "0.05",
        "RURALFUND_NOTIFY_SMTP_HOST": "127.0.0.1", "RURALFUND_NOTIFY_SMTP_PORT": str(mailbox.port),
        "RURALFUND_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['notify']}",
    })
    env.update(system_env)
    procs, logs = {}, {}
    for svc in SERVICES:
        logs[svc] = tmp_path / f"{svc}.log"
        with open(logs[svc], "wb") as log:
            procs[svc] = subprocess.Popen(
                [sys.executable, "-m", "ruralfund", "serve", svc, "--host", "127.0.0.1", "--port", str(ports[svc])],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
    sys_ = System({s: f"http://127.0.0.1:{p}" for s, p in ports.items()}, procs, logs, mailbox, clock_file, env)
    try:
        await _wait_ready(sys_)
        yield sys_
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _wait_ready(system: System) -> None:
    from ruralfund_common.testing.wait import eventually

    async with httpx.AsyncClient(timeout=1) as client:

        async def all_ready() -> bool:
            for svc in SERVICES:
                if system.procs[svc].poll() is not None:
                    raise RuntimeError(f"{svc} exited during start-up:\n{system.log_tail(svc)}")
                try:
                    if (await client.get(system.urls[svc] + "/readyz")).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
            return True

        await eventually(all_ready, timeout=READY_TIMEOUT_SECONDS, interval=0.1, description="all services ready")
