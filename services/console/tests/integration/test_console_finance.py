"""The finance bureau releases money into a program's joint account in the console (预拨),
against real claims and funds: the joint account's balance from funds' ledger, a release
made, and funds' refusals (not an amount, more than the program's total, not the finance
bureau) shown in Chinese beside the amount."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Role

pytestmark = pytest.mark.integration


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
    assert 'value="五十万"' in r.text and "500,000.00 元" in _joint(r.text)  # what was typed is kept

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
