"""A running notify service fed by real upstream outboxes, with a real SMTP server.

Events reach notify the way they do in production: written to a ``claims`` or ``funds``
outbox in the same test database, relayed by an ``OutboxRelay`` to JetStream and consumed
by notify's durable consumers. Mail goes to an aiosmtpd server on 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from nats.aio.client import Client as NatsClient
from ruralfund_common.auth import Role
from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    ItemBudget,
    LineBudget,
    PaymentExecuted,
    ProgramActivated,
    ReservationRefused,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.payment_executed import BankInstruction, PaymentApproval
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.db.pool import create_pool
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import Producer, producer
from ruralfund_common.testing.wait import eventually
from ruralfund_notify.app import create_app
from ruralfund_notify.settings import NotifySettings

PUBLIC_BASE_URL = "https://portal.example.cn/ruralfund"
COMPANY_CODE = "91530427MA6K123456"
INDIVIDUAL_CODE = "92530427MA6K654321"
BOXES_AWARD_FEN = 246_900  # 12,345 boxes x 0.20 yuan
ADMIN = bearer(person("Admin", Role.BUREAU_ADMIN))
AUDITOR = bearer(person("Auditor", Role.AUDITOR))
NOTIFY_CONSUMERS = {
    "claims": [
        "on_enterprise_registered",
        "on_program_activated",
        "on_claim_approved",
        "on_claim_rejected",
        "on_claim_submitted",
        "on_claim_returned",
        "on_milestone_overdue",
        "on_enterprise_bank_account_changed",
    ],
    "funds": [
        "on_payment_executed",
        "on_award_revoked",
        "on_award_reserved",
        "on_reservation_refused",
        "on_contract_payment_refused",
        "on_ledger_checkpoint",
    ],
    "logistics": ["on_delivery_sla_breached"],
}
BUREAU_EMAIL = "shangwu@xinping.gov.cn"


# ------------------------------------------------------------------------------ SMTP


@dataclass
class Received:
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        return self.message.get_content()


@dataclass
class RecordingSmtp:
    """aiosmtpd handler: records accepted mail; answers queued refusals first."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # e.g. "451 4.3.0 try again later"
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            self.refused += 1
            return self.refusals.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    handler = RecordingSmtp(port=free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


# ------------------------------------------------------------------------------ webhook receiver


@dataclass
class Hook:
    """One request the receiver got: what a real receiving system would see."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered


@dataclass
class WebhookReceiver:
    """A minimal HTTP/1.1 server on 127.0.0.1 (asyncio streams, no framework): answers each
    request with the next status from ``answers`` (then 200) and records it."""

    port: int = 0
    hooks: list[Hook] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    fail_first_per_id: int = 0  # answer 500 to the first N attempts of each webhook-id

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ruralfund/hooks"

    def _status_for(self, headers: dict[str, str]) -> int:
        if self.answers:
            return self.answers.pop(0)
        seen = sum(
            1 for h in self.hooks if h.headers.get("webhook-id") == headers.get("webhook-id")
        )
        return 500 if seen < self.fail_first_per_id else 200

    async def handle(self, reader: Any, writer: Any) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self._status_for(headers)
            self.hooks.append(Hook(request_line[1], headers, body, status))
            answer = b"accepted" if status < 300 else b"not now"
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        finally:
            writer.close()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    import asyncio

    hooks = WebhookReceiver()
    server = await asyncio.start_server(hooks.handle, "127.0.0.1", 0)
    hooks.port = server.sockets[0].getsockname()[1]
    try:
        yield hooks
    finally:
        server.close()
        await server.wait_closed()



# ------------------------------------------------------------------------------ the harness


@dataclass
class Harness:
    client: httpx.AsyncClient
    claims: Producer
    funds: Producer
    logistics: Producer
    smtp: RecordingSmtp
    db: asyncpg.Pool  # notify's own schema, for assertions
    nc: NatsClient
    namespace: str
    calendar_dir: Path

    async def set_clock(self, instant: str) -> None:
        r = await self.client.post("/admin/clock", json={"set_to": instant}, headers=ADMIN)
        assert r.status_code == 200, r.text

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.db.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.db.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def consumers_idle(self) -> bool:
        """Every notify consumer has handled (and acked) all it was sent."""
        js = self.nc.jetstream()
        for owner, handlers in NOTIFY_CONSUMERS.items():
            for handler in handlers:
                info = await js.consumer_info(
                    f"{self.namespace.upper()}_{owner.upper()}", f"notify__{handler}"
                )
                if info.num_pending or info.num_ack_pending:
                    return False
        return True

    async def settled(self) -> None:
        """Wait until every event was handled and no mail is left to send."""
        await eventually(self.consumers_idle, description="notify consumers caught up")
        await eventually(
            lambda: self.fetchval("SELECT count(*) FROM emails WHERE status = 'pending'"), expect=0
        )

    async def published_events(self, count: int) -> list[dict[str, Any]]:
        """``count`` PublicityPublished envelopes from notify's stream, read by a fresh consumer."""
        return await self.notify_events("notify.evt.publicity_published.v1", count)

    async def notify_events(self, subject: str, count: int) -> list[dict[str, Any]]:
        """``count`` envelopes of ``subject`` from notify's stream, read by a fresh consumer."""
        import json

        js = self.nc.jetstream()
        sub = await js.pull_subscribe(
            f"{self.namespace}.{subject}", stream=f"{self.namespace.upper()}_NOTIFY"
        )
        try:
            msgs = await sub.fetch(count, timeout=10)
            return [json.loads(m.data) for m in msgs]
        finally:
            await sub.unsubscribe()

    async def notify_event_count(self, subject: str) -> int:
        """How many ``subject`` messages notify's stream holds."""
        info = await self.nc.jetstream().stream_info(
            f"{self.namespace.upper()}_NOTIFY", subjects_filter=f"{self.namespace}.{subject}"
        )
        return (info.state.subjects or {}).get(f"{self.namespace}.{subject}", 0)

    async def stream_messages(self, owner: str) -> int:
        info = await self.nc.jetstream().stream_info(f"{self.namespace.upper()}_{owner.upper()}")
        return info.state.messages


HarnessFactory = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest_asyncio.fixture
async def make_harness(
    nats_url: str,
    database_url: str,
    namespace: str,
    smtp: RecordingSmtp,
    nats_client: NatsClient,
    tmp_path: Path,
) -> HarnessFactory:
    """``async with make_harness(**notify_settings) as h`` — notify running with those settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Harness]:
        calendar_dir = (
            tmp_path / "calendar"
        )  # isolated: a developer's loaded years must not leak in
        settings = service_settings(
            "notify",
            nats_url=nats_url,
            database_url=database_url,
            namespace=namespace,
            calendar_dir=calendar_dir,
        )
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "public_base_url": PUBLIC_BASE_URL,
            "mail_retry_base_seconds": 0.05,
            "mail_retry_max_seconds": 0.2,
            "mail_poll_seconds": 0.1,
            "smtp_timeout_seconds": 5,
            "bureau_email": BUREAU_EMAIL,
            "sla_summary_poll_seconds": 0.1,
            # the development setting: the test receiver is http on 127.0.0.1
            "webhook_allow_loopback": True,
            "webhook_retry_base_seconds": 0.05,
            "webhook_retry_max_seconds": 0.2,
            "webhook_poll_seconds": 0.1,
        }
        values.update(overrides)
        notify_settings = NotifySettings(**values)
        async with running_service(
            partial(create_app, notify_settings=notify_settings), settings
        ) as client:
            db = await create_pool(database_url, "notify")
            try:
                async with (
                    producer("claims", database_url, nats_url, namespace) as claims,
                    producer("funds", database_url, nats_url, namespace) as funds,
                    producer("logistics", database_url, nats_url, namespace) as logistics,
                ):
                    yield Harness(
                        client,
                        claims,
                        funds,
                        logistics,
                        smtp,
                        db,
                        nats_client,
                        namespace,
                        calendar_dir,
                    )
            finally:
                await db.close()

    return start


@pytest_asyncio.fixture
async def harness(make_harness: HarnessFactory) -> AsyncIterator[Harness]:
    async with make_harness() as h:
        yield h


# ------------------------------------------------------------------------------ events


class Samples:
    """Upstream events with the Xinping seed numbers; tests get it as the ``samples`` fixture
    (test modules cannot import from conftest under --import-mode=importlib)."""

    COMPANY_CODE = COMPANY_CODE
    INDIVIDUAL_CODE = INDIVIDUAL_CODE
    BOXES_AWARD_FEN = BOXES_AWARD_FEN
    PUBLIC_BASE_URL = PUBLIC_BASE_URL
    ADMIN = ADMIN
    AUDITOR = AUDITOR
    BUREAU_EMAIL = BUREAU_EMAIL

    @staticmethod
    def submission(*, eligible: bool = True) -> ClaimSubmitted:
        return ClaimSubmitted(
            claim_id="claim-1",
            program_code="xinping-2021",
            item_code="brand-packaging",
            credit_code=COMPANY_CODE,
            enterprise_name="新平礼好农业科技有限公司",
            period="2026Q1",
            amount_fen=BOXES_AWARD_FEN if eligible else 0,
            eligible=eligible,
            rule_version="brand-packaging/v1",
            submitted_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        )

    @staticmethod
    def returned() -> ClaimReturned:
        return ClaimReturned(
            claim_id="claim-1",
            program_code="xinping-2021",
            item_code="brand-packaging",
            credit_code=COMPANY_CODE,
            enterprise_name="新平礼好农业科技有限公司",
            note="请补充2026年第一季度带标识包装箱的采购发票和出库单",
            returned_by="u-admin",
            returned_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        )

    @staticmethod
    def milestone(email: str | None = "jsb@xinping-logistics.cn") -> MilestoneOverdue:
        return MilestoneOverdue(
            program_code="xinping-2021",
            milestone_code="logistics-center",
            name="县物流仓储配送中心建成运营",
            due_on=datetime(2026, 2, 27).date(),
            responsible_unit="新平县邮政分公司",
            responsible_email=email,
            detected_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        )

    @staticmethod
    def breach(
        parcel_id: str, deadline: datetime, station: str | None = "st-gasa"
    ) -> DeliverySlaBreached:
        from datetime import timedelta

        return DeliverySlaBreached(
            parcel_id=parcel_id,
            county_code="530427",
            destination_station_id=station,
            town_station_id="town-gasa",
            left_center_at=deadline - timedelta(hours=24),
            deadline_at=deadline,
            detected_at=deadline + timedelta(minutes=5),
            last_scan_kind="town_arrival",
        )

    @staticmethod
    def enterprise(
        credit_code: str = COMPANY_CODE,
        name: str = "新平礼好农业科技有限公司",
        contact_email: str | None = "wang@xinping-lihao.cn",
    ) -> EnterpriseRegistered:
        return EnterpriseRegistered(
            credit_code=credit_code,
            name=name,
            kind="enterprise",
            county_code="530427",
            contact_name="王经理",
            contact_email=contact_email,
            contact_phone="13812345678",
        )

    @staticmethod
    def program() -> ProgramActivated:
        item = ItemBudget(
            code="brand-packaging",
            name="“新平礼好”公共品牌升级打造",
            budget_fen=100_000_000,
            mode="reward",
        )
        line = LineBudget(
            code="brand-promotion",
            name="农产品品牌推广建设体系",
            budget_fen=314_000_000,
            items=[item],
        )
        return ProgramActivated(
            program_code="xinping-2021",
            name="新平县2021年电子商务进农村综合示范项目后续",
            county_code="530427",
            county_name="新平县",
            year=2021,
            phase="后续",
            total_fen=500_000_000,
            lines=[line],
            activated_at=datetime(2026, 1, 5, tzinfo=UTC),
        )

    @staticmethod
    def approval(
        award_id: str = "award-1",
        *,
        credit_code: str = COMPANY_CODE,
        enterprise_name: str = "新平礼好农业科技有限公司",
        requires_publicity: bool = True,
    ) -> ClaimApproved:
        return ClaimApproved(
            claim_id=f"claim-of-{award_id}",
            award_id=award_id,
            program_code="xinping-2021",
            line_code="brand-promotion",
            item_code="brand-packaging",
            item_name="“新平礼好”公共品牌升级打造",
            credit_code=credit_code,
            enterprise_name=enterprise_name,
            payee_bank_account="6228480123456789012",
            payee_bank_name="中国农业银行新平县支行",
            amount_fen=BOXES_AWARD_FEN,
            rule_version="brand-packaging/v1",
            period="2026Q1",
            approved_by="u-leader",
            approved_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
            requires_publicity=requires_publicity,
        )

    @staticmethod
    def reserved(
        award_id: str = "award-1",
        *,
        credit_code: str = COMPANY_CODE,
        enterprise_name: str = "新平礼好农业科技有限公司",
        requires_publicity: bool = True,
        publicity_working_days: int | None = 5,
    ) -> AwardReserved:
        """funds reserved the award: notify publishes its notice from this (issue 16)."""
        return AwardReserved(
            award_id=award_id,
            claim_id=f"claim-of-{award_id}",
            program_code="xinping-2021",
            item_code="brand-packaging",
            amount_fen=BOXES_AWARD_FEN,
            item_available_fen=100_000_000 - BOXES_AWARD_FEN,
            reserved_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
            line_code="brand-promotion",
            item_name="“新平礼好”公共品牌升级打造",
            credit_code=credit_code,
            enterprise_name=enterprise_name,
            requires_publicity=requires_publicity,
            publicity_working_days=publicity_working_days,
        )

    @staticmethod
    def refused(award_id: str = "award-8", *, available_fen: int = 9_753_100) -> ReservationRefused:
        """funds refused the award: 100,000.00 yuan asked, 97,531.00 left on the item."""
        return ReservationRefused(
            award_id=award_id,
            claim_id=f"claim-of-{award_id}",
            program_code="xinping-2021",
            item_code="brand-packaging",
            amount_fen=10_000_000,
            code="ITEM_BUDGET_EXCEEDED",
            reason="budget:brand-promotion/brand-packaging would go below zero",
            refused_at=datetime(2026, 3, 2, 1, 5, tzinfo=UTC),
            line_code="brand-promotion",
            item_name="“新平礼好”公共品牌升级打造",
            credit_code=COMPANY_CODE,
            enterprise_name="新平礼好农业科技有限公司",
            item_available_fen=available_fen,
        )

    @staticmethod
    def rejection(credit_code: str = COMPANY_CODE) -> ClaimRejected:
        return ClaimRejected(
            claim_id="claim-9",
            program_code="xinping-2021",
            item_code="brand-packaging",
            credit_code=credit_code,
            enterprise_name="新平礼好农业科技有限公司",
            reason="包装箱使用量不足1万个",
            rejected_by="u-leader",
            rejected_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        )

    @staticmethod
    def revocation(award_id: str = "award-1") -> AwardRevoked:
        return AwardRevoked(
            award_id=award_id,
            claim_id=f"claim-of-{award_id}",
            program_code="xinping-2021",
            item_code="brand-packaging",
            amount_fen=BOXES_AWARD_FEN,
            code="OBJECTION_UPHELD",
            reason="异议人反映包装箱实际使用量不足，经核查属实",
            revoked_at=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
        )

    @staticmethod
    def payment(
        award_id: str = "award-1",
        *,
        credit_code: str = COMPANY_CODE,
        payee_name: str = "新平礼好农业科技有限公司",
    ) -> PaymentExecuted:
        bank = BankInstruction(
            from_account="2502 0000 1111",
            to_account="6228480123456789012",
            to_bank_name="中国农业银行新平县支行",
            to_name=payee_name,
            amount_fen=BOXES_AWARD_FEN,
            reference=f"pay-of-{award_id}",
        )
        approvals = [
            PaymentApproval(
                person=p,
                name=n,
                role=r,
                content_sha256="ab" * 32,
                approved_at=datetime(2026, 3, 9, 1, 0, tzinfo=UTC),
            )
            for p, n, r in (
                ("u-leader", "李组长", "leading_group"),
                ("u-signer", "赵经理", "contractor_signatory"),
            )
        ]
        return PaymentExecuted(
            payment_id=f"pay-of-{award_id}",
            award_id=award_id,
            claim_id=f"claim-of-{award_id}",
            program_code="xinping-2021",
            item_code="brand-packaging",
            payee_credit_code=credit_code,
            payee_name=payee_name,
            amount_fen=BOXES_AWARD_FEN,
            content_sha256="ab" * 32,
            approvals=approvals,
            bank_instruction=bank,
            executed_at=datetime(2026, 3, 9, 2, 0, tzinfo=UTC),
        )


@pytest.fixture
def samples() -> type[Samples]:
    return Samples
