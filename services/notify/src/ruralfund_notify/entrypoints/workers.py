"""Background loops that run while the service runs: the mail sender, the delivery-SLA
summariser (and the webhook sender).

A loop repeats its step while the step reports work done, then waits: for a PostgreSQL
NOTIFY on its channel (delivered only when the transaction that queued work commits, in
every replica) or for its poll interval, which also picks up retries whose backoff ran out
and, for the summariser, periods that ended on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import asyncpg
from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.db.pool import connect
from ruralfund_common.logging import get_logger

from ..adapters.repository import MAIL_CHANNEL
from ..adapters.smtp import SmtpMailer
from ..adapters.webhook_http import WebhookHttp
from ..adapters.webhooks_repo import WEBHOOK_CHANNEL
from ..service import NotifyService

__all__ = ["BackgroundLoop", "mail_sender", "sla_summariser", "webhook_sender"]

ERROR_PAUSE_SECONDS: Final = 1.0
# On shutdown a step in progress may finish within this margin beyond its own bound; after
# that it is cancelled, and its lease makes the work due again later.
STOP_GRACE_MARGIN_SECONDS: Final = 5.0
log = get_logger("ruralfund.notify.workers")

Step = Callable[[], Awaitable[bool]]


class BackgroundLoop:
    def __init__(
        self,
        ctx: ServiceContext,
        name: str,
        step: Step,
        *,
        poll_seconds: float,
        channel: str | None = None,
        step_timeout_seconds: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.step = step
        self.poll_seconds = poll_seconds
        self.channel = channel
        self.stop_grace_seconds = step_timeout_seconds + STOP_GRACE_MARGIN_SECONDS
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(self._task, timeout=self.stop_grace_seconds)
        await self._close_listener()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before working: a commit during the batch wakes us again
            pause = self.poll_seconds
            try:
                while not self._stopping and await self.step():
                    pass
                await self._listen()
            except Exception as exc:  # noqa: BLE001 - database down: keep the loop alive, try again
                log.warning("background_step_error", loop=self.name, error=repr(exc))
                pause = max(pause, ERROR_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection; without it we still poll, so failure is only slower."""
        if self.channel is None:
            return
        if self._listener is not None and not self._listener.is_closed():
            return
        settings = self.ctx.settings
        try:
            conn = await connect(settings.database_url, settings.schema)
            await conn.add_listener(self.channel, self._on_notify)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("background_listen_failed", loop=self.name, error=repr(exc))
            return
        self._listener = conn

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
        self._listener = None


def mail_sender(ctx: ServiceContext, service: NotifyService, mailer: SmtpMailer) -> BackgroundLoop:
    """Sends queued mail one at a time (smtplib in a thread)."""

    async def send_one() -> bool:
        return await service.deliver_next_email(ctx.db, mailer, ctx.clock)

    s = service.settings
    return BackgroundLoop(
        ctx,
        "notify-mail-sender",
        send_one,
        poll_seconds=s.mail_poll_seconds,
        channel=MAIL_CHANNEL,
        step_timeout_seconds=s.smtp_timeout_seconds,
    )


def sla_summariser(ctx: ServiceContext, service: NotifyService) -> BackgroundLoop:
    """Mails the bureau a summary of the missed delivery deadlines of each ended period."""

    async def summarise_once() -> bool:
        async with ctx.transaction() as tx:
            return await service.reports.summarise_due_breaches(tx)

    return BackgroundLoop(
        ctx,
        "notify-sla-summariser",
        summarise_once,
        poll_seconds=service.settings.sla_summary_poll_seconds,
    )


def webhook_sender(
    ctx: ServiceContext, service: NotifyService, http: WebhookHttp
) -> BackgroundLoop:
    """Delivers due webhook deliveries in small concurrent batches."""

    async def deliver_batch() -> bool:
        return await service.webhooks.deliver_due(ctx.db, http)

    s = service.settings
    return BackgroundLoop(
        ctx,
        "notify-webhook-sender",
        deliver_batch,
        poll_seconds=s.webhook_poll_seconds,
        channel=WEBHOOK_CHANNEL,
        step_timeout_seconds=s.webhook_timeout_seconds,
    )
