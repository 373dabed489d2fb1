"""The auditor in a real browser (Debian's Chromium, desktop and a 390-px phone): the read-only
pages — claims search, awards and payment orders with their signatures, the ledger, the
reconciliation, checkpoints with a proof verified, the report downloads — each fits its screen,
offers no write but taking a checkpoint, and is screenshotted into test-output/."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from .browser import VIEWPORTS, browser_page, look, served, sign_in

pytestmark = pytest.mark.integration


async def _look(page: Page, viewport: dict[str, int], name: str, label: str) -> None:
    # nothing to change but signing out (and, on the checkpoint page, taking a checkpoint)
    posts = await page.locator('form[method="post"]:not([action="/signout"]):not([action="/audit/checkpoints"])').count()
    assert posts == 0, f"{page.url} offers the auditor {posts} form(s) that change something"
    await look(page, viewport, name, label)


@pytest.mark.parametrize(("viewport", "label"), VIEWPORTS)
async def test_auditor_pages_in_chromium(world, viewport, label) -> None:
    await world.load_xinping()
    async with served(world.app) as url, browser_page(viewport) as page:
        await sign_in(page, url, "吴审计")
        await _look(page, viewport, "audit-home", label)
        nav = page.get_by_role("navigation", name="审计导航")
        await nav.get_by_role("link", name="申报查询").click()
        await _look(page, viewport, "audit-claims", label)
        await nav.get_by_role("link", name="奖补与支付指令").click()
        await expect(page.locator("#audit-orders tbody tr")).to_have_count(1)
        await _look(page, viewport, "audit-payments", label)
        await nav.get_by_role("link", name="账本与序时账").click()
        await expect(page.locator("#tb-verdict")).to_have_text("借贷平衡")
        await _look(page, viewport, "audit-ledger", label)
        await nav.get_by_role("link", name="三方对账").click()
        await _look(page, viewport, "audit-reconciliation", label)
        await nav.get_by_role("link", name="预拨资金").click()
        await expect(page.locator("#release-form")).to_have_count(0)
        await _look(page, viewport, "audit-releases", label)

        await nav.get_by_role("link", name="账本检查点").click()
        await page.get_by_role("button", name="立即签发检查点").click()
        await expect(page.locator("#cp-taken")).to_be_visible()
        size = (await page.locator("#cp-size").inner_text()).replace(",", "")
        root = await page.locator("#cp-root").inner_text()
        await page.get_by_label("所持检查点的树大小").fill(size)
        await page.get_by_label("所持检查点的根哈希（64 位十六进制）").fill(root)
        await page.get_by_role("button", name="验证", exact=True).click()
        await expect(page.locator("#consistency-result")).to_contain_text("验证通过")
        await _look(page, viewport, "audit-checkpoints", label)

        await nav.get_by_role("link", name="执行情况报告").click()
        async with page.expect_download() as download:
            await page.locator("#report-xlsx-xinping-2021").click()
        assert (await download.value).suggested_filename.endswith(".xlsx")
        await _look(page, viewport, "audit-reports", label)
