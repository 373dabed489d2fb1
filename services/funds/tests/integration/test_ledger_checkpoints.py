"""Issue 15: the ledger's history is provable from outside the database. A checkpoint is kept;
then a database administrator (the PostgreSQL superuser: rules and triggers are no obstacle)
plays each attack, and ``ruralfund ledger verify --checkpoint`` exits non-zero naming the leaf,
row and table that changed. Untouched, it exits 0. Today's checks alone (no --checkpoint) miss
each attack: asserted too, so these tests fail on the code before the Merkle tree."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC
from pathlib import Path

import asyncpg
import pytest
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.domain.audit import GENESIS_HASH, audit_hash
from ruralfund_funds.domain.merkle import leaf_hash
from typer.testing import CliRunner

from ruralfund.cli_ledger import app as ledger_cli

from .conftest import AUDITOR, CC, FINANCE, World, approved

pytestmark = pytest.mark.integration
P = "/programs/xinping-2021"


def verify(database_url: str, *extra: str) -> tuple[int, str]:
    """Exit code and one line per problem, "check: where: detail" as the CLI prints them."""
    result = CliRunner().invoke(
        ledger_cli, ["verify", "--database-url", database_url, "--json", *extra]
    )
    if result.exit_code not in (0, 1):
        return result.exit_code, result.output
    report = json.loads(result.output)
    lines = [f"{p['check']}: {p['where']}: {p['detail']}" for p in report["problems"]]
    return result.exit_code, "\n".join(lines) or "ok"


async def run_verify(w: World, checkpoint: Path | None) -> tuple[int, str]:
    extra = ("--checkpoint", str(checkpoint)) if checkpoint else ()
    return await asyncio.to_thread(verify, w.database_url, *extra)


async def kept_checkpoint(w: World, tmp_path: Path) -> tuple[Path, dict]:
    """Two payments, a checkpoint an auditor keeps, then a third payment after it."""
    await w.post(f"{P}/releases", {"amount_yuan": "100,000.00", "approval_reference": "r"}, FINANCE)
    for award_id in ("dba-1", "dba-2", "dba-3"):
        await w.claims.emit(approved(award_id, publicity=False), award_id)
        await eventually(lambda a=award_id: w.status(a), expect="reserved")
    pids = [await w.pay("dba-1"), await w.pay("dba-2")]
    r = await w.post("/ledger/checkpoints", {}, AUDITOR)
    assert r.status_code == 201, r.text
    cp = r.json()
    path = tmp_path / "kept-checkpoint.json"
    path.write_text(json.dumps(cp), encoding="utf-8")
    pids.append(await w.pay("dba-3"))
    code, out = await run_verify(w, path)
    assert code == 0 and out == "ok", out
    human = await asyncio.to_thread(
        CliRunner().invoke,
        ledger_cli,
        ["verify", "--database-url", w.database_url, "--checkpoint", str(path)],
    )
    assert human.exit_code == 0 and "extends the checkpoint" in human.output, human.output
    return path, {"checkpoint": cp, "payments": pids}


async def superuser(w: World) -> asyncpg.Connection:
    return await asyncpg.connect(w.database_url, server_settings={"search_path": "funds"})


async def _forge_pending_onto_tree(conn: asyncpg.Connection) -> tuple[int, list[str]]:
    """What a DBA who read the code would do: empty the seal's capture and append its leaves to
    the tree as if funds had sealed them. Returns the tree's size before and the forged leaves."""
    size = await conn.fetchval("SELECT count(*) FROM ledger_leaves")
    leaves = [r["leaf"] for r in await conn.fetch("SELECT leaf FROM ledger_pending ORDER BY pending_id")]
    await conn.execute("DELETE FROM ledger_pending")
    for i, text in enumerate(leaves):
        await conn.execute("INSERT INTO ledger_leaves VALUES ($1, $2, $3)", size + i, text, leaf_hash(text.encode()))
    return size, leaves


async def test_untouched_ledger_verifies_and_the_checkpoint_is_published(world: World, tmp_path):
    w = world
    _, kept = await kept_checkpoint(w, tmp_path)
    cp = kept["checkpoint"]
    assert (
        await w.funds.get("/ledger/checkpoints/latest")
    ).json() == cp  # public: anyone can keep a copy
    assert (await w.funds.get(f"/ledger/checkpoints/{cp['tree_size']}")).json() == cp
    events = await w.events("funds.evt.ledger_checkpoint.v1")
    assert any(
        e["data"]["root_hash"] == cp["root_hash"] and e["data"]["reason"] == "on_demand"
        for e in events
    )
    head = await (await w.funds.post("/ledger/checkpoints", headers=_auditor())).aread()
    now = json.loads(head)
    assert now["tree_size"] > cp["tree_size"]
    proof = (
        await w.funds.get(
            f"/ledger/proofs/consistency?from={cp['tree_size']}&to={now['tree_size']}"
        )
    ).json()
    from ruralfund_funds.domain.merkle import verify_consistency

    assert verify_consistency(
        cp["tree_size"],
        now["tree_size"],
        bytes.fromhex(cp["root_hash"]),
        bytes.fromhex(now["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
    inc = (
        await w.funds.get(f"/ledger/proofs/inclusion?leaf_index=0&tree_size={now['tree_size']}")
    ).json()
    from ruralfund_funds.domain.merkle import verify_inclusion

    assert verify_inclusion(
        bytes.fromhex(inc["leaf_hash"]),
        0,
        now["tree_size"],
        [bytes.fromhex(h) for h in inc["proof"]],
        bytes.fromhex(now["root_hash"]),
    )
    # a forged copy of the checkpoint (another root, same signature) is refused
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(cp | {"root_hash": "0" * 64}), encoding="utf-8")
    code, out = await run_verify(w, forged)
    assert code == 1 and "checkpoint_signature" in out and "BAD_SIGNATURE" in out, out


def _auditor() -> dict[str, str]:
    from ruralfund_common.testing.services import bearer

    return bearer(AUDITOR)


async def test_dba_deletes_the_last_audit_record(world: World, tmp_path):
    w = world
    path, _ = await kept_checkpoint(w, tmp_path)
    conn = await superuser(w)
    try:
        last = await conn.fetchval("SELECT max(seq) FROM audit_log")
        await conn.execute("ALTER TABLE audit_log DISABLE RULE audit_log_no_delete")
        await conn.execute(
            "ALTER TABLE audit_log DISABLE TRIGGER USER"
        )  # and leaves no trace in the capture
        await conn.execute("DELETE FROM audit_log WHERE seq = $1", last)
        assert (await run_verify(w, None))[0] == 0  # today's chain check cannot see a removed tail
        code, out = await run_verify(w, path)
        assert code == 1, out
        assert "row_missing" in out and f"audit_log seq={last}" in out, out
        # going further: the leaves after the checkpoint are cut back too (the head is signed)
        size = await conn.fetchval("SELECT count(*) FROM ledger_leaves")
        await conn.execute("ALTER TABLE ledger_leaves DISABLE RULE ledger_leaves_no_delete")
        await conn.execute("DELETE FROM ledger_leaves WHERE leaf_index = $1", size - 1)
        code, out = await run_verify(w, path)
        assert code == 1 and "tree_truncated" in out and f"the log has {size - 1}" in out, out
    finally:
        await conn.close()


async def test_dba_appends_an_entry_with_a_recomputed_hash(world: World, tmp_path):
    w = world
    path, _ = await kept_checkpoint(w, tmp_path)
    conn = await superuser(w)
    try:
        entry_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO entries (entry_id, program_code, kind, reference, posted_at) "
            "VALUES ($1, 'xinping-2021', 'payment_executed', 'forged', now())",
            entry_id,
        )
        lines = [["payee:91530427MA6K0B0Q1Y", 500_000, 0], ["bank:joint", 0, 500_000]]
        for account, debit, credit in lines:
            await conn.execute(
                "INSERT INTO postings (entry_id, program_code, account, debit_fen, credit_fen) "
                "VALUES ($1, 'xinping-2021', $2, $3, $4)",
                entry_id,
                account,
                debit,
                credit,
            )
            await conn.execute(
                "UPDATE balances SET debits_fen = debits_fen + $2, credits_fen = credits_fen + $3 "
                "WHERE program_code = 'xinping-2021' AND account = $1",
                account,
                debit,
                credit,
            )
        prev = (
            await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            or GENESIS_HASH
        )
        payload = {
            "entry_id": str(entry_id),
            "program_code": "xinping-2021",
            "kind": "payment_executed",
            "reference": "forged",
            "posted_at": "2026-03-02T02:00:00+00:00",
            "lines": lines,
        }
        await conn.execute(
            "INSERT INTO audit_log (kind, payload, prev_hash, hash, recorded_at) "
            "VALUES ('entry', $1::jsonb, $2, $3, now())",
            json.dumps(payload),
            prev,
            audit_hash(prev, "entry", payload),
        )
        assert (await run_verify(w, None))[0] == 0  # the chain links, the books balance
        code, out = await run_verify(w, path)
        assert code == 1, out
        assert "unsealed_change" in out and f"insert entries entry_id={entry_id}" in out, out
        # the capture is emptied and leaves are forged onto the tree: beyond the head funds signed
        size, forged = await _forge_pending_onto_tree(conn)
        code, out = await run_verify(w, path)
        assert code == 1 and "unsealed_change" not in out, out
        assert (
            "tree_forged_append" in out and f"leaves #{size}..#{size + len(forged) - 1}" in out
        ), out
    finally:
        await conn.close()


async def test_dba_rewrites_an_old_payment_amount_and_rehashes_the_chain(world: World, tmp_path):
    w = world
    path, kept = await kept_checkpoint(w, tmp_path)
    pid = kept["payments"][0]  # paid before the checkpoint
    conn = await superuser(w)
    try:
        for table in ("payments", "postings", "audit_log", "awards"):
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await conn.execute("ALTER TABLE postings DISABLE RULE postings_no_update")
        await conn.execute("ALTER TABLE audit_log DISABLE RULE audit_log_no_update")
        entry = await conn.fetchval(
            "SELECT entry_id FROM entries WHERE kind='payment_executed' AND reference=$1", pid
        )
        await conn.execute(
            "UPDATE payments SET content = jsonb_set(content, '{amount_fen}', '1246900') "
            "WHERE payment_id = $1",
            uuid.UUID(pid),
        )
        rows = await conn.fetch(
            "SELECT posting_id, account, debit_fen, credit_fen FROM postings WHERE entry_id=$1 "
            "AND (account LIKE 'payee:%' OR account = 'bank:joint')",
            entry,
        )
        for (
            r
        ) in rows:  # joint account → payee, both sides, kept balances too: the books still balance
            d, c = (1_000_000 if r["debit_fen"] else 0), (1_000_000 if r["credit_fen"] else 0)
            await conn.execute(
                "UPDATE postings SET debit_fen = debit_fen + $2, credit_fen = credit_fen + $3 "
                "WHERE posting_id = $1",
                r["posting_id"],
                d,
                c,
            )
            await conn.execute(
                "UPDATE balances SET debits_fen = debits_fen + $2, credits_fen = credits_fen + $3 "
                "WHERE program_code='xinping-2021' AND account=$1",
                r["account"],
                d,
                c,
            )
        await _rehash_audit(conn, str(entry), 1_000_000)
        assert (await run_verify(w, None))[
            0
        ] == 0  # today's checks: the chain links, the books balance
        code, out = await run_verify(w, path)
        assert code == 1, out
        assert (
            f"row_differs: payments payment_id={pid}" in out
            and "content.amount_fen: 246900 → 1246900" in out
        ), out
        assert (
            "row_differs: postings posting_id=" in out and "row_differs: audit_log seq=" in out
        ), out
        # going further: the payment's leaves are rewritten to match (their stored hashes too)
        await conn.execute("ALTER TABLE ledger_leaves DISABLE RULE ledger_leaves_no_update")
        for r in await conn.fetch(
            "SELECT leaf_index, leaf FROM ledger_leaves WHERE leaf LIKE '%' || $1 || '%' "
            'AND leaf LIKE \'{"op": %"table": "payments"}\'',
            pid,
        ):
            text = r["leaf"].replace('"amount_fen": 246900', '"amount_fen": 1246900')
            await conn.execute(
                "UPDATE ledger_leaves SET leaf=$2, leaf_hash=$3 WHERE leaf_index=$1",
                r["leaf_index"],
                text,
                leaf_hash(text.encode()),
            )
        code, out = await run_verify(w, path)
        assert code == 1 and f"row_differs: payments payment_id={pid}" not in out, out
        assert (
            "tree_rewritten: checkpoint tree_size=" in out
            and "history before the checkpoint was rewritten" in out
        )
    finally:
        await conn.close()


async def _rehash_audit(conn: asyncpg.Connection, entry_id: str, extra_fen: int) -> None:
    """The entry's audit record gets the new amounts; every later record is re-hashed."""
    rows = await conn.fetch("SELECT seq, kind, payload FROM audit_log ORDER BY seq")
    prev = GENESIS_HASH
    for r in rows:
        payload = json.loads(r["payload"])
        if r["kind"] == "entry" and payload["entry_id"] == entry_id:
            payload["lines"] = [
                [a, d + extra_fen if d else 0, c + extra_fen if c else 0]
                if a == "bank:joint" or a.startswith("payee:")
                else [a, d, c]
                for a, d, c in payload["lines"]
            ]
        h = audit_hash(prev, r["kind"], payload)
        await conn.execute(
            "UPDATE audit_log SET payload=$2::jsonb, prev_hash=$3, hash=$4 WHERE seq=$1",
            r["seq"],
            json.dumps(payload),
            prev,
            h,
        )
        prev = h


async def test_dba_changes_the_bank_account_of_an_executed_payment(world: World, tmp_path):
    w = world
    path, kept = await kept_checkpoint(w, tmp_path)
    pid = kept["payments"][1]
    conn = await superuser(w)
    try:
        await conn.execute(
            "UPDATE payments SET content = jsonb_set(content, '{payee_bank_account}', "
            "'\"6217000000000666\"') WHERE payment_id = $1",
            uuid.UUID(pid),
        )
        await conn.execute(
            "UPDATE awards SET payee_bank_account = '6217000000000666' WHERE award_id = 'dba-2'"
        )
        assert (await run_verify(w, None))[0] == 0  # payments and awards were outside the hash chain
        code, out = await run_verify(w, path)
        assert code == 1, out
        assert f"row_differs: payments payment_id={pid}" in out, out
        assert 'content.payee_bank_account: "6228480000000000001" → "6217000000000666"' in out, out
        assert "row_differs: awards award_id=dba-2" in out and "payee_bank_account" in out, out
        assert "unsealed_change" in out and f"update payments payment_id={pid}" in out, out
        # the captured change is appended as leaves as if funds had made it: beyond the signed head,
        # and a change no legitimate one makes (an executed payment's content, a paid award's account)
        await _forge_pending_onto_tree(conn)
        code, out = await run_verify(w, path)
        assert code == 1 and "row_differs" not in out and "tree_forged_append" in out, out
        assert (
            f"leaf_rule: payments payment_id={pid}" in out
            and "changes an executed payment's content" in out
        ), out
        assert (
            "leaf_rule: awards award_id=dba-2" in out and "paid award's payee bank account" in out
        ), out
    finally:
        await conn.close()


async def test_every_handler_seals_a_registry_account_change_too(world: World, tmp_path):
    """A handler added later (the registry's bank account change) seals like the others: the
    award moved to the new account and the registry row are leaves, and verify exits 0."""
    from datetime import datetime

    from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
        EnterpriseBankAccountChanged,
    )

    w = world
    path, _ = await kept_checkpoint(w, tmp_path)
    await w.claims.emit(approved("dba-4", publicity=False), "dba-4")
    await eventually(lambda: w.status("dba-4"), expect="reserved")
    changed = EnterpriseBankAccountChanged(
        credit_code=CC,
        enterprise_name="新平礼好包装有限公司",
        bank_name="农行新平支行",
        account_no="6228480000000000777",
        previous_bank_name="中国农业银行新平县支行",
        previous_account_no="6228480000000000001",
        previous_contact_name="李",
        changed_by="u-admin",
        changed_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
    )
    await w.claims.emit(changed, CC)

    async def moved():
        award = await w.get("/awards/dba-4")
        return award and "0777" in str(award)

    await eventually(moved, description="the unpaid award moved to the registry's account")
    code, out = await run_verify(w, path)
    assert code == 0, out
    async with w.funds.app.state.ctx.pool.acquire() as c:
        tables = {
            json.loads(r["leaf"])["table"] for r in await c.fetch("SELECT leaf FROM ledger_leaves")
        }
    assert "registry_bank_accounts" in tables
