"""Notify's tables in PostgreSQL (asyncpg). Every function runs on the caller's connection,
so a use case composes them inside its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from ..domain.contacts import Contact
from ..domain.emails import MAX_ERROR_CHARS, EmailErrorCode, EmailStatus, OutgoingEmail
from ..domain.notices import Notice, NoticeStatus, Revocation
from ..domain.open_data import PaidAward

__all__ = [
    "MAIL_CHANNEL",
    "ClaimedEmail",
    "NoticeRow",
    "PaidAwardRow",
    "admin_notices",
    "claim_due_emails",
    "get_contact",
    "get_notice",
    "insert_notice",
    "insert_paid_award",
    "insert_revocation",
    "lock_contact",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "names_for",
    "notice_for_award",
    "notice_id_by_number",
    "paid_awards",
    "public_notices",
    "publicity_working_days_of",
    "queue_email",
    "requeue_waiting_for_contact",
    "save_publication",
    "upsert_contact",
    "upsert_program",
]

# PostgreSQL NOTIFY channel: delivered when the transaction that queued mail commits,
# which is exactly when the sender should look.
MAIL_CHANNEL: Final = "ruralfund_notify_mail"

# ------------------------------------------------------------------------------ contacts


async def lock_contact(conn: asyncpg.Connection, credit_code: str) -> None:
    """Serialise, until commit, the transactions that read or change one enterprise's contact.

    A contact and a mail for the same enterprise are handled by different consumers at the
    same time. Without this, a mail could read "no contact" while the contact's transaction
    looks for failed mails to re-queue, each blind to the other's uncommitted row: the mail
    would stay failed although the address is known.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"notify.contact:{credit_code}"
    )


async def upsert_contact(conn: asyncpg.Connection, c: Contact) -> None:
    await conn.execute(
        """INSERT INTO contacts (credit_code, name, kind, county_code, contact_name, contact_email, contact_phone)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
               county_code = excluded.county_code, contact_name = excluded.contact_name,
               contact_email = excluded.contact_email, contact_phone = excluded.contact_phone,
               updated_at = now()""",
        c.credit_code,
        c.name,
        c.kind,
        c.county_code,
        c.contact_name,
        c.contact_email,
        c.contact_phone,
    )


async def get_contact(conn: asyncpg.Connection, credit_code: str) -> Contact | None:
    row = await conn.fetchrow(
        "SELECT credit_code, name, kind, county_code, contact_name, contact_email, contact_phone "
        "FROM contacts WHERE credit_code = $1",
        credit_code,
    )
    return Contact(**dict(row)) if row else None


# ------------------------------------------------------------------------------ programs


async def upsert_program(
    conn: asyncpg.Connection,
    *,
    code: str,
    name: str,
    county_name: str,
    year: int,
    phase: str,
    items: list[tuple[str, str]],
    publicity_working_days: int = 5,
) -> None:
    await conn.execute(
        """INSERT INTO programs (code, name, county_name, year, phase, publicity_working_days)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (code) DO UPDATE SET name = excluded.name, county_name = excluded.county_name,
               year = excluded.year, phase = excluded.phase,
               publicity_working_days = excluded.publicity_working_days""",
        code,
        name,
        county_name,
        year,
        phase,
        publicity_working_days,
    )
    await conn.executemany(
        """INSERT INTO program_items (program_code, item_code, item_name) VALUES ($1, $2, $3)
           ON CONFLICT (program_code, item_code) DO UPDATE SET item_name = excluded.item_name""",
        [(code, item_code, item_name) for item_code, item_name in items],
    )


async def names_for(
    conn: asyncpg.Connection, program_code: str, item_code: str
) -> tuple[str | None, str | None]:
    """The program's and the item's names, if the program's activation was seen."""
    row = await conn.fetchrow(
        """SELECT p.name AS program_name, i.item_name FROM programs p
           LEFT JOIN program_items i ON i.program_code = p.code AND i.item_code = $2
           WHERE p.code = $1""",
        program_code,
        item_code,
    )
    return (row["program_name"], row["item_name"]) if row else (None, None)


async def publicity_working_days_of(conn: asyncpg.Connection, program_code: str) -> int | None:
    """The program's 公示 length, if its activation was seen."""
    return await conn.fetchval(
        "SELECT publicity_working_days FROM programs WHERE code = $1", program_code
    )


# ------------------------------------------------------------------------------ notices

_NOTICE_COLUMNS: Final = (
    "n.id, n.award_id, n.claim_id, n.program_code, n.item_code, n.item_name, n.credit_code, "
    "n.awardee_name, n.amount_fen, n.approval_event_id, n.status, n.published_at, n.starts_on, n.ends_on, "
    "n.working_days, n.notice_seq"
)


@dataclass(frozen=True, slots=True)
class NoticeRow:
    notice: Notice
    program_name: str | None
    revocation: Revocation | None = None


def _notice(row: asyncpg.Record) -> Notice:
    values = {
        k: row[k]
        for k in (
            "award_id",
            "claim_id",
            "program_code",
            "item_code",
            "item_name",
            "credit_code",
            "awardee_name",
            "amount_fen",
            "approval_event_id",
            "published_at",
            "starts_on",
            "ends_on",
            "working_days",
        )
    }
    return Notice(id=str(row["id"]), status=NoticeStatus(row["status"]), seq=row["notice_seq"], **values)


def _notice_row(row: asyncpg.Record) -> NoticeRow:
    revocation = None
    if row["revoked_at"] is not None:
        revocation = Revocation(
            award_id=row["award_id"],
            code=row["revocation_code"],
            reason=row["revocation_reason"],
            revoked_at=row["revoked_at"],
        )
    return NoticeRow(_notice(row), row["program_name"], revocation)


async def insert_notice(conn: asyncpg.Connection, n: Notice) -> bool:
    """False when the award already has a notice (a re-sent approval)."""
    inserted = await conn.fetchval(
        """INSERT INTO notices (id, award_id, claim_id, program_code, item_code, item_name, credit_code,
               awardee_name, amount_fen, approval_event_id, status, published_at, starts_on, ends_on,
               working_days)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (award_id) DO NOTHING RETURNING 1""",
        n.id,
        n.award_id,
        n.claim_id,
        n.program_code,
        n.item_code,
        n.item_name,
        n.credit_code,
        n.awardee_name,
        n.amount_fen,
        n.approval_event_id,
        n.status.value,
        n.published_at,
        n.starts_on,
        n.ends_on,
        n.working_days,
    )
    return inserted is not None


async def get_notice(
    conn: asyncpg.Connection, notice_id: str, *, for_update: bool = False
) -> Notice | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_NOTICE_COLUMNS} FROM notices n WHERE n.id = $1{lock}", notice_id
    )
    return _notice(row) if row else None


async def notice_for_award(conn: asyncpg.Connection, award_id: str) -> Notice | None:
    row = await conn.fetchrow(
        f"SELECT {_NOTICE_COLUMNS} FROM notices n WHERE n.award_id = $1", award_id
    )
    return _notice(row) if row else None


async def save_publication(conn: asyncpg.Connection, n: Notice) -> int:
    """Saves the publication and gives the notice the program's next number (公示编号), in
    one statement; returns that number."""
    assert n.is_published
    seq = await conn.fetchval(
        """WITH next AS (
               INSERT INTO notice_sequences AS s (program_code, last_seq) VALUES ($6, 1)
               ON CONFLICT (program_code) DO UPDATE SET last_seq = s.last_seq + 1
               RETURNING last_seq)
           UPDATE notices SET status = $2, published_at = $3, starts_on = $4, ends_on = $5,
                  notice_seq = (SELECT last_seq FROM next)
           WHERE id = $1 AND status = 'awaiting_calendar' RETURNING notice_seq""",
        n.id,
        n.status.value,
        n.published_at,
        n.starts_on,
        n.ends_on,
        n.program_code,
    )
    # The caller holds the row (inserted or locked in this transaction): anything else is a
    # bug (and its transaction, with the number it took, rolls back).
    assert seq is not None, f"notice {n.id} was not awaiting the calendar"
    return int(seq)


async def notice_id_by_number(conn: asyncpg.Connection, program_code: str, seq: int) -> str | None:
    """The published notice with this 公示编号, if any."""
    found = await conn.fetchval(
        "SELECT id::text FROM notices WHERE program_code = $1 AND notice_seq = $2 AND status = 'published'",
        program_code,
        seq,
    )
    return str(found) if found else None


async def public_notices(
    conn: asyncpg.Connection,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
    notice_id: str | None = None,
) -> list[NoticeRow]:
    """Published notices, newest publication first; ``after`` is the last (published_at, id) seen."""
    rows = await conn.fetch(
        f"""SELECT {_NOTICE_COLUMNS}, p.name AS program_name, r.revoked_at,
                   r.code AS revocation_code, r.reason AS revocation_reason
            FROM notices n LEFT JOIN programs p ON p.code = n.program_code
            LEFT JOIN award_revocations r ON r.award_id = n.award_id
            WHERE n.status = 'published'
              AND ($2::timestamptz IS NULL OR (n.published_at, n.id) < ($2, $3::uuid))
              AND ($4::uuid IS NULL OR n.id = $4)
            ORDER BY n.published_at DESC, n.id DESC LIMIT $1""",
        limit,
        after[0] if after else None,
        after[1] if after else None,
        notice_id,
    )
    return [_notice_row(r) for r in rows]


async def admin_notices(
    conn: asyncpg.Connection,
    *,
    limit: int,
    before_id: str | None = None,
    status: NoticeStatus | None = None,
) -> list[Notice]:
    """All notices, newest first (ids are time-ordered UUIDv7)."""
    rows = await conn.fetch(
        f"""SELECT {_NOTICE_COLUMNS} FROM notices n
            WHERE ($2::uuid IS NULL OR n.id < $2) AND ($3::text IS NULL OR n.status = $3)
            ORDER BY n.id DESC LIMIT $1""",
        limit,
        before_id,
        status.value if status else None,
    )
    return [_notice(r) for r in rows]


# ------------------------------------------------------------------------------ revocations


async def insert_revocation(conn: asyncpg.Connection, r: Revocation, event_id: str) -> bool:
    """False when the award was already revoked (a re-sent event): the first one stands."""
    inserted = await conn.fetchval(
        """INSERT INTO award_revocations (award_id, code, reason, revoked_at, event_id)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (award_id) DO NOTHING RETURNING 1""",
        r.award_id,
        r.code,
        r.reason,
        r.revoked_at,
        event_id,
    )
    return inserted is not None


# ------------------------------------------------------------------------------ paid awards


@dataclass(frozen=True, slots=True)
class PaidAwardRow:
    paid: PaidAward
    program_name: str | None
    item_name: str | None
    notice_id: str | None
    notice_seq: int | None = None  # the notice's 公示编号 sequence


async def insert_paid_award(conn: asyncpg.Connection, p: PaidAward) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO paid_awards (payment_id, award_id, claim_id, program_code, item_code,
               credit_code, payee_name, amount_fen, executed_at, paid_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (payment_id) DO NOTHING RETURNING 1""",
        p.payment_id,
        p.award_id,
        p.claim_id,
        p.program_code,
        p.item_code,
        p.credit_code,
        p.payee_name,
        p.amount_fen,
        p.executed_at,
        p.paid_on,
    )
    return inserted is not None


async def paid_awards(
    conn: asyncpg.Connection, *, limit: int, after: tuple[datetime, str] | None = None
) -> list[PaidAwardRow]:
    """Paid awards in payment order; ``after`` is the last (executed_at, payment_id) seen.

    Names are joined at read time: the program's activation may be seen after its payments.
    """
    rows = await conn.fetch(
        """SELECT a.*, p.name AS program_name,
                  COALESCE(n.item_name, i.item_name) AS item_name, n.id::text AS notice_id,
                  n.notice_seq
           FROM paid_awards a
           LEFT JOIN programs p ON p.code = a.program_code
           LEFT JOIN program_items i ON i.program_code = a.program_code AND i.item_code = a.item_code
           LEFT JOIN notices n ON n.award_id = a.award_id AND n.status = 'published'
           WHERE ($2::timestamptz IS NULL OR (a.executed_at, a.payment_id) > ($2, $3::text))
           ORDER BY a.executed_at, a.payment_id LIMIT $1""",
        limit,
        after[0] if after else None,
        after[1] if after else None,
    )
    return [
        PaidAwardRow(
            PaidAward(
                **{k: r[k] for k in PaidAward.__dataclass_fields__}  # type: ignore[attr-defined]
            ),
            r["program_name"],
            r["item_name"],
            r["notice_id"],
            r["notice_seq"],
        )
        for r in rows
    ]


# ------------------------------------------------------------------------------ emails


async def queue_email(conn: asyncpg.Connection, e: OutgoingEmail) -> bool:
    """Store a mail; False if this event already queued this template. Wakes the sender on commit."""
    inserted = await conn.fetchval(
        """INSERT INTO emails (id, event_id, template, credit_code, to_address, to_name, subject, body,
               status, next_attempt_at, error_code, last_error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                   CASE WHEN $9 = 'pending' THEN now() END, $10, $11)
           ON CONFLICT (event_id, template) DO NOTHING RETURNING 1""",
        e.id,
        e.event_id,
        e.template.value,
        e.credit_code,
        e.to_address,
        e.to_name,
        e.subject,
        e.body,
        e.status.value,
        e.error_code.value if e.error_code else None,
        e.last_error,
    )
    if inserted is not None and e.status is EmailStatus.PENDING:
        await conn.execute("SELECT pg_notify($1, '')", MAIL_CHANNEL)
    return inserted is not None


async def requeue_waiting_for_contact(conn: asyncpg.Connection, contact: Contact) -> int:
    """Send the mails that failed for want of this enterprise's address, now that it is known."""
    assert contact.deliverable_email is not None
    status = await conn.execute(
        """UPDATE emails SET status = 'pending', to_address = $2, to_name = $3, attempts = 0,
               next_attempt_at = now(), error_code = NULL, last_error = NULL
           WHERE credit_code = $1 AND status = 'failed' AND error_code = $4""",
        contact.credit_code,
        contact.deliverable_email,
        contact.contact_name,
        EmailErrorCode.NO_CONTACT_EMAIL.value,
    )
    count = int(status.split()[-1])
    if count:
        await conn.execute("SELECT pg_notify($1, '')", MAIL_CHANNEL)
    return count


@dataclass(frozen=True, slots=True)
class ClaimedEmail:
    id: str
    to_address: str
    to_name: str | None
    subject: str
    body: str
    attempts: int  # including the one being made


async def claim_due_emails(
    conn: asyncpg.Connection, *, limit: int, lease_seconds: float
) -> list[ClaimedEmail]:
    """Take up to ``limit`` due mails for one sending attempt.

    The attempt is counted and the mail leased (pushed ``lease_seconds`` into the future) in
    one statement, so another sender skips it and a sender that dies mid-send leaves it to
    be retried when the lease runs out.
    """
    rows = await conn.fetch(
        """UPDATE emails e SET attempts = e.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM emails WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
           WHERE e.id = due.id
           RETURNING e.id, e.to_address, e.to_name, e.subject, e.body, e.attempts""",
        limit,
        lease_seconds,
    )
    claimed = [
        ClaimedEmail(
            str(r["id"]), r["to_address"], r["to_name"], r["subject"], r["body"], r["attempts"]
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda c: c.id)


async def mark_sent(conn: asyncpg.Connection, email_id: str) -> None:
    await conn.execute(
        "UPDATE emails SET status = 'sent', sent_at = now(), next_attempt_at = NULL, error_code = NULL "
        "WHERE id = $1 AND status = 'pending'",
        email_id,
    )


async def mark_retry(
    conn: asyncpg.Connection, email_id: str, *, delay_seconds: float, error: str
) -> None:
    await conn.execute(
        "UPDATE emails SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3 "
        "WHERE id = $1 AND status = 'pending'",
        email_id,
        delay_seconds,
        error[:MAX_ERROR_CHARS],
    )


async def mark_failed(
    conn: asyncpg.Connection, email_id: str, *, code: EmailErrorCode, error: str
) -> None:
    await conn.execute(
        "UPDATE emails SET status = 'failed', next_attempt_at = NULL, error_code = $2, last_error = $3 "
        "WHERE id = $1 AND status = 'pending'",
        email_id,
        code.value,
        error[:MAX_ERROR_CHARS],
    )
