"""Webhook subscriptions, deliveries and attempts (asyncpg, the caller's connection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from ..domain.emails import MAX_ERROR_CHARS
from ..domain.webhooks import DeadReason, DeliveryStatus, Subscription

__all__ = [
    "WEBHOOK_CHANNEL",
    "AttemptRow",
    "ClaimedDelivery",
    "DeliveryRow",
    "attempts_of",
    "claim_due_deliveries",
    "disable_subscription",
    "get_delivery",
    "get_subscription",
    "insert_deliveries",
    "insert_subscription",
    "list_deliveries",
    "list_subscriptions",
    "mark_dead",
    "mark_delivered",
    "mark_retry",
    "record_attempt",
    "replay_delivery",
]

# Woken on commit of a transaction that wrote deliveries (PostgreSQL NOTIFY).
WEBHOOK_CHANNEL: Final = "ruralfund_notify_webhook"
MAX_EXCERPT_CHARS: Final = 500
_SUBSCRIPTION: Final = (
    "id::text, url, event_types, secret, description, created_by, created_at, disabled_at"
)
_DELIVERY: Final = (
    "id::text, subscription_id::text, event_id, event_type, status, attempts, replays, "
    "next_attempt_at, last_status_code, last_error, dead_reason, delivered_at, created_at"
)


# ------------------------------------------------------------------------------ subscriptions


def _subscription(row: asyncpg.Record) -> Subscription:
    values = dict(row)
    values["event_types"] = list(values["event_types"])
    return Subscription(**values)


async def insert_subscription(conn: asyncpg.Connection, s: Subscription) -> None:
    await conn.execute(
        """INSERT INTO webhook_subscriptions (id, url, event_types, secret, description,
               created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        s.id,
        s.url,
        s.event_types,
        s.secret,
        s.description,
        s.created_by,
        s.created_at,
    )


async def get_subscription(conn: asyncpg.Connection, subscription_id: str) -> Subscription | None:
    row = await conn.fetchrow(
        f"SELECT {_SUBSCRIPTION} FROM webhook_subscriptions WHERE id = $1", subscription_id
    )
    return _subscription(row) if row else None


async def list_subscriptions(conn: asyncpg.Connection) -> list[Subscription]:
    rows = await conn.fetch(f"SELECT {_SUBSCRIPTION} FROM webhook_subscriptions ORDER BY id")
    return [_subscription(r) for r in rows]


async def disable_subscription(
    conn: asyncpg.Connection, subscription_id: str
) -> Subscription | None:
    row = await conn.fetchrow(
        f"""UPDATE webhook_subscriptions SET disabled_at = COALESCE(disabled_at, now())
            WHERE id = $1 RETURNING {_SUBSCRIPTION}""",
        subscription_id,
    )
    return _subscription(row) if row else None


# ------------------------------------------------------------------------------ deliveries


async def insert_deliveries(
    conn: asyncpg.Connection,
    *,
    event_id: str,
    event_type: str,
    body: str,
    ids: list[str],
) -> int:
    """One pending delivery per active subscription to ``event_type``; an event seen again
    (a redelivery) adds none. ``ids`` are spare row ids, at least one per subscription."""
    status = await conn.execute(
        """INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, body,
               status, next_attempt_at)
           SELECT ($4::uuid[])[row_number() OVER (ORDER BY s.id)], s.id, $1, $2, $3,
                  'pending', now()
           FROM webhook_subscriptions s
           WHERE s.disabled_at IS NULL AND $2 = ANY (s.event_types)
           ON CONFLICT (subscription_id, event_id) DO NOTHING""",
        event_id,
        event_type,
        body,
        ids,
    )
    count = int(status.split()[-1])
    if count:
        await conn.execute("SELECT pg_notify($1, '')", WEBHOOK_CHANNEL)
    return count


async def active_subscribers(conn: asyncpg.Connection, event_type: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM webhook_subscriptions WHERE disabled_at IS NULL "
        "AND $1 = ANY (event_types)",
        event_type,
    )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: str
    subscription_id: str
    body: str
    attempts: int  # including the one being made
    replays: int


async def claim_due_deliveries(
    conn: asyncpg.Connection, *, limit: int, lease_seconds: float
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries for one attempt each: counted and leased in one
    statement, so another sender skips them and a crashed sender's are retried later."""
    rows = await conn.fetch(
        """UPDATE webhook_deliveries d SET attempts = d.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
           WHERE d.id = due.id
           RETURNING d.id::text, d.subscription_id::text, d.body, d.attempts, d.replays""",
        limit,
        lease_seconds,
    )
    return [ClaimedDelivery(**dict(r)) for r in rows]


async def record_attempt(
    conn: asyncpg.Connection,
    d: ClaimedDelivery,
    *,
    timestamp_s: int,
    address: str | None,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    excerpt: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO webhook_attempts (delivery_id, attempt, replay, webhook_timestamp, address,
               status_code, error, duration_ms, response_excerpt)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        d.id,
        d.attempts,
        d.replays,
        timestamp_s,
        address,
        status_code,
        error[:MAX_ERROR_CHARS] if error else None,
        duration_ms,
        excerpt[:MAX_EXCERPT_CHARS] if excerpt else None,
    )


async def mark_delivered(conn: asyncpg.Connection, delivery_id: str, status_code: int) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(),
               next_attempt_at = NULL, last_status_code = $2, last_error = NULL
           WHERE id = $1 AND status = 'pending'""",
        delivery_id,
        status_code,
    )


async def mark_retry(
    conn: asyncpg.Connection,
    delivery_id: str,
    *,
    delay_seconds: float,
    status_code: int | None,
    error: str,
) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2),
               last_status_code = $3, last_error = $4
           WHERE id = $1 AND status = 'pending'""",
        delivery_id,
        delay_seconds,
        status_code,
        error[:MAX_ERROR_CHARS],
    )


async def mark_dead(
    conn: asyncpg.Connection,
    delivery_id: str,
    *,
    reason: DeadReason,
    status_code: int | None,
    error: str,
) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET status = 'dead', next_attempt_at = NULL,
               dead_reason = $2, last_status_code = $3, last_error = $4
           WHERE id = $1 AND status = 'pending'""",
        delivery_id,
        reason.value,
        status_code,
        error[:MAX_ERROR_CHARS],
    )


async def replay_delivery(conn: asyncpg.Connection, delivery_id: str) -> bool:
    """Send it again now, whatever became of it, with a fresh attempt budget."""
    status = await conn.execute(
        """UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),
               attempts = 0, replays = replays + 1, dead_reason = NULL, delivered_at = NULL
           WHERE id = $1""",
        delivery_id,
    )
    if status != "UPDATE 1":
        return False
    await conn.execute("SELECT pg_notify($1, '')", WEBHOOK_CHANNEL)
    return True


# ------------------------------------------------------------------------------ the log


@dataclass(frozen=True, slots=True)
class AttemptRow:
    attempt: int
    replay: int
    webhook_timestamp: int
    address: str | None
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    replays: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    dead_reason: str | None
    delivered_at: datetime | None
    created_at: datetime


def _delivery(row: asyncpg.Record) -> DeliveryRow:
    values = dict(row)
    values["status"] = DeliveryStatus(values["status"])
    return DeliveryRow(**values)


async def get_delivery(conn: asyncpg.Connection, delivery_id: str) -> DeliveryRow | None:
    row = await conn.fetchrow(
        f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = $1", delivery_id
    )
    return _delivery(row) if row else None


async def list_deliveries(
    conn: asyncpg.Connection,
    subscription_id: str,
    *,
    limit: int,
    before_id: str | None,
    status: DeliveryStatus | None,
) -> list[DeliveryRow]:
    rows = await conn.fetch(
        f"""SELECT {_DELIVERY} FROM webhook_deliveries
            WHERE subscription_id = $1 AND ($3::uuid IS NULL OR id < $3)
              AND ($4::text IS NULL OR status = $4)
            ORDER BY id DESC LIMIT $2""",
        subscription_id,
        limit,
        before_id,
        status.value if status else None,
    )
    return [_delivery(r) for r in rows]


async def attempts_of(
    conn: asyncpg.Connection, delivery_ids: list[str]
) -> dict[str, list[AttemptRow]]:
    rows = await conn.fetch(
        """SELECT delivery_id::text, attempt, replay, webhook_timestamp, address, status_code,
                  error, duration_ms, response_excerpt, attempted_at
           FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY id""",
        delivery_ids,
    )
    found: dict[str, list[AttemptRow]] = {d: [] for d in delivery_ids}
    for r in rows:
        values = dict(r)
        found[values.pop("delivery_id")].append(AttemptRow(**values))
    return found
