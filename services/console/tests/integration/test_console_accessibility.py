"""Every console page in real Chromium, on a desktop and on a 390-px phone, for each role: axe-core
finds no serious or critical violation, nothing is wider than the screen, and a screenshot of
each page lands in test-output/console-a11y/<screen>/."""

from __future__ import annotations

import shutil

import pytest
from playwright.async_api import async_playwright, expect
from ruralfund_common.auth import Role
from ruralfund_common.testing.browser import CHROMIUM_ARGS, VIEWPORTS, check_page
from ruralfund_common.testing.services import bearer

from .browser import SCREENSHOT_DIR, chromium, served, sign_in
from .conftest import ADMIN

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("screen", list(VIEWPORTS))
async def test_every_console_page_passes_axe_and_fits_the_screen(contract, reviewing, objected, screen) -> None:
    world = reviewing.world
    # one claim passed to the leading group, so the decisions queue and its detail have a row
    r = await world.claims.post(f"/claims/{reviewing.other['id']}/review", json={"outcome": "complete"},
                                headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    world.users.create("钱科长", [Role.FINANCE_BUREAU])
    world.users.create("孙审计", [Role.AUDITOR])
    async def click(page, button: str, within: str = "main") -> None:
        await page.locator(within).get_by_role("button", name=button).first.click()
        await expect(page.locator("[role=alert], .field-error").first).to_be_visible()  # the refusal is shown

    async def fill_and_click(page, button: str, **by_label: str) -> None:
        for label, text in by_label.items():
            await page.get_by_label(label).fill(text)
        await click(page, button)

    # (who signs in, or None) -> [(name, path, what the person then does: a refused form)]
    pages: dict[str | None, list[tuple]] = {
        None: [("signin", "/signin")],
        "王科长": [("home-bureau", "/"), ("claims-search", "/staff/claims?status=submitted"),
                  ("claims-search-bad-code", "/staff/claims?credit_code=9153"),
                  ("claim-review", f"/staff/claims/{reviewing.first['id']}"),
                  ("claim-return-refused", f"/staff/claims/{reviewing.first['id']}",
                   lambda page: click(page, "退回企业补正")),
                  ("enterprises", "/staff/enterprises"),
                  ("enterprise", f"/staff/enterprises/{reviewing.first['credit_code']}"),
                  ("contracts", "/staff/contracts?program=xinping-2021"),
                  ("contract", f"/staff/contracts/{contract['id']}"),
                  ("milestones", "/staff/milestones?program=ruyuan-2021-p2"),
                  ("objections", "/staff/objections"),
                  ("objection-refused", "/staff/objections", lambda page: click(page, "异议不成立（驳回异议）")),
                  ("payments", "/staff/payments"),
                  ("payment-refused", "/staff/payments",
                   lambda page: click(page, "下达支付指令", 'tr[data-award-id="award-p1"]')),
                  ("not-found", "/staff/enterprises/91530427MA6K5XQ210")],
        "赵组长": [("home-leading-group", "/"), ("decisions", "/staff/decisions"),
                  ("claim-decision", f"/staff/claims/{reviewing.other['id']}"),
                  ("claim-reject-refused", f"/staff/claims/{reviewing.other['id']}",
                   lambda page: click(page, "驳回"))],
        "孙委员": [("home-recused", "/"), ("decisions-recused", "/staff/decisions"),
                  ("claim-recused", f"/staff/claims/{reviewing.first['id']}")],
        "陈签字人": [("home-contractor", "/")],
        "钱科长": [("home-finance", "/"), ("finance-releases", "/finance/releases"),
                  ("finance-release-refused", "/finance/releases",
                   lambda page: fill_and_click(page, "预拨", **{"预拨金额（元，如 5,000,000.00）": "五十万",
                                                                   "领导小组批复文号": "新电商领〔2026〕2号"})),
                  ("finance-statements", "/finance/statements?program=xinping-2021"),
                  ("finance-reconciliation", "/finance/reconciliation?program=xinping-2021"),
                  ("finance-ledger", "/finance/ledger?program=xinping-2021")],
        "孙审计": [("home-auditor", "/"), ("audit-payments", "/audit/payments?program=xinping-2021"),
                  ("audit-checkpoints", "/audit/checkpoints"), ("audit-reports", "/audit/reports"),
                  ("audit-claims", "/staff/claims")],
        "李经理": [("home-enterprise", "/"), ("enterprise-registration", "/enterprise/registration"),
                  ("enterprise-registration-refused", "/enterprise/registration",
                   lambda page: fill_and_click(page, "保存修改", 银行账号="abc")),
                  ("enterprise-claims", "/enterprise/claims"), ("enterprise-items", "/enterprise/claims/new"),
                  ("enterprise-claim-form", "/enterprise/claims/new/xinping-2021/brand-packaging"),
                  ("enterprise-claim", f"/enterprise/claims/{reviewing.first['id']}")],
    }
    folder = SCREENSHOT_DIR / "console-a11y" / screen
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pages
    seen: list[str] = []
    problems: list[str] = []
    async with served(world.app) as url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for who, visits in pages.items():
                context = await browser.new_context(viewport=VIEWPORTS[screen], locale="zh-CN")
                page = await context.new_page()
                if who:
                    await sign_in(page, url, who)
                for name, path, *act in visits:
                    await page.goto(url + path)
                    for refused_form in act:
                        await refused_form(page)
                    try:  # every page is checked: one run names all the pages' problems
                        await check_page(page, folder / f"{len(seen):02d}-{name}.png",
                                         f"{name} ({who or 'signed out'}, {screen})")
                    except AssertionError as problem:
                        problems.append(str(problem))
                    seen.append(name)
                await context.close()
        finally:
            await browser.close()
    assert not problems, "\n\n".join(problems)
    assert len(seen) == sum(map(len, pages.values()))
