"""Who may call what (every funds endpoint × every role), and ``ruralfund ledger verify``
catching a tampered row."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from ruralfund_common.auth import Role, unguarded_routes
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually
from typer.testing import CliRunner

from ruralfund.cli_ledger import app as ledger_cli

from .conftest import ADMIN, CC, FINANCE, World, approved

pytestmark = pytest.mark.integration

P = "/programs/xinping-2021"
READ = {Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY, Role.FINANCE_BUREAU, Role.AUDITOR}
RES = {"resolution_number": "新电商领〔2026〕3号", "resolution_date": "2026-03-02"}
STATEMENT = "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,counterparty_account," \
            "counterparty_name\n2026-03-03,T-{n},6222000000000000,credit,1.00,ok,,,县财政局\n"


def matrix(pid: str) -> list[tuple[str, str, object, set[Role]]]:
    """(method, path, body, roles allowed). Bodies are valid, so a refusal can only be about who calls."""
    approve = {"content_sha256": "0" * 64}
    return [
        ("POST", f"{P}/releases", {"amount_yuan": "1.00", "approval_reference": "r"}, {Role.FINANCE_BUREAU}),
        ("POST", "/payments", {"award_id": "m-1"}, {Role.BUREAU_ADMIN, Role.LEADING_GROUP}),
        ("POST", f"/payments/{pid}/approvals", approve, {Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY}),
        ("POST", "/payment-approvals", {"approvals": [{"payment_id": pid, **approve}]},
         {Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY}),
        ("POST", f"/payments/{pid}/settlement", {"bank_txn_id": "T"}, {Role.SYSTEM, Role.CONTRACTOR_SIGNATORY}),
        ("POST", f"/payments/{pid}/failure", {"reason": "x"}, {Role.SYSTEM, Role.CONTRACTOR_SIGNATORY}),
        ("POST", f"{P}/bank-statements", "csv", {Role.SYSTEM, Role.CONTRACTOR_SIGNATORY, Role.FINANCE_BUREAU}),
        ("PUT", "/awards/m-1/payee-bank", {"bank_name": "b", "bank_account": "62170000"}, {Role.BUREAU_ADMIN}),
        ("POST", f"{P}/adjustments", {"from_item": "new-product", "to_item": "brand-packaging", "amount_yuan": "1.00",
                                      **RES}, {Role.LEADING_GROUP}),
        ("POST", f"{P}/preallocations", {"item_code": "anchor-training", "provider_credit_code": CC,
                                         "provider_name": "p", "bank_name": "b", "bank_account": "62170000",
                                         "amount_yuan": "1.00", "contract_reference": "c"}, {Role.LEADING_GROUP}),
        ("POST", f"{P}/defaults", {"credit_code": "91530427MA6K1C2D3E", **RES}, {Role.LEADING_GROUP}),
        ("POST", f"{P}/repayments", {"credit_code": CC, "amount_yuan": "1.00"}, {Role.FINANCE_BUREAU, Role.SYSTEM}),
        ("POST", f"{P}/history", {"phase": "first", "document": "决算", "measures": {"hardware": "1.00"}},
         {Role.BUREAU_ADMIN}),
        ("GET", f"{P}/spending", None, READ),
        ("GET", "/awards/m-1", None, READ),
        ("GET", "/awards", None, READ),
        ("GET", "/payments", None, READ),
        ("GET", f"/payments/{pid}", None, READ),
        ("GET", f"{P}/balances", None, READ),
        ("GET", f"{P}/trial-balance", None, READ),
        ("GET", f"{P}/postings.csv", None, READ),
        ("GET", f"{P}/journal", None, READ),
        ("GET", f"{P}/adjustments", None, READ),
        ("GET", f"{P}/reconciliation", None, READ),
        ("GET", f"{P}/releases", None, READ),
        ("GET", f"{P}/payees/{CC}/statement", None, READ | {Role.ENTERPRISE}),
    ]


def caller(role: Role):
    return person(f"Matrix {role.value}", role, credit_code=CC if role is Role.ENTERPRISE else None)


async def test_role_by_endpoint_matrix(world: World):
    w = world
    assert unguarded_routes(w.funds.app) == []
    await w.claims.emit(approved("m-1", publicity=False), "m-1")
    await eventually(lambda: w.status("m-1"), expect="reserved")
    pid = (await w.post("/payments", {"award_id": "m-1"}, ADMIN)).json()["payment_id"]
    rows = matrix(pid)
    served = {(m, path) for path, ops in w.funds.app.openapi()["paths"].items()
              if path.startswith(("/payment", "/awards", "/programs")) for m in ops}
    assert len(served) == len(rows), "a new endpoint belongs in this matrix"
    n = 0
    for method, path, body, allowed in rows:
        for role in Role:
            n += 1
            r = await _call(w, method, path, body, bearer(caller(role)), n)
            if role in allowed:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.status_code, r.text)
                assert r.json()["code"] in ("ROLE_REQUIRED", "READ_ONLY")
        assert (await _call(w, method, path, body, {}, n)).status_code == 401
    other = person("Other Co", Role.ENTERPRISE, credit_code="91530427MA6K1C2D3E")
    r = await w.funds.get(f"{P}/payees/{CC}/statement", headers=bearer(other))
    assert r.status_code == 403 and r.json()["code"] == "NOT_YOUR_DATA"


async def _call(w: World, method: str, path: str, body, headers: dict, n: int):
    if body == "csv":
        return await w.funds.post(path, content=STATEMENT.format(n=n).encode(),
                                  headers={**headers, "Content-Type": "text/csv"})
    return await w.funds.request(method, path, json=body, headers=headers)


def _verify(database_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(ledger_cli, ["verify", "--database-url", database_url, "--json"])
    return result.exit_code, result.output


async def test_ledger_verify_passes_then_catches_tampering(world: World, tmp_path):
    w = world
    await w.claims.emit(approved("v-1", publicity=False), "v-1")
    await eventually(lambda: w.status("v-1"), expect="reserved")
    await w.post(f"{P}/releases", {"amount_yuan": "10,000.00", "approval_reference": "r"}, FINANCE)
    await w.pay("v-1")

    code, out = await asyncio.to_thread(_verify, w.database_url)
    assert code == 0, out
    assert '"ok": true' in out
    args = ["reconcile", "xinping-2021", "--as-of", "2026-03-09", "--json", "--database-url", w.database_url]
    reconcile = await asyncio.to_thread(CliRunner().invoke, ledger_cli, args)
    assert reconcile.exit_code == 0 and "EXECUTED_NOT_ON_STATEMENT" in reconcile.output, reconcile.output  # in transit
    unknown = tmp_path / "statement.csv"
    unknown.write_text(STATEMENT.format(n=1).replace("credit,1.00", "debit,99.00"), encoding="utf-8")
    reconcile = await asyncio.to_thread(CliRunner().invoke, ledger_cli, [*args, "--statement", str(unknown)])
    assert reconcile.exit_code == 1 and "PAID_NOT_APPROVED" in reconcile.output, reconcile.output

    conn = await asyncpg.connect(w.database_url, server_settings={"search_path": "funds"})
    try:
        # the rules make the journal append-only: an ordinary UPDATE changes nothing
        await conn.execute("UPDATE postings SET debit_fen = debit_fen + 1 WHERE debit_fen > 0")
        assert (await asyncio.to_thread(_verify, w.database_url))[0] == 0
        # an attacker with DDL rights bypasses the rule: one posting's amount changed
        await conn.execute("ALTER TABLE postings DISABLE RULE postings_no_update")
        await conn.execute("UPDATE postings SET debit_fen = debit_fen + 100 WHERE posting_id = "
                           "(SELECT max(posting_id) FROM postings WHERE debit_fen > 0)")
        code, out = await asyncio.to_thread(_verify, w.database_url)
        assert code == 1 and "kept_balance" in out and "entry_balance" in out and "journal_vs_audit" in out, out
        await conn.execute("UPDATE postings SET debit_fen = debit_fen - 100 WHERE posting_id = "
                           "(SELECT max(posting_id) FROM postings WHERE debit_fen > 0)")
        assert (await asyncio.to_thread(_verify, w.database_url))[0] == 0
        # ... or rewrites an approval in the audit log
        await conn.execute("ALTER TABLE audit_log DISABLE RULE audit_log_no_update")
        await conn.execute("UPDATE audit_log SET payload = jsonb_set(payload, '{person}', '\"u-someone-else\"') "
                           "WHERE seq = (SELECT min(seq) FROM audit_log WHERE kind = 'approval')")
        code, out = await asyncio.to_thread(_verify, w.database_url)
        assert code == 1 and "audit_chain" in out and "hash does not match" in out, out
    finally:
        await conn.close()
