"""Migration 0010 on a database that already holds sales claims (forward only): the months of
live claims are taken by the claim submitted first, overlapping later claims stay as they are,
withdrawn claims take nothing, and a later overlapping window is then refused."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from ruralfund_common.db.migrate import migrate

pytestmark = pytest.mark.asyncio(loop_scope="session")

MIGRATIONS = Path(__file__).resolve().parents[2] / "src" / "ruralfund_claims" / "migrations"
T0 = datetime(2023, 5, 1, tzinfo=UTC)


async def _old_claim(conn, n: int, first: int, last: int, status: str = "submitted") -> str:  # type: ignore[no-untyped-def]
    evidence = {"platform": "taobao", "store_name": " 新平礼好旗舰店 ",
                "months": [{"month": f"2021-{m:02d}", "sales_yuan": "60,000.00"}
                           for m in range(first, last + 1)]}  # fmt: skip
    claim_id = f"00000000-0000-0000-0000-00000000000{n}"
    await conn.execute(
        """INSERT INTO claims (id, program_code, line_code, item_code, item_name, credit_code,
               enterprise_name, period, evidence, amount_fen, rule_version, reasons, calculation,
               status, submitted_by, submitted_at, updated_at)
           VALUES ($1, 'xinping-2021', 'brand-promotion', 'sales-reward', '企业销售奖励',
               '91530427MA6K5XQ21X', 'e', $2, $3, 900000, 'r', '[]', 'c', $4, 'u', $5, $5)""",
        claim_id, f"taobao:新平礼好旗舰店/2021-{first:02d}..2021-{last:02d}",
        evidence, status, T0.replace(minute=n),
    )  # fmt: skip
    return claim_id


async def test_0010_keeps_the_first_claims_months_and_loads_old_claims(
    database_url: str, tmp_path: Path
) -> None:
    old = tmp_path / "migrations"
    old.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if int(path.name[:4]) < 10:
            shutil.copy(path, old / path.name)
    await migrate(database_url, "claims", old)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "claims"})
    await conn.set_type_codec("jsonb", encoder=__import__("json").dumps,
                              decoder=__import__("json").loads, schema="pg_catalog")  # fmt: skip
    try:
        await conn.execute(
            """INSERT INTO programs (code, name, county_code, county_name, year, phase, total_fen,
                   publicity_working_days, status, document, document_sha256, activated_by, activated_at)
               VALUES ('xinping-2021', 'x', '530427', '新平', 2021, 'follow_up', 1, 5, 'active',
                   '{}', 'h', 'u', $1)""", T0)  # fmt: skip
        await conn.execute(
            """INSERT INTO enterprises (credit_code, name, kind, county_code, contact, bank_name,
                   bank_account_no, registered_by, registered_at, updated_by, updated_at)
               VALUES ('91530427MA6K5XQ21X', 'e', 'enterprise', '530427', '{}', 'b', '1', 'u', $1, 'u', $1)""",
            T0,
        )  # fmt: skip
        gone = await _old_claim(conn, 1, 1, 6, status="withdrawn")
        first = await _old_claim(conn, 2, 1, 3)
        second = await _old_claim(conn, 3, 1, 4)
        third = await _old_claim(conn, 4, 2, 4)
        await migrate(database_url, "claims", MIGRATIONS)
        rows = await conn.fetch(
            "SELECT once_key, claim_id::text FROM claim_once_keys ORDER BY once_key"
        )
        held = {r["once_key"]: r["claim_id"] for r in rows}
        key = "store:taobao:新平礼好旗舰店/month:2021-{:02d}"
        assert held == {key.format(1): first, key.format(2): first, key.format(3): first,
                        key.format(4): second}  # fmt: skip
        assert gone not in held.values() and third not in held.values()
        assert await conn.fetchval("SELECT count(*) FROM claims") == 4  # nothing lost
        assert await conn.fetchval("SELECT flags FROM claims WHERE id = $1::uuid", first) == []
        # withdrawing frees the months in the database itself (trigger)
        await conn.execute("UPDATE claims SET status = 'withdrawn' WHERE id = $1::uuid", first)
        assert await conn.fetchval(
            "SELECT count(*) FROM claim_once_keys WHERE claim_id = $1::uuid", first
        ) == 0
    finally:
        await conn.close()
