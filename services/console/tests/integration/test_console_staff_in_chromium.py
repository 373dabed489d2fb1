"""The bureau and the leading group in a real browser (Debian's Chromium, desktop and a 390-px
phone): every staff page is opened, fits its screen, and is screenshotted into test-output/;
the core acts (return refused without a reason, return, pass on, dismiss an objection, decide)
are done by clicking, with no JavaScript needed."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from .browser import VIEWPORTS, browser_page, fits, served, shot

pytestmark = pytest.mark.integration


async def _sign_in(page: Page, url: str, label: str) -> None:
    await page.context.clear_cookies()
    await page.goto(f"{url}/signin")
    await page.get_by_label("用户").select_option(label=label)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()


async def _look(page: Page, viewport: dict[str, int], name: str, label: str) -> None:
    await fits(page, viewport)
    await shot(page, f"console-{name}-{label}")


@pytest.mark.parametrize(("viewport", "label"), VIEWPORTS)
async def test_staff_pages_in_chromium(reviewing, contract, objected, viewport, label) -> None:
    world, first, second, other = reviewing.world, reviewing.first, reviewing.second, reviewing.other
    async with served(world.app) as url, browser_page(viewport) as page:
        await _sign_in(page, url, "王科长（商务局）")
        nav = page.get_by_role("navigation", name="工作导航")
        await nav.get_by_role("link", name="申报查询").click()
        await page.get_by_label("统一社会信用代码").fill(first["credit_code"])
        await page.get_by_label("状态").select_option(label="已提交，待审核")
        await page.get_by_role("button", name="查询").click()
        results = page.locator("#claims-table tbody tr")
        await expect(results).to_have_count(2)
        await _look(page, viewport, "bureau-claims-search", label)

        await page.goto(f"{url}/staff/claims/{first['id']}")
        await expect(page.get_by_role("heading", name="规则依据")).to_be_visible()
        await expect(page.locator(".reasons")).to_contain_text("使用数量：12,345，要求不低于 10,000")
        await _look(page, viewport, "bureau-claim", label)
        await page.get_by_role("button", name="退回企业补正").click()  # no reason yet
        await expect(page.locator("#err-note")).to_contain_text("退回申报时须写明企业需要更正的内容")
        await _look(page, viewport, "bureau-claim-return-refused", label)
        await page.get_by_label("退回理由（必填，企业可见）").fill("请补充2023年第三季度包装箱采购发票。")
        await page.get_by_role("button", name="退回企业补正").click()
        await expect(page.locator("#claim-status")).to_have_text("已退回，待补正")
        for claim in (second, other):
            await page.goto(f"{url}/staff/claims/{claim['id']}")
            await page.get_by_role("button", name="审核通过，提交领导小组").click()
            await expect(page.locator("#claim-status")).to_have_text("待领导小组决定")

        await nav.get_by_role("link", name="企业登记").click()
        await expect(page.locator("#enterprises-table tbody tr")).to_have_count(3)
        await _look(page, viewport, "bureau-enterprises", label)
        await page.goto(f"{url}/staff/enterprises/{first['credit_code']}")
        await expect(page.get_by_role("heading", name="该企业的申报")).to_be_visible()
        await _look(page, viewport, "bureau-enterprise", label)

        await page.goto(f"{url}/staff/contracts?program=xinping-2021")
        await expect(page.locator("#contracts-table")).to_contain_text("XP-2023-FW-009")
        await _look(page, viewport, "bureau-contracts", label)
        await page.goto(f"{url}/staff/contracts/{contract['id']}")
        await expect(page.locator("#acceptance-gaps")).to_contain_text("节点「培训方案备案」尚未验收")
        await _look(page, viewport, "bureau-contract", label)
        await page.goto(f"{url}/staff/milestones?program=ruyuan-2021-p2")
        await expect(page.locator("#milestones-table")).to_contain_text("县工信局")
        await _look(page, viewport, "bureau-milestones", label)

        await nav.get_by_role("link", name="公示异议").click()
        card = page.locator(f"#objection-{objected.objection_id}")
        await expect(card).to_contain_text("申报数量不实")
        await _look(page, viewport, "bureau-objections", label)
        await card.get_by_label("处理理由（必填，将告知异议人）").fill("经核查，包装箱采购发票与出库单一致，异议不成立。")
        await card.get_by_role("button", name="异议不成立（驳回异议）").click()
        await expect(page.get_by_text("暂无待处理的异议")).to_be_visible()

        # a member linked to 李经理's enterprise and to the order's payee: told before any button
        await _sign_in(page, url, "孙委员（领导小组成员）")
        queue = page.get_by_role("region", name="待我签批的支付指令")
        await expect(queue).to_contain_text("您与收款企业存在利害关系，须回避")
        await expect(queue.get_by_role("button", name="签批")).to_have_count(0)
        await _look(page, viewport, "leading-group-home-recusal", label)
        await page.get_by_role("navigation", name="工作导航").get_by_role("link", name="待决定的申报").click()
        await expect(page.locator(f'tr[data-claim-id="{second["id"]}"]')).to_contain_text(
            "您与该企业存在利害关系，须回避")
        await _look(page, viewport, "leading-group-decisions", label)
        await page.goto(f"{url}/staff/claims/{second['id']}")
        await expect(page.locator(".recusal-box")).to_contain_text("您与该企业存在利害关系，须回避")
        await expect(page.get_by_role("button", name="批准")).to_have_count(0)
        await _look(page, viewport, "leading-group-claim-recusal", label)

        await _sign_in(page, url, "赵组长（领导小组成员）")
        await page.goto(f"{url}/staff/claims/{other['id']}")
        await expect(page.get_by_role("heading", name="领导小组决定")).to_be_visible()
        await _look(page, viewport, "leading-group-claim-decide", label)
        await page.get_by_role("button", name="批准（3,000.00 元）").click()
        await expect(page.locator("#claim-status")).not_to_have_text("待领导小组决定")
