"""The finance bureau in a real browser (Debian's Chromium, desktop and a 390-px phone): a bad
release amount named beside its field, a release, a bank statement uploaded from a file, the
reconciliation and the ledger; each page fits its screen and is screenshotted into test-output/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import VIEWPORTS, browser_page, look, served, sign_in
from .test_console_finance import HEADER, _executed_order

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("viewport", "label"), VIEWPORTS)
async def test_finance_pages_in_chromium(world, tmp_path, viewport, label) -> None:
    await world.load_xinping()
    paid = await _executed_order(world)
    async with served(world.app) as url, browser_page(viewport) as page:
        await sign_in(page, url, "钱会计")
        await look(page, viewport, "finance-home", label)
        nav = page.get_by_role("navigation", name="财政局导航")
        await nav.get_by_role("link", name="预拨资金").click()
        await page.get_by_label("预拨金额（元，如 5,000,000.00）").fill("1,000.001")
        await page.get_by_label("领导小组批复文号").fill("新电商领〔2026〕2号")
        await page.get_by_role("button", name="预拨", exact=True).click()
        await expect(page.locator("#err-amount_yuan")).to_contain_text("最多两位小数")
        await look(page, viewport, "finance-release-refused", label)
        await page.get_by_label("预拨金额（元，如 5,000,000.00）").fill("250,000.00")
        await page.get_by_role("button", name="预拨", exact=True).click()
        await expect(page.locator('#program-xinping-2021 .joint')).to_have_text(
            "652,469.00 元")  # 500,000.00 + 250,000.00 released, 97,531.00 paid
        await expect(page.locator("#releases-table tbody tr")).to_have_count(2)
        await look(page, viewport, "finance-releases", label)

        await nav.get_by_role("link", name="银行对账单").click()
        csv = tmp_path / "statement.csv"
        csv.write_text(HEADER + f"2026-03-03,TXN0001,6222000000000000,debit,\"97,531.00\",ok,{paid['bank_reference']},"
                       "6228480000000000001,新平礼好包装有限公司\n"
                       "2026-03-03,TXN0002,6222000000000000,debit,\"5,000.00\",ok,RF-UNKNOWN,622848000000009999,某某公司\n",
                       encoding="utf-8")
        await page.get_by_label("银行对账单（CSV 文件").set_input_files(str(csv))
        await page.get_by_role("button", name="导入").click()
        await expect(page.locator("#import-result")).to_contain_text("已导入对账单 2 行")
        await look(page, viewport, "finance-statement-imported", label)

        await nav.get_by_role("link", name="三方对账").click()
        await expect(page.locator("#rec-verdict")).to_contain_text("有 1 处差异")
        await expect(page.locator('#mismatches tr[data-kind="PAID_NOT_APPROVED"]')).to_contain_text("付款未经批准")
        await look(page, viewport, "finance-reconciliation", label)

        await nav.get_by_role("link", name="账本与序时账").click()
        await expect(page.locator("#tb-verdict")).to_have_text("借贷平衡")
        async with page.expect_download() as download:
            await page.locator("#journal-csv").click()
        assert (await download.value).suggested_filename.endswith(".csv")
        await look(page, viewport, "finance-ledger", label)
