"""Webhook use cases: subscribe (SSRF-checked), fan an event out to its subscribers in the
transaction that handled or emitted it, deliver with retries, dead-letter, replay, the log."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import asyncpg
from ruralfund_common.errors import NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Tx

from ..adapters import webhooks_repo as wrepo
from ..adapters.webhook_http import AttemptResult, WebhookHttp, resolve
from ..domain.emails import retry_delay_seconds, should_give_up
from ..domain.ssrf import Target, TargetRefused, check_addresses, parse_target
from ..domain.webhooks import (
    DeadReason,
    DeliveryStatus,
    Subscription,
    check_event_types,
    encode_secret,
    parse_secret,
    payload_of,
    signed_headers,
)

if TYPE_CHECKING:
    from .core import NotifyService

__all__ = ["NewSubscription", "WebhookDesk"]

GENERATED_SECRET_BYTES: Final = 32
# Deliveries sent at once by one sender: a slow receiver holds one slot, not the queue.
DELIVERY_BATCH: Final = 8
# A delivery is someone else's to retry only after this long (resolve + request + margin).
LEASE_MARGIN_SECONDS: Final = 30.0
log = get_logger("ruralfund.notify.webhooks")


class TargetUnresolved(TargetRefused):
    """The host name does not resolve now: refused when subscribing, retried when delivering
    (a DNS outage is not the receiver's fault)."""


@dataclass(frozen=True, slots=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # shown once


@dataclass(frozen=True)
class WebhookDesk:
    core: NotifyService

    @property
    def offered(self) -> frozenset[str]:
        return self.core.webhook_event_types

    # -- subscriptions ------------------------------------------------------------------------
    async def checked_target(self, url: str) -> tuple[Target, list[str]]:
        """The URL and its addresses, if it may be called now: its shape, then every address
        it resolves to (raises TargetRefused)."""
        allow = self.core.settings.webhook_allow_loopback
        target = parse_target(url, allow_loopback=allow)
        try:
            addresses = await resolve(target)
        except OSError as exc:
            raise TargetUnresolved(f"{target.host} does not resolve: {exc}",
                                   detail_zh=f"主机 {target.host} 目前无法解析（DNS），请核对接收地址或稍后重试。") from None
        return target, check_addresses(target, addresses, allow_loopback=allow)

    async def subscribe(
        self,
        tx: Tx,
        *,
        url: str,
        event_types: list[str],
        secret: str | None,
        description: str | None,
        by: str,
    ) -> NewSubscription:
        """Store a subscription whose URL was checked (``checked_target``) by the caller."""
        types = check_event_types(event_types, self.offered)
        if secret is None:
            secret = encode_secret(secrets.token_bytes(GENERATED_SECRET_BYTES))
        parse_secret(secret)
        subscription = Subscription(
            id=new_id(),
            url=url.strip(),
            event_types=types,
            secret=secret,
            description=description,
            created_by=by,
            created_at=tx.clock.now(),
        )
        await wrepo.insert_subscription(tx.conn, subscription)
        log.info("webhook_subscribed", subscription_id=subscription.id, event_types=types)
        return NewSubscription(subscription, secret)

    async def disable(self, tx: Tx, subscription_id: str) -> Subscription:
        disabled = await wrepo.disable_subscription(tx.conn, subscription_id)
        if disabled is None:
            raise NotFound("SUBSCRIPTION_NOT_FOUND", f"no webhook subscription {subscription_id}",
                detail_zh=f"没有编号为 {subscription_id} 的订阅。")
        return disabled

    # -- fan-out (in the transaction that handled or emitted the event) -----------------------
    async def fanout(self, tx: Tx, envelope: dict[str, Any]) -> int:
        """One delivery per active subscription to the event's type; none on a redelivery."""
        event_type = envelope["type"]
        if event_type not in self.offered:
            return 0
        subscribers = await wrepo.active_subscribers(tx.conn, event_type)
        if not subscribers:
            return 0
        return await wrepo.insert_deliveries(
            tx.conn,
            event_id=envelope["id"],
            event_type=event_type,
            body=payload_of(envelope).decode(),
            ids=[new_id() for _ in range(subscribers)],
        )

    # -- delivery -----------------------------------------------------------------------------
    async def deliver_due(self, pool: asyncpg.Pool, http: WebhookHttp) -> bool:
        """Attempt a batch of due deliveries; True if there were any."""
        lease = self.core.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        async with pool.acquire() as conn:
            claimed = await wrepo.claim_due_deliveries(
                conn, limit=DELIVERY_BATCH, lease_seconds=lease
            )
        await asyncio.gather(*(self._attempt(pool, http, d) for d in claimed))
        return bool(claimed)

    async def _attempt(
        self, pool: asyncpg.Pool, http: WebhookHttp, d: wrepo.ClaimedDelivery
    ) -> None:
        async with pool.acquire() as conn:
            subscription = await wrepo.get_subscription(conn, d.subscription_id)
        assert subscription is not None  # a foreign key
        # The receiver checks this against its own clock: the wall clock, never the dev clock.
        timestamp_s = int(time.time())
        if not subscription.active:
            await self._dead(pool, d, DeadReason.SUBSCRIPTION_DISABLED, None, "disabled")
            return
        try:
            # Checked again at every attempt (DNS may have changed since the subscription),
            # and the request goes to an address from this very check.
            target, addresses = await self.checked_target(subscription.url)
        except TargetUnresolved as unresolved:
            result = AttemptResult(None, unresolved.message, 0, None)
            await self._log(pool, d, timestamp_s, None, result)
            await self._settle(pool, d, result)
            return
        except TargetRefused as refused:
            await self._log(
                pool, d, timestamp_s, None, AttemptResult(None, refused.message, 0, None)
            )
            await self._dead(pool, d, DeadReason.TARGET_FORBIDDEN, None, refused.message)
            return
        body = d.body.encode()
        headers = signed_headers(subscription.key, d.id, timestamp_s, body)
        result = await http.post(target, addresses[0], headers, body)
        await self._log(pool, d, timestamp_s, addresses[0], result)
        await self._settle(pool, d, result)

    async def _settle(
        self, pool: asyncpg.Pool, d: wrepo.ClaimedDelivery, result: AttemptResult
    ) -> None:
        s = self.core.settings
        if result.ok:
            assert result.status_code is not None
            async with pool.acquire() as conn:
                await wrepo.mark_delivered(conn, d.id, result.status_code)
            log.info("webhook_delivered", delivery_id=d.id, attempts=d.attempts)
            return
        error = result.error or "no answer"
        if should_give_up(d.attempts, s.webhook_max_attempts, permanent=False):
            reason = f"gave up after {d.attempts} attempt(s); last error: {error}"
            await self._dead(pool, d, DeadReason.MAX_ATTEMPTS, result.status_code, reason)
            return
        delay = retry_delay_seconds(
            d.attempts, s.webhook_retry_base_seconds, s.webhook_retry_max_seconds
        )
        async with pool.acquire() as conn:
            await wrepo.mark_retry(
                conn, d.id, delay_seconds=delay, status_code=result.status_code, error=error
            )
        log.warning(
            "webhook_retry", delivery_id=d.id, attempts=d.attempts, delay_s=delay, error=error
        )

    async def _dead(
        self,
        pool: asyncpg.Pool,
        d: wrepo.ClaimedDelivery,
        reason: DeadReason,
        status_code: int | None,
        error: str,
    ) -> None:
        async with pool.acquire() as conn:
            await wrepo.mark_dead(
                conn, d.id, reason=reason, status_code=status_code, error=f"{reason.value}: {error}"
            )
        log.error("webhook_dead_lettered", delivery_id=d.id, reason=reason.value, error=error)

    async def _log(
        self,
        pool: asyncpg.Pool,
        d: wrepo.ClaimedDelivery,
        timestamp_s: int,
        address: str | None,
        result: AttemptResult,
    ) -> None:
        async with pool.acquire() as conn:
            await wrepo.record_attempt(
                conn,
                d,
                timestamp_s=timestamp_s,
                address=address,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
                excerpt=result.excerpt,
            )

    # -- admin: replay and the log ------------------------------------------------------------
    async def replay(self, tx: Tx, delivery_id: str) -> wrepo.DeliveryRow:
        if not await wrepo.replay_delivery(tx.conn, delivery_id):
            raise NotFound("DELIVERY_NOT_FOUND", f"no webhook delivery {delivery_id}",
                detail_zh=f"没有编号为 {delivery_id} 的投递记录。")
        row = await wrepo.get_delivery(tx.conn, delivery_id)
        assert row is not None
        log.info("webhook_replay", delivery_id=delivery_id, replays=row.replays)
        return row

    async def subscription(self, pool: asyncpg.Pool, subscription_id: str) -> Subscription:
        async with pool.acquire() as conn:
            found = await wrepo.get_subscription(conn, subscription_id)
        if found is None:
            raise NotFound("SUBSCRIPTION_NOT_FOUND", f"no webhook subscription {subscription_id}",
                detail_zh=f"没有编号为 {subscription_id} 的订阅。")
        return found

    async def subscriptions(self, pool: asyncpg.Pool) -> list[Subscription]:
        async with pool.acquire() as conn:
            return await wrepo.list_subscriptions(conn)

    async def deliveries(
        self,
        pool: asyncpg.Pool,
        subscription_id: str,
        *,
        limit: int,
        before_id: str | None,
        status: DeliveryStatus | None,
    ) -> list[tuple[wrepo.DeliveryRow, list[wrepo.AttemptRow]]]:
        """A subscription's delivery log, newest first, each delivery with its attempts."""
        await self.subscription(pool, subscription_id)
        async with pool.acquire() as conn:
            rows = await wrepo.list_deliveries(
                conn, subscription_id, limit=limit, before_id=before_id, status=status
            )
            attempts = await wrepo.attempts_of(conn, [r.id for r in rows])
        return [(r, attempts[r.id]) for r in rows]

    async def delivery(
        self, pool: asyncpg.Pool, delivery_id: str
    ) -> tuple[wrepo.DeliveryRow, list[wrepo.AttemptRow]]:
        async with pool.acquire() as conn:
            row = await wrepo.get_delivery(conn, delivery_id)
            if row is None:
                raise NotFound("DELIVERY_NOT_FOUND", f"no webhook delivery {delivery_id}",
                    detail_zh=f"没有编号为 {delivery_id} 的投递记录。")
            attempts = await wrepo.attempts_of(conn, [delivery_id])
        return row, attempts[delivery_id]
