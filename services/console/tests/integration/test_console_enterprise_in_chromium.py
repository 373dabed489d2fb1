"""The enterprise's pages in real Chromium (desktop and a 390-px phone): registration, the
item list, the packaging form, a PDF sent by the upload script, a returned claim corrected,
已拨付 — each page checked to fit its screen and screenshotted into test-output/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from ruralfund_common.auth import Role
from ruralfund_common.testing.browser import fill_registration
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

from .browser import VIEWPORTS, browser_page, fits, served, shot
from .test_console_enterprise import ENTERPRISE_CODE, _paid

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("viewport", "label"), VIEWPORTS)
async def test_an_enterprise_registers_and_claims_with_a_pdf_in_chromium(world, viewport, label, tmp_path) -> None:
    """The enterprise's pages in a real browser: registration (a wrong check character shown
    beside the field first), the packaging form with its unit and threshold, a PDF sent with
    the upload script (its progress bar), the claim submitted, returned, corrected, paid."""
    admin, member = bearer(person("Admin Wang", Role.BUREAU_ADMIN)), bearer(person("Zhao Member", Role.LEADING_GROUP))
    pdf = tmp_path / "入库单.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + "新平礼好 包装箱入库单 2023Q3".encode() + b"\n%%EOF\n")
    await world.load_xinping()
    async with served(world.app) as url, browser_page(viewport) as page:
        async def _shoot(name: str) -> None:
            await fits(page, viewport)
            await shot(page, f"console-enterprise-{name}-{label}")

        await page.goto(f"{url}/signin")
        await page.get_by_label("用户").select_option(label="李经理（企业）")
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("link", name="本企业登记与收款账户").first.click()
        await expect(page.get_by_role("heading", name="本企业登记与收款账户")).to_be_visible()
        wrong_check_character = ENTERPRISE_CODE[:17] + ("0" if ENTERPRISE_CODE[17] != "0" else "1")
        await fill_registration(page, credit_code=wrong_check_character, name="新平礼好农业有限公司",
                                email="lihua@example.cn", account_no="6228 4800 0000 0000 017")
        await expect(page.locator("#f-credit_code-error")).to_contain_text(f"第18位校验码应为 {ENTERPRISE_CODE[17]}")
        await _shoot("registration-error")
        await page.get_by_label("统一社会信用代码").fill(ENTERPRISE_CODE)
        await page.get_by_role("button", name="提交登记").click()
        await expect(page.get_by_role("status")).to_contain_text("已保存")
        await _shoot("registration")

        await page.get_by_role("link", name="新建申报").click()
        await _shoot("items")
        await page.get_by_role("link", name="“新平礼好”公共品牌升级打造").click()
        await expect(page.get_by_text("不低于 10,000 个（每个补助 0.20 元）")).to_be_visible()
        await _shoot("claim-form")
        await page.get_by_label("申报季度").select_option("2023Q3")
        await page.get_by_label("本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量（个）").fill("12345")
        await page.get_by_label("证明材料（如入库单、发票的 PDF）").set_input_files(str(pdf))
        async with page.expect_request(lambda r: r.method == "POST" and r.resource_type == "xhr") as sent:
            await page.get_by_role("button", name="提交申报").click()  # sent by the upload script
        assert (await sent.value).url.endswith("/enterprise/claims/new/xinping-2021/brand-packaging")
        await expect(page.locator("#claim-status")).to_have_text("已提交，待审核")
        await expect(page.locator("#claim-files")).to_contain_text("入库单.pdf")
        await _shoot("claim-submitted")

        (claim,) = (await world.claims.get("/claims", headers=admin)).json()["items"]
        r = await world.claims.post(f"/claims/{claim['id']}/review", headers=admin,
                                    json={"outcome": "return", "note": "入库单数量与申报不符，请核对后补正。"})
        assert r.status_code == 200, r.text
        await page.reload()
        await expect(page.get_by_role("region", name="退回补正")).to_contain_text("入库单数量与申报不符")
        await _shoot("claim-returned")
        returned = page.get_by_role("region", name="退回补正")
        await returned.get_by_label("本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量（个）").fill("15000")
        await returned.get_by_role("button", name="重新提交").click()
        await expect(page.locator("#claim-status")).to_have_text("已提交，待审核")

        r = await world.claims.post(f"/claims/{claim['id']}/review", headers=admin, json={"outcome": "complete"})
        assert r.status_code == 200, r.text
        r = await world.claims.post(f"/claims/{claim['id']}/decision", headers=member, json={"decision": "approve"})
        assert r.status_code == 200, r.text
        async with world.funds_facts() as funds:
            await _paid(funds, claim["id"], r.json()["award_id"], ENTERPRISE_CODE)

            async def paid() -> bool:
                got = await world.claims.get(f"/claims/{claim['id']}", headers=admin)
                return got.json()["status"] == "paid"

            await eventually(paid, description="claims heard funds' payment")
        await page.get_by_role("link", name="我的申报与拨付").click()
        await expect(page.locator("#my-claims")).to_contain_text("已拨付 3,000.00 元")
        await _shoot("claims-paid")
        await page.goto(f"{url}/enterprise/claims/{claim['id']}")
        await expect(page.locator("#claim-paid")).to_have_text("已拨付 3,000.00 元（2026年3月20日）")
        await _shoot("claim-paid")
        # another rule kind's generated form: platform choice, store, opening date, month rows
        await page.goto(f"{url}/enterprise/claims/new/xinping-2021/sales-reward")
        await expect(page.get_by_label("逐月销售额")).to_be_visible()
        await _shoot("sales-form")
