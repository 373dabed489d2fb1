"""``ruralfund deploy gaps`` / ``gap-ack`` on a real PostgreSQL: the accepted sequence gaps
consumers recorded (shared inbox migrations), open ones make the command exit 1."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from ruralfund_common.db.migrate import migrate
from typer.testing import CliRunner

from ruralfund.cli_deploy import app

pytestmark = pytest.mark.integration
runner = CliRunner()


async def _a_gap(database_url: str) -> None:
    for schema in ("funds", "notify"):
        await migrate(database_url, schema, None)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO funds.inbox_gaps (consumer, subject, owner, from_seq, to_seq, pruned_below_seq, "
            "signed_by, answer, signature) VALUES ('funds__on_objection_filed', 'notify.evt.objection_filed.v1', "
            "'notify', 3, 4, 5, 'notify-20261206-ab12', '{}', 'sig')")
    finally:
        await conn.close()


async def test_gaps_lists_open_gaps_until_an_operator_acknowledges_them(database_url: str) -> None:
    await _a_gap(database_url)
    listed = await asyncio.to_thread(runner.invoke, app, ["gaps", "--json", "--database-url", database_url])
    assert listed.exit_code == 1, listed.output
    [gap] = json.loads(listed.stdout)
    assert (gap["schema"], gap["consumer"], gap["from_seq"], gap["to_seq"], gap["signed_by"]) == \
        ("funds", "funds__on_objection_filed", 3, 4, "notify-20261206-ab12")
    text = await asyncio.to_thread(runner.invoke, app, ["gaps", "--database-url", database_url])
    assert "seq 3..4  (2 never applied)" in text.stdout and "OPEN" in text.stdout

    refused = await asyncio.to_thread(runner.invoke, app, [
        "gap-ack", "funds", str(gap["id"]), "--by", "ops Li", "--note", " ", "--database-url", database_url])
    assert refused.exit_code == 2
    acked = await asyncio.to_thread(runner.invoke, app, [
        "gap-ack", "funds", str(gap["id"]), "--by", "ops Li", "--note", "objections 3-4 checked on notify's page",
        "--database-url", database_url])
    assert acked.exit_code == 0, acked.output
    again = await asyncio.to_thread(runner.invoke, app, [
        "gap-ack", "funds", str(gap["id"]), "--by", "ops Li", "--note", "x", "--database-url", database_url])
    assert again.exit_code == 2

    clean = await asyncio.to_thread(runner.invoke, app, ["gaps", "--json", "--database-url", database_url])
    assert clean.exit_code == 0 and json.loads(clean.stdout) == []
    history = await asyncio.to_thread(runner.invoke, app, ["gaps", "--all", "--json", "--database-url", database_url])
    assert [(g["acknowledged_by"], g["note"]) for g in json.loads(history.stdout)] == \
        [("ops Li", "objections 3-4 checked on notify's page")]
