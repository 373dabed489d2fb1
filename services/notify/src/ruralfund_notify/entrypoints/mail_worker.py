"""The background sender: delivers queued mail while the service runs.

It wakes when a transaction that queued mail commits (PostgreSQL LISTEN/NOTIFY, which is
delivered only on commit, in every replica) and otherwise polls, which also picks up
retries whose backoff has run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import asyncpg
from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.db.pool import connect
from ruralfund_common.logging import get_logger

from ..adapters.repository import MAIL_CHANNEL
from ..adapters.smtp import SmtpMailer
from ..service import NotifyService

__all__ = ["MailWorker"]

ERROR_PAUSE_SECONDS: Final = 1.0
# On shutdown a mail being sent may finish (bounded by the SMTP timeout); after that it
# is cancelled and its lease makes it due again later, with the same Message-ID.
STOP_GRACE_MARGIN_SECONDS: Final = 5.0
log = get_logger("ruralfund.notify.mail")


class MailWorker:
    def __init__(self, ctx: ServiceContext, service: NotifyService, mailer: SmtpMailer) -> None:
        self.ctx = ctx
        self.service = service
        self.mailer = mailer
        self.poll_seconds = service.settings.mail_poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="notify-mail-sender")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            grace = self.service.settings.smtp_timeout_seconds + STOP_GRACE_MARGIN_SECONDS
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(self._task, timeout=grace)
        await self._close_listener()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before sending: a commit during the batch wakes us again
            pause = self.poll_seconds
            try:
                while not self._stopping and await self._send_one():
                    pass
                await self._listen()
            except Exception as exc:  # noqa: BLE001 - database down: keep the loop alive, try again
                log.warning("mail_sender_error", error=repr(exc))
                pause = max(pause, ERROR_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _send_one(self) -> bool:
        assert self.ctx.pool is not None
        return await self.service.deliver_next_email(self.ctx.pool, self.mailer, self.ctx.clock)

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection; without it we still poll, so failure is only slower."""
        if self._listener is not None and not self._listener.is_closed():
            return
        settings = self.ctx.settings
        try:
            conn = await connect(settings.database_url, settings.schema)
            await conn.add_listener(MAIL_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("mail_listen_failed", error=repr(exc))
            return
        self._listener = conn

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
        self._listener = None
