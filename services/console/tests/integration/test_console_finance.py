"""The finance bureau (县财政局) in the console, against real claims and funds: a release into the
joint account (a bad amount is named in Chinese and changes nothing), the releases listed with
the running total, a bank statement imported from a file with its outcome, the three-way
reconciliation explaining a payment nobody approved, the trial balance and the journal download."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person

from .conftest import ADMIN, World

pytestmark = pytest.mark.integration

P = "xinping-2021"
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
HEADER = "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,counterparty_account,counterparty_name\n"


async def _releases(world: World) -> list[dict]:
    r = await world.funds.get(f"/programs/{P}/releases", headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _executed_order(world: World) -> dict:
    """The world's order signed by both sides: funds executes it and names its bank reference."""
    order = world.order
    for who in (LEADER, SIGNATORY):
        r = await world.funds.post(f"/payments/{order['payment_id']}/approvals",
                                   json={"content_sha256": order["content_sha256"]}, headers=bearer(who))
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "executed" and r.json()["bank_reference"], r.text
    return r.json()


async def test_the_releases_are_listed_with_the_running_total(world) -> None:
    await world.load_xinping()
    home = await world.sign_in("钱会计")
    assert 'href="/finance/statements"' in home and "财政局工作" in home
    page, csrf = await world.form(f"/finance/releases?program={P}")
    r = await world.console.post("/finance/releases", data={"csrf": csrf, "program_code": P,
                                                            "amount_yuan": "250,000.00",
                                                            "approval_reference": "新电商领〔2026〕2号"})
    assert r.status_code == 303, r.text
    page = (await world.console.get(r.headers["location"])).text
    rows = page.split('id="releases-table"')[1].split("</table>")[0].split('data-release-id="')[1:]
    assert len(rows) == 2 and "新电商领〔2026〕1号" in rows[0] and "新电商领〔2026〕2号" in rows[1]
    assert "250,000.00 元" in rows[1] and "750,000.00 元" in rows[1]  # the running total
    assert "2026年3月" in rows[1]  # the county's day, as people read it
    assert [x["amount_fen"] for x in await _releases(world)] == [500_000_00, 250_000_00]


async def test_an_auditor_sees_the_releases_but_is_offered_no_form_and_a_forged_one_is_refused(world) -> None:
    await world.load_xinping()
    await world.sign_in("吴审计")
    page, csrf = await world.form(f"/finance/releases?program={P}")
    assert 'aria-label="审计导航"' in page and 'id="releases-table"' in page
    assert 'id="release-form"' not in page  # no button the services would refuse
    r = await world.console.post("/finance/releases", data={"csrf": csrf, "program_code": P, "amount_yuan": "1.00",
                                                            "approval_reference": "新电商领〔2026〕9号"})
    assert r.status_code == 403 and "审计人员只能查阅" in r.text, r.text
    assert 'id="release-form"' not in r.text
    assert len(await _releases(world)) == 1  # nothing released
    page, csrf = await world.form(f"/finance/statements?program={P}")
    assert 'id="statement-form"' not in page
    r = await world.console.post("/finance/statements", data={"csrf": csrf, "program": P},
                                 files={"statement": ("s.csv", HEADER.encode(), "text/csv")})
    assert r.status_code == 403 and "审计人员只能查阅" in r.text, r.text


async def test_the_finance_bureau_imports_a_statement_and_sees_the_reconciliation(world) -> None:
    await world.load_xinping()
    paid = await _executed_order(world)
    await world.sign_in("钱会计")
    page, csrf = await world.form(f"/finance/statements?program={P}")
    assert 'enctype="multipart/form-data"' in page and '<label for="s-statement">' in page
    statement = HEADER + (
        f"2026-03-03,TXN0001,6222000000000000,debit,\"97,531.00\",ok,{paid['bank_reference']},"
        "6228480000000000001,新平礼好包装有限公司\n"
        "2026-03-03,TXN0002,6222000000000000,debit,\"5,000.00\",ok,RF-UNKNOWN,6228480000000009999,某某公司\n")
    r = await world.console.post("/finance/statements", data={"csrf": csrf, "program": P},
                                 files={"statement": ("对账单.csv", statement.encode(), "text/csv")})
    assert r.status_code == 303, r.text
    page = (await world.console.get(r.headers["location"])).text
    assert "已导入对账单 2 行" in page and "已核对到账（付款已确认）：1 行" in page
    assert "未找到对应的支付指令：1 行" in page
    assert (await world.funds.get(f"/payments/{paid['payment_id']}", headers=bearer(ADMIN))).json()["status"] \
        == "settled"

    home = (await world.console.get("/")).text
    assert "1 处差异待核查" in home.split('id="reconciled"')[1].split("</ul>")[0]
    rec = (await world.console.get(f"/finance/reconciliation?program={P}")).text
    assert "有 1 处差异" in rec and 'data-kind="PAID_NOT_APPROVED"' in rec
    row = rec.split('data-kind="PAID_NOT_APPROVED"')[1].split("</tr>")[0]
    assert "付款未经批准" in row and "TXN0002" in row and "5,000.00 元" in row

    # a bad file: the whole statement is refused in Chinese, naming the line; nothing imported
    bad = HEADER + "2026-03-04,TXN0003,6222000000000000,debit,abc,ok,RF1,1,某\n"
    r = await world.console.post("/finance/statements", data={"csrf": csrf, "program": P},
                                 files={"statement": ("bad.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "第 2 行" in r.text and "未导入" in r.text, r.text
    r = await world.console.post("/finance/statements", data={"csrf": csrf, "program": P})
    assert r.status_code == 422 and "请选择银行对账单文件" in r.text
    rec = (await world.console.get(f"/finance/reconciliation?program={P}")).text
    assert "对账单行数</dt><dd>2</dd>" in rec


async def test_the_trial_balance_and_the_journal_download(world) -> None:
    await world.load_xinping()
    await world.sign_in("钱会计")
    page = (await world.console.get(f"/finance/ledger?program={P}")).text
    assert "借贷平衡" in page and "银行存款-共管账户" in page and "公共品牌升级打造" in page
    row = page.split('data-account="reserved:brand/brand-packaging/award-c1"')[1].split("</tr>")[0]
    assert "已预留预算-" in row and "公共品牌升级打造" in row and "brand-brand" not in row, row
    assert 'id="journal-csv"' in page
    r = await world.console.get(f"/finance/journal?program={P}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert "attachment" in r.headers["content-disposition"] and "中央财政资金拨入共管账户" in r.content.decode("utf-8-sig")
    r = await world.console.get(f"/finance/journal?program={P}&format=xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = await world.console.get(f"/finance/journal?program={P}&format=pdf")
    assert r.status_code == 400 and "导出格式须为" in r.text


def _joint(html: str) -> str:
    return html.split('id="program-xinping-2021"')[1].split('class="joint">')[1].split("</dd>")[0]


async def test_the_finance_bureau_releases_into_the_joint_account(world) -> None:
    await world.load_xinping()
    world.users.create("钱科长", [Role.FINANCE_BUREAU])
    home = await world.sign_in("钱科长")
    assert 'href="/finance/releases"' in home
    page, csrf = await world.form("/finance/releases")
    assert "500,000.00 元" in _joint(page)  # released when the world opened

    r = await world.console.post("/finance/releases", data={"csrf": csrf, "program_code": "xinping-2021",
                                                             "amount_yuan": "五十万", "approval_reference": "x"})
    assert r.status_code == 422 and 'id="err-amount_yuan"' in r.text, r.text
    assert "金额有误" in r.text.split('id="err-amount_yuan">')[1].split("</p>")[0]
    assert "金额“五十万”不是有效的元金额" in r.text and 'value="五十万"' in r.text and "500,000.00 元" in _joint(r.text)  # what was typed is kept

    r = await world.console.post("/finance/releases", data={
        "csrf": csrf, "program_code": "xinping-2021", "amount_yuan": "1,000,000.00",
        "approval_reference": "新电商领〔2026〕2号"})
    assert r.status_code == 303, r.text
    page = (await world.console.get(r.headers["location"])).text
    assert "1,500,000.00 元" in _joint(page) and "已预拨" in page

    # the program's total is 1,500,000.00: one fen more is refused, beside the amount
    r = await world.console.post("/finance/releases", data={"csrf": csrf, "program_code": "xinping-2021",
                                                             "amount_yuan": "0.01", "approval_reference": "x"})
    assert r.status_code == 409 and 'id="err-amount_yuan"' in r.text, r.text
    said = r.text.split('id="err-amount_yuan">')[1].split("</p>")[0]
    assert "尚未拨付的为 0.00 元" in said and "本次拨付 0.01 元" in said, said
    assert "1,500,000.00 元" in _joint(r.text)


async def test_only_the_finance_bureau_may_release(world) -> None:
    await world.load_xinping()
    await world.sign_in("王科长")
    _, csrf = await world.form("/finance/releases")
    r = await world.console.post("/finance/releases", data={"csrf": csrf, "program_code": "xinping-2021",
                                                             "amount_yuan": "1.00", "approval_reference": "x"})
    assert r.status_code == 403 and "error-box" in r.text and "500,000.00 元" in _joint(r.text)
    assert "此操作须由县财政局办理" in r.text
