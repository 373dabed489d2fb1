"""Read model of the journal export: a program's entries over whole county days, the names
their 摘要 and account names come from, and the balances around the range, in one snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Final

import asyncpg
from ruralfund_common.calendar import COUNTY_TZ
from ruralfund_common.errors import InvalidInput, NotFound

from ..domain import ledger as L
from ..domain.journal import (
    AdjustmentInfo,
    AwardInfo,
    ItemName,
    JournalExport,
    Names,
    PostedEntry,
    RepaymentInfo,
    journal_rows,
)

__all__ = ["MAX_HTTP_EXPORT_ENTRIES", "Progress", "account_names", "journal_export"]

# An HTTP download is built in memory in one request: beyond this many entries ask for a
# shorter range (the CLI has no limit). A county program posts a few thousand entries a year.
MAX_HTTP_EXPORT_ENTRIES: Final = 50_000  # ≈ 200,000 postings: an xlsx of ~10 s on one core
FETCH_ROWS: Final = 2_000  # postings read per round trip

Progress = Callable[[int, int], None]  # (entries read, entries in the range)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=COUNTY_TZ)


async def journal_export(
    conn: asyncpg.Connection,
    program_code: str,
    first_day: date | None = None,
    last_day: date | None = None,
    *,
    max_entries: int | None = None,
    progress: Progress | None = None,
) -> JournalExport:
    """Every entry posted on the county days ``first_day`` .. ``last_day`` (inclusive; None:
    open)."""
    lo = _start_of(first_day) if first_day else None
    hi = _start_of(last_day + timedelta(days=1)) if last_day else None
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        program = await conn.fetchrow(
            "SELECT name, contractor_credit_code, contractor_name FROM programs "
            "WHERE program_code=$1",
            program_code,
        )
        if program is None:
            raise NotFound("PROGRAM_NOT_FOUND", f"no ledger for program {program_code}",
                detail_zh=f"没有方案 {program_code} 的账本。")
        total = await conn.fetchval(
            "SELECT count(*) FROM entries WHERE program_code=$1 "
            "AND ($2::timestamptz IS NULL OR posted_at >= $2) "
            "AND ($3::timestamptz IS NULL OR posted_at < $3)",
            program_code,
            lo,
            hi,
        )
        if max_entries is not None and total > max_entries:
            raise InvalidInput(
                "EXPORT_TOO_LARGE",
                f"{total} entries in the range, at most {max_entries} per download: give a "
                "shorter range (from, to) or use `ruralfund ledger export`"
                f"（区间内共 {total:,} 笔分录，单次下载最多 {max_entries:,} 笔，请缩短日期范围）",
                field="from",
                status=400,
                details={"entries": total, "max_entries": max_entries},
                detail_zh=f"区间内共 {total:,} 笔分录，单次下载最多 {max_entries:,} 笔，请缩短日期范围（from、to）。",
            )
        entries = await _entries(conn, program_code, lo, hi, total, progress)
        names = await account_names(conn, program_code, program)
        opening = await _sums(conn, program_code, lo) if lo else {}
        # Open-ended: the kept balances (updated with each posting, never derived from it), so
        # bean-check fails on a journal that disagrees with them (a posting altered behind the
        # ledger's back, as `ruralfund ledger verify` reports); else the postings' own sums.
        closing = (
            await _kept(conn, program_code) if hi is None else await _sums(conn, program_code, hi)
        )
    return JournalExport(
        program_code,
        program["name"],
        journal_rows(program_code, entries, names),
        first_day,
        last_day,
        opening,
        closing,
        names,
    )


async def _entries(
    conn: asyncpg.Connection,
    program_code: str,
    lo: datetime | None,
    hi: datetime | None,
    total: int,
    progress: Progress | None,
) -> list[PostedEntry]:
    # One pass over entries ⋈ postings (a cursor, not pages: postings have no index by entry)
    cursor = conn.cursor(
        "SELECT e.entry_id::text AS entry_id, e.kind, e.reference, e.memo, e.posted_at, "
        "p.account, p.debit_fen, p.credit_fen FROM entries e JOIN postings p USING (entry_id) "
        "WHERE e.program_code=$1 AND ($2::timestamptz IS NULL OR e.posted_at >= $2) "
        "AND ($3::timestamptz IS NULL OR e.posted_at < $3) "
        "ORDER BY e.posted_at, e.entry_id, p.posting_id",
        program_code,
        lo,
        hi,
        prefetch=FETCH_ROWS,
    )
    out: list[PostedEntry] = []
    head: asyncpg.Record | None = None
    lines: list[L.Line] = []
    async for r in cursor:
        if head is not None and r["entry_id"] != head["entry_id"]:
            out.append(_entry(head, lines))
            lines = []
            if progress and len(out) % 500 == 0:
                progress(len(out), total)
        head = r
        lines.append(L.Line(r["account"], r["debit_fen"], r["credit_fen"]))
    if head is not None:
        out.append(_entry(head, lines))
    if progress:
        progress(len(out), total)
    return out


def _entry(r: asyncpg.Record, lines: list[L.Line]) -> PostedEntry:
    return PostedEntry(
        r["entry_id"], r["kind"], r["reference"], r["posted_at"], tuple(lines), r["memo"]
    )


async def _sums(
    conn: asyncpg.Connection, program_code: str, before: datetime | None
) -> dict[str, int]:
    """debits − credits per account over the entries posted before ``before`` (None: all)."""
    rows = await conn.fetch(
        "SELECT p.account, (sum(p.debit_fen) - sum(p.credit_fen))::bigint AS net "
        "FROM postings p JOIN entries e USING (entry_id) WHERE e.program_code=$1 "
        "AND ($2::timestamptz IS NULL OR e.posted_at < $2) GROUP BY p.account",
        program_code,
        before,
    )
    return {r["account"]: r["net"] for r in rows}


async def _kept(conn: asyncpg.Connection, program_code: str) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT account, debits_fen - credits_fen AS net FROM balances WHERE program_code=$1",
        program_code,
    )
    return {r["account"]: r["net"] for r in rows}


async def account_names(conn: asyncpg.Connection, program_code: str, program: asyncpg.Record) -> Names:
    """Everything funds stores that names what an entry refers to."""
    items = {
        r["item_code"]: ItemName(r["line_code"], r["line_name"], r["item_name"], r["mode"])
        for r in await conn.fetch(
            "SELECT line_code, line_name, item_code, item_name, mode FROM items "
            "WHERE program_code=$1",
            program_code,
        )
    }
    awards = await conn.fetch(
        "SELECT award_id, kind, item_code, payee_credit_code, payee_name FROM awards "
        "WHERE program_code=$1 ORDER BY reserved_at",
        program_code,
    )
    payees = (
        {program["contractor_credit_code"]: program["contractor_name"]}
        if program["contractor_credit_code"] and program["contractor_name"]
        else {}
    )
    payees.update({a["payee_credit_code"]: a["payee_name"] for a in awards})  # the latest name wins
    payments = await conn.fetch(
        "SELECT p.payment_id::text AS payment_id, p.award_id FROM payments p "
        "JOIN awards a USING (award_id) WHERE a.program_code=$1",
        program_code,
    )
    releases = await conn.fetch(
        "SELECT release_id, approval_reference FROM releases WHERE program_code=$1", program_code
    )
    adjustments = await conn.fetch(
        "SELECT adjustment_id, from_item, to_item, resolution_no FROM adjustments "
        "WHERE program_code=$1",
        program_code,
    )
    defaults = await conn.fetch(
        "SELECT credit_code, resolution_no FROM defaults WHERE program_code=$1", program_code
    )
    repayments = await conn.fetch(
        "SELECT repayment_id, credit_code, bank_reference FROM repayments WHERE program_code=$1",
        program_code,
    )
    return Names(
        program_name=program["name"],
        lines={i.line_code: i.line_name for i in items.values()},
        items=items,
        payees=payees,
        awards={
            a["award_id"]: AwardInfo(
                a["kind"], a["item_code"], a["payee_credit_code"], a["payee_name"]
            )
            for a in awards
        },
        payments={p["payment_id"]: p["award_id"] for p in payments},
        releases={str(r["release_id"]): r["approval_reference"] for r in releases},
        adjustments={
            r["adjustment_id"]: AdjustmentInfo(r["from_item"], r["to_item"], r["resolution_no"])
            for r in adjustments
        },
        defaults={r["credit_code"]: r["resolution_no"] for r in defaults},
        repayments={
            r["repayment_id"]: RepaymentInfo(r["credit_code"], r["bank_reference"])
            for r in repayments
        },
    )
