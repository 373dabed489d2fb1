"""funds runs as a role that may change rows but no table, rule or trigger (issue 15), also in
the tests and in `ruralfund dev`: with one superuser URL the pool switches to funds_runtime."""

from __future__ import annotations

import asyncpg
import pytest

from .conftest import World

pytestmark = pytest.mark.integration


async def test_the_service_pool_cannot_disable_the_ledger_rules_or_rewrite_history(world: World) -> None:
    async with world.funds.app.state.ctx.pool.acquire() as c:
        assert await c.fetchval("SELECT current_user") == "funds_runtime"
        assert await c.fetchval("SELECT count(*) FROM audit_log") > 0  # the program was opened
        for sql in ("ALTER TABLE postings DISABLE RULE postings_no_update",
                    "ALTER TABLE audit_log DISABLE RULE audit_log_no_delete",
                    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                    "DROP TABLE audit_log", "TRUNCATE audit_log", "ALTER TABLE entries ADD COLUMN x int"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await c.execute(sql)
        before = await c.fetch("SELECT * FROM audit_log ORDER BY seq")
        assert await c.execute("UPDATE audit_log SET hash = 'forged'") == "UPDATE 0"
        assert await c.execute("DELETE FROM audit_log") == "DELETE 0"
        assert await c.fetch("SELECT * FROM audit_log ORDER BY seq") == before
