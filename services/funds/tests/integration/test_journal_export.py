"""The accountant's journal over real NATS JetStream + PostgreSQL: a program that releases money,
reserves, pays (at 21:00Z: the next county day), fails and pays again, pre-allocates, adjusts,
declares a default and is repaid; exported by HTTP and by ``ruralfund ledger export``, and the
beancount file accepted by ``bean-check``."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook
from ruralfund_common.auth import Role
from ruralfund_common.errors import InvalidInput
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.service.journal import journal_export
from typer.testing import CliRunner

from ruralfund.cli_ledger import app as ledger_cli

from .conftest import (
    ADMIN,
    AUDITOR,
    CC,
    ENTERPRISE,
    FINANCE,
    LEADER,
    PROVIDER,
    SYSTEM,
    World,
    approved,
)

pytestmark = pytest.mark.integration

P = "/programs/xinping-2021"
RES = {"resolution_number": "新电商领〔2026〕3号", "resolution_date": "2026-03-02"}


def bean_check(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("bean-check", path=str(Path(sys.executable).parent))
    assert exe, "bean-check comes with the dev dependency beancount"
    return subprocess.run(
        [exe, str(path)], check=False, capture_output=True, text=True, timeout=120
    )


async def _a_year_of_money(w: World) -> None:
    """Monday 2026-03-02 (the world opened the program at 10:00 Shanghai)."""
    r = await w.post(
        f"{P}/releases",
        {"amount_yuan": "500,000.00", "approval_reference": "新电商领〔2026〕1号"},
        FINANCE,
    )
    assert r.status_code == 201, r.text
    await w.claims.emit(approved("j-1", publicity=False), "j-1")  # 2,469.00 brand packaging
    await w.claims.emit(approved("j-2", 100_00, publicity=False), "j-2")
    await eventually(lambda: w.status("j-2"), expect="reserved")
    await w.clock("2026-03-02T21:00:00Z")  # 05:00 on Tuesday 03-03 in Shanghai
    paid_1 = await w.pay("j-1")
    failed = await w.pay("j-2")
    r = await w.post(f"/payments/{failed}/failure", {"reason": "账户已销户"}, SYSTEM)
    assert r.status_code == 200, r.text
    paid_2 = await w.pay("j-2")  # paid again out of what is owed
    r = await w.post(
        f"{P}/adjustments",
        {
            "from_item": "new-product",
            "to_item": "brand-packaging",
            "amount_yuan": "20,000.00",
            **RES,
        },
        LEADER,
    )
    assert r.status_code == 201, r.text
    await w.clock("2026-03-04T02:00:00Z")
    r = await w.post(
        f"{P}/preallocations",
        {
            "preallocation_id": "pre-1",
            "item_code": "anchor-training",
            "provider_credit_code": PROVIDER,
            "provider_name": "承办企业",
            "bank_name": "新平县某银行",
            "bank_account": "6222000000000099",
            "amount_yuan": "180,000.00",
            "contract_reference": "磋商合同〔2026〕1号",
        },
        LEADER,
    )
    assert r.status_code == 201, r.text
    pid = await w.pay("pre-1")
    # the defaulter holds the joint account: every payment out of it is confirmed first
    for n, p in enumerate((pid, paid_1, paid_2)):
        await w.post(f"/payments/{p}/settlement", {"bank_txn_id": f"T-{9 + n * 10}"}, SYSTEM)
    r = await w.post(f"{P}/defaults", {"credit_code": PROVIDER, **RES}, LEADER)
    assert r.status_code == 201, r.text
    r = await w.post(
        f"{P}/repayments",
        {"credit_code": PROVIDER, "amount_yuan": "100,000.00", "bank_reference": "T-10"},
        FINANCE,
    )
    assert r.status_code == 201, r.text


async def _download(w: World, query: str, who=AUDITOR):
    return await w.funds.get(f"{P}/journal{query}", headers=bearer(who))


async def test_journal_of_a_real_flow_passes_bean_check_and_reads_as_a_journal(
    world: World, tmp_path: Path
):
    w = world
    await _a_year_of_money(w)

    r = await _download(w, "?format=beancount")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    path = tmp_path / "xinping-2021.beancount"
    path.write_bytes(r.content)
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = r.text
    for kind in (
        "program_opened",
        "funds_released",
        "award_reserved",
        "payment_executed",
        "payment_reversed",
        "budget_adjusted",
        "contractor_defaulted",
        "clawback_repaid",
        "funds_returned",
    ):
        assert f'kind: "{kind}"' in text, kind
    assert "共管账户资金缴回县财政局（承办企业 违约，新电商领〔2026〕3号）" in text
    assert (
        '2026-03-03 * "新平礼好包装有限公司" "支付 新平礼好包装有限公司 公共品牌升级打造奖补"'
        in text
    )
    # the kept balances agree: what bean-check proved against the file's assertions
    bank = (await w.balances())["bank:joint"]
    assert f"balance Assets:Bank:Joint  {bank // 100}.{bank % 100:02d} CNY" in text

    r = await _download(w, "?format=csv", FINANCE)
    assert r.status_code == 200 and r.content.startswith("\ufeff分录编号".encode())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    paid = [
        x
        for x in rows
        if x["业务类型"] == "payment_executed"
        and x["借方金额（元）"] in ("2469.00", "0.00")
        and x["贷方金额（元）"] in ("2469.00", "0.00")
    ]
    assert {(x["记账日期"], x["凭证号"], x["摘要"]) for x in paid} == {
        ("2026-03-03", "记-20260303-0001", "支付 新平礼好包装有限公司 公共品牌升级打造奖补")
    }
    assert {
        (x["科目编码"], x["科目类型"], x["借方金额（元）"], x["贷方金额（元）"]) for x in paid
    } >= {(f"payee:{CC}", "支出", "2469.00", "0.00"), ("bank:joint", "资产", "0.00", "2469.00")}
    opened = [x for x in rows if x["业务类型"] == "program_opened"]
    assert {x["凭证号"] for x in opened} == {"记-20260302-0001"} and opened[0][
        "业务类型名称"
    ] == "项目资金下达"
    vouchers = {x["凭证号"] for x in rows}
    assert "记-20260303-0001" in vouchers and "记-20260302-0002" in vouchers  # restarts each day
    assert {x["项目编码"] for x in rows} == {"xinping-2021"}
    assert any(x["摘要"] == "收回 承办企业 追回款（T-10）" for x in rows)

    r = await _download(w, "?format=xlsx", LEADER)
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content))["序时账"]
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == len(rows)

    # a range starts with its opening balances and still balances
    r = await _download(w, "?format=beancount&from=2026-03-03&to=2026-03-03")
    assert r.status_code == 200, r.text
    assert (
        "期初余额" in r.text and "2026-03-04 balance" in r.text and "clawback_repaid" not in r.text
    )
    assert r.headers["content-disposition"] == (
        'attachment; filename="journal.beancount"; '
        "filename*=UTF-8''xinping-2021-journal-2026-03-03-2026-03-03.beancount"
    )
    ranged = tmp_path / "range.beancount"
    ranged.write_bytes(r.content)
    checked = bean_check(ranged)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the CLI writes the same file (progress on stderr)
    out = tmp_path / "journal.csv"
    args = [
        "export",
        "xinping-2021",
        "--format",
        "csv",
        "-o",
        str(out),
        "--database-url",
        w.database_url,
    ]
    result = await asyncio.to_thread(CliRunner().invoke, ledger_cli, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (await _download(w, "")).content
    bean = tmp_path / "cli.beancount"
    args = [
        "export",
        "xinping-2021",
        "-f",
        "beancount",
        "-o",
        str(bean),
        "--database-url",
        w.database_url,
    ]
    assert (await asyncio.to_thread(CliRunner().invoke, ledger_cli, args)).exit_code == 0
    assert bean_check(bean).returncode == 0

    # a posting altered behind the ledger's back (rules disabled by a DB admin): the export's
    # balance assertions are the kept balances, so bean-check refuses the file
    conn = await asyncpg.connect(w.database_url, server_settings={"search_path": "funds"})
    try:
        await conn.execute("ALTER TABLE postings DISABLE RULE postings_no_update")
        release = await conn.fetchval("SELECT entry_id FROM entries WHERE kind = 'funds_released'")
        # both sides, so the entry still balances: only the kept balances can tell
        await conn.execute(
            "UPDATE postings SET debit_fen = debit_fen + 100 WHERE entry_id = $1 AND debit_fen > 0",
            release,
        )
        await conn.execute(
            "UPDATE postings SET credit_fen = credit_fen + 100 WHERE entry_id = $1 "
            "AND credit_fen > 0",
            release,
        )
    finally:
        await conn.close()
    tampered = tmp_path / "tampered.beancount"
    tampered.write_bytes((await _download(w, "?format=beancount")).content)
    checked = bean_check(tampered)
    report = checked.stdout + checked.stderr
    assert checked.returncode != 0 and "Balance failed for 'Assets:Bank:Joint'" in report, report
    assert "does not balance" not in report, report


async def test_journal_refuses_bad_input_with_a_problem_naming_the_field(world: World):
    w = world
    for query, code, field in (
        ("?format=pdf", "INVALID_FORMAT", "format"),
        ("?from=2026-13-01", "INVALID_DATE", "from"),
        ("?to=20261013", "INVALID_DATE", "to"),
        ("?from=2026-03-05&to=2026-03-01", "INVALID_RANGE", "from"),
    ):
        r = await _download(w, query)
        assert r.status_code == 400, (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["code"], r.json()["field"]) == (code, field), r.text
    r = await w.funds.get("/programs/no-such/journal", headers=bearer(AUDITOR))
    assert r.status_code == 404 and r.json()["code"] == "PROGRAM_NOT_FOUND"
    for who in (ENTERPRISE, person("Station", Role.SYSTEM)):
        r = await _download(w, "", who)
        assert r.status_code == 403 and r.json()["code"] == "ROLE_REQUIRED", r.text
    assert (await w.funds.get(f"{P}/journal")).status_code == 401
    conn = await asyncpg.connect(w.database_url, server_settings={"search_path": "funds"})
    try:  # the cap of a download, at 1 entry (the opening entry is one)
        await journal_export(conn, "xinping-2021", max_entries=1)
        with pytest.raises(InvalidInput) as too_many:
            await w.post(
                f"{P}/releases", {"amount_yuan": "1.00", "approval_reference": "r"}, FINANCE
            )
            await journal_export(conn, "xinping-2021", max_entries=1)
    finally:
        await conn.close()
    refusal = too_many.value
    assert (refusal.code, refusal.field, refusal.status) == ("EXPORT_TOO_LARGE", "from", 400)
    assert "单次下载最多 1 笔" in refusal.message
    cli = ["export", "--database-url", w.database_url]
    result = await asyncio.to_thread(CliRunner().invoke, ledger_cli, [*cli, "no-such", "-o", "-"])
    assert result.exit_code == 2 and "PROGRAM_NOT_FOUND" in result.output, result.output
    result = await asyncio.to_thread(
        CliRunner().invoke, ledger_cli, [*cli, "xinping-2021", "--from", "2026-3-1"]
    )
    assert result.exit_code == 2 and "--from" in result.output, result.output
    result = await asyncio.to_thread(
        CliRunner().invoke, ledger_cli, [*cli, "xinping-2021", "-f", "beancount", "-o", "-"]
    )
    assert result.exit_code == 0 and 'kind: "program_opened"' in result.stdout, result.output
    # the old export stays as it was for its integrators
    r = await w.funds.get(f"{P}/postings.csv", headers=bearer(ADMIN))
    assert r.status_code == 200 and r.text.startswith(
        "posting_id,posted_at,kind,reference,account,debit_fen"
    )
