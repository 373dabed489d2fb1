"""An existing database (written before the Merkle tree) migrates: its rows as they are become
the first leaves, sealed and signed at the next start; a checkpoint then kept catches a later
rewrite of a migrated row."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import connect
from ruralfund_common.testing.services import bearer, running_service, service_settings
from ruralfund_funds.adapters.repository import append_audit
from ruralfund_funds.app import MIGRATIONS, create_app
from typer.testing import CliRunner

from ruralfund.cli_ledger import app as ledger_cli

from .conftest import AUDITOR, CC

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PAYMENT = uuid.UUID("01900000-0000-7000-8000-000000000001")


async def _old_era_rows(conn: asyncpg.Connection) -> None:
    """A program, its opening entry (journal, kept balances, audit chain), an award and its
    executed payment, as the service wrote them before migration 0007."""
    await conn.execute(
        "INSERT INTO programs (program_code, name, county_code, total_fen, opened_at) "
        "VALUES ('old-2020', '旧项目', '530427', 100000, $1)",
        NOW,
    )
    entry = uuid.uuid4()
    await conn.execute(
        "INSERT INTO entries (entry_id, program_code, kind, reference, posted_at) "
        "VALUES ($1, 'old-2020', 'program_opened', 'old-2020', $2)",
        entry,
        NOW,
    )
    lines = [["fund:receivable", 100000, 0], ["fund:allocation", 0, 100000]]
    for account, debit, credit in lines:
        await conn.execute(
            "INSERT INTO postings (entry_id, program_code, account, debit_fen, credit_fen) "
            "VALUES ($1, 'old-2020', $2, $3, $4)",
            entry,
            account,
            debit,
            credit,
        )
        await conn.execute(
            "INSERT INTO balances VALUES ('old-2020', $1, $2, $3, $4)",
            account,
            "debit" if debit else "credit",
            debit,
            credit,
        )
    payload = {
        "entry_id": str(entry),
        "program_code": "old-2020",
        "kind": "program_opened",
        "reference": "old-2020",
        "posted_at": NOW.isoformat(),
        "lines": lines,
    }
    await append_audit(conn, [("entry", payload)], NOW)
    await conn.execute(
        "INSERT INTO awards (award_id, claim_id, program_code, line_code, item_code, payee_credit_code, "
        "payee_name, payee_bank_name, payee_bank_account, amount_fen, requires_publicity, status, reserved_at) "
        "VALUES ('old-1', 'c-old-1', 'old-2020', 'brand', 'pack', $1, '旧企业', '农行', '6228480000000000009', "
        "5000, false, 'paid', $2)",
        CC,
        NOW,
    )
    content = {
        "program_code": "old-2020",
        "award_id": "old-1",
        "payee_credit_code": CC,
        "payee_name": "旧企业",
        "payee_bank_name": "农行",
        "payee_bank_account": "6228480000000000009",
        "amount_fen": 5000,
    }
    await conn.execute(
        "INSERT INTO payments (payment_id, award_id, content, content_sha256, status, requested_by, requested_at, "
        "executed_at) VALUES ($1, 'old-1', $2::jsonb, $3, 'executed', 'u-admin', $4, $4)",
        PAYMENT,
        content,
        "0" * 64,
        NOW,  # the connection encodes jsonb
    )


def _verify(database_url: str, checkpoint: str) -> tuple[int, str]:
    args = ["verify", "--database-url", database_url, "--json", "--checkpoint", checkpoint]
    result = CliRunner().invoke(ledger_cli, args)
    return result.exit_code, result.output


async def test_existing_rows_become_the_first_leaves(nats_url, database_url, namespace, tmp_path):
    old = tmp_path / "migrations-before-0007"
    old.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:6]:
        shutil.copy(path, old / path.name)
    assert not any(p.name.endswith("merkle_ledger.sql") for p in old.iterdir())
    await migrate(database_url, "funds", old)
    conn = await connect(database_url, "funds")
    try:
        async with conn.transaction():
            await _old_era_rows(conn)
    finally:
        await conn.close()

    settings = service_settings(
        "funds",
        nats_url=nats_url,
        database_url=database_url,
        namespace=namespace,
        dev_clock_file=tmp_path / "clock.json",
        calendar_dir=tmp_path / "calendar",
    )
    async with running_service(create_app, settings) as funds:
        pool = funds.app.state.ctx.pool
        async with pool.acquire() as c:
            leaves = [
                json.loads(r["leaf"])
                for r in await c.fetch("SELECT leaf FROM ledger_leaves ORDER BY leaf_index")
            ]
            assert await c.fetchval("SELECT count(*) FROM ledger_pending") == 0
        ops = [(leaf["table"], leaf["op"]) for leaf in leaves]
        # program, award, payment, entry, its two postings, its audit record: each a leaf
        for table, count in (
            ("programs", 1),
            ("awards", 1),
            ("payments", 1),
            ("entries", 1),
            ("postings", 2),
            ("audit_log", 1),
        ):
            assert ops.count((table, "insert")) == count, ops
        # a later migration (0008) added columns to awards: funds sealed a snapshot of the table
        assert ops.count(("awards", "migrate")) == 1 and ops[-1] == ("awards", "migrate"), ops
        r = await funds.post("/ledger/checkpoints", headers=bearer(AUDITOR))
        assert r.status_code == 201, r.text
        assert r.json()["tree_size"] == len(leaves)
    kept = tmp_path / "checkpoint.json"
    kept.write_text(r.text, encoding="utf-8")
    code, out = await asyncio.to_thread(_verify, database_url, str(kept))
    assert code == 0, out

    admin = await asyncpg.connect(database_url, server_settings={"search_path": "funds"})
    try:
        await admin.execute("ALTER TABLE payments DISABLE TRIGGER USER")
        await admin.execute(
            "UPDATE payments SET content = jsonb_set(content, '{amount_fen}', '500000') "
            "WHERE payment_id = $1",
            PAYMENT,
        )
    finally:
        await admin.close()
    code, out = await asyncio.to_thread(_verify, database_url, str(kept))
    problems = json.loads(out)["problems"]
    assert code == 1
    assert any(
        p["check"] == "row_differs"
        and p["where"] == f"payments payment_id={PAYMENT}"
        and "content.amount_fen: 5000 → 500000" in p["detail"]
        for p in problems
    ), problems

    # laundering the rewrite through a "migration": a new column, then funds restarts and seals a
    # snapshot of the reshaped table - which may add the column but not change a kept value
    admin = await asyncpg.connect(database_url, server_settings={"search_path": "funds"})
    try:
        await admin.execute("ALTER TABLE payments ADD COLUMN memo text")
    finally:
        await admin.close()
    async with running_service(create_app, settings):
        pass
    code, out = await asyncio.to_thread(_verify, database_url, str(kept))
    problems = json.loads(out)["problems"]
    assert code == 1 and not any(p["check"] == "row_differs" for p in problems), problems
    assert any(
        p["check"] == "leaf_rule"
        and p["where"] == f"payments payment_id={PAYMENT}"
        and "(a schema migration's snapshot) changes content.amount_fen: 5000 → 500000"
        in p["detail"]
        for p in problems
    ), problems
