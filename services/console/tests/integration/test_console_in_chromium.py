"""A leading-group member in a real browser (Debian's Chromium, desktop and a 390-px phone):
signs in on the console, sees the payment order awaiting their signature with exactly what
they sign, and signs it. Screenshots land in test-output/."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
SCREENSHOT_DIR = REPO / "test-output"  # gitignored; CI keeps it as an artifact
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _chromium() -> str:
    """Debian's Chromium (or RURALFUND_CHROMIUM); missing is a failure, never a skip."""
    wanted = os.environ.get("RURALFUND_CHROMIUM")
    for path in [wanted] if wanted else ["/usr/bin/chromium", shutil.which("chromium") or ""]:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    pytest.fail("no Chromium: `make browser` installs Debian's, or set RURALFUND_CHROMIUM", pytrace=False)


async def _serve(app, port: int | None = None) -> tuple[uvicorn.Server, asyncio.Task, str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # a server that could not start says why, at once
        return server.started

    await eventually(started, timeout=30, description="the console's uvicorn server started")
    return server, task, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
async def test_a_leading_group_member_signs_the_order_in_chromium(world, viewport, label) -> None:
    order = world.order
    server, task, url = await _serve(world.app)
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport=viewport, locale="zh-CN")
            await page.goto(f"{url}/")
            await expect(page.get_by_role("heading", name="登录")).to_be_visible()
            await page.get_by_label("用户").select_option(label="赵组长（领导小组成员）")
            await page.get_by_role("button", name="登录").click()
            queue = page.get_by_role("region", name="待我签批的支付指令")
            await expect(queue).to_contain_text("新平礼好包装有限公司")
            await expect(queue).to_contain_text("97,531.00 元")
            await expect(queue).to_contain_text("6228480000000000001")
            await expect(queue).to_contain_text(order["content_sha256"])
            sign = queue.get_by_role("button", name="签批")
            await sign.scroll_into_view_if_needed()
            await expect(sign).to_be_visible()  # reachable on a phone too (the table scrolls)
            # the page fits its screen: nothing but the queue's own table scrolls sideways
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"the page is {width} px wide on a {viewport['width']} px screen"
            styled = await page.evaluate("getComputedStyle(document.querySelector('header')).display")
            assert styled == "flex", "the stylesheet did not apply (the page policy blocks inline styles)"
            shot = SCREENSHOT_DIR / f"console-leading-group-queue-{label}.png"
            await page.screenshot(path=str(shot), full_page=True)
            await sign.click()
            await expect(queue).to_contain_text("暂无待签批的支付指令")
            await page.screenshot(path=str(SCREENSHOT_DIR / f"console-leading-group-signed-{label}.png"),
                                  full_page=True)
            await browser.close()
    finally:
        server.should_exit = True
        await task
    assert shot.stat().st_size > 10_000, "the screenshot is empty"


async def test_a_bureau_person_signs_in_at_the_idp_and_out_again_in_chromium(idp_world, reviewing) -> None:
    """The real redirects in a real browser: the console on `localhost`, the IdP on 127.0.0.1
    (two sites: the flow cookie must come back on the IdP's redirect, SameSite=Lax), the IdP's
    own forms, and sign-out on to the IdP's end-session page (the page policy's form-action)."""
    from .conftest import BROWSER_ORIGIN

    app = await idp_world.console(redirect_url=f"{BROWSER_ORIGIN}/oidc/callback")
    server, task, _ = await _serve(app, int(BROWSER_ORIGIN.rsplit(":", 1)[1]))
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport=PHONE, locale="zh-CN")
            await page.goto(f"{BROWSER_ORIGIN}/")
            await page.screenshot(path=str(SCREENSHOT_DIR / "console-signin-idp-phone.png"), full_page=True)
            await page.get_by_role("link", name="通过县统一身份认证登录").click()
            await page.locator("input[name=login]").fill("wang")  # the IdP's own login form
            await page.locator("input[name=password]").fill("any")
            await page.get_by_role("button", name="Sign-in").click()
            await page.get_by_role("button", name="Continue").click()  # its consent form
            await expect(page.get_by_role("region", name="待审核的申报")).to_contain_text("新平礼好农业有限公司")
            await expect(page.locator("header")).to_contain_text("王科长（商务局）")
            assert page.url == f"{BROWSER_ORIGIN}/"
            await page.screenshot(path=str(SCREENSHOT_DIR / "console-idp-bureau-home-phone.png"), full_page=True)
            await page.get_by_role("button", name="退出登录").click()
            await expect(page.get_by_role("button", name="Yes, sign me out")).to_be_visible()
            assert page.url.startswith(f"{idp_world.idp.issuer}/session/end")
            await page.get_by_role("button", name="Yes, sign me out").click()
            await expect(page.get_by_role("heading", name="登录")).to_be_visible()  # back, signed out
            assert page.url == f"{BROWSER_ORIGIN}/signin"
            await page.goto(f"{BROWSER_ORIGIN}/")
            await expect(page.get_by_role("heading", name="登录")).to_be_visible()
            await browser.close()
    finally:
        server.should_exit = True
        await task


async def _fits(page, viewport: dict, what: str) -> None:
    """Nothing but a table's own wrapper scrolls sideways: the page fits its screen."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{what} is {width} px wide on a {viewport['width']} px screen"


async def _shoot(page, viewport: dict, name: str, label: str) -> Path:
    await _fits(page, viewport, name)
    shot = SCREENSHOT_DIR / f"console-enterprise-{name}-{label}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000, f"the screenshot {shot.name} is empty"
    return shot


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
async def test_an_enterprise_registers_and_claims_with_a_pdf_in_chromium(world, viewport, label, tmp_path) -> None:
    """The enterprise's pages in a real browser: registration (a wrong check character shown
    beside the field first), the packaging form with its unit and threshold, a PDF sent with
    the upload script (its progress bar), the claim submitted, returned, corrected, paid."""
    from ruralfund_common.auth import Role
    from ruralfund_common.testing.services import bearer, person

    from .test_console_enterprise import ENTERPRISE_CODE, _paid

    admin, member = bearer(person("Admin Wang", Role.BUREAU_ADMIN)), bearer(person("Zhao Member", Role.LEADING_GROUP))
    pdf = tmp_path / "入库单.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + "新平礼好 包装箱入库单 2023Q3".encode() + b"\n%%EOF\n")
    await world.load_xinping()
    server, task, url = await _serve(world.app)
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport=viewport, locale="zh-CN")
            await page.goto(f"{url}/signin")
            await page.get_by_label("用户").select_option(label="李经理（企业）")
            await page.get_by_role("button", name="登录").click()
            await page.get_by_role("link", name="本企业登记与收款账户").first.click()
            await expect(page.get_by_role("heading", name="本企业登记与收款账户")).to_be_visible()
            await page.get_by_label("统一社会信用代码").fill(ENTERPRISE_CODE[:17] + ("0" if ENTERPRISE_CODE[17] != "0" else "1"))
            await page.get_by_label("企业名称").fill("新平礼好农业有限公司")
            await page.get_by_label("申报的示范项目").select_option("xinping-2021")
            await page.get_by_label("联系人").fill("李华")
            await page.get_by_label("联系电话").fill("0877-7012345")
            await page.get_by_label("电子邮箱").fill("lihua@example.cn")
            await page.get_by_label("开户银行").fill("中国农业银行新平县支行")
            await page.get_by_label("银行账号").fill("6228 4800 0000 0000 017")
            await page.get_by_role("button", name="提交登记").click()
            await expect(page.locator("#f-credit_code-error")).to_contain_text(f"第18位校验码应为 {ENTERPRISE_CODE[17]}")
            await _shoot(page, viewport, "registration-error", label)
            await page.get_by_label("统一社会信用代码").fill(ENTERPRISE_CODE)
            await page.get_by_role("button", name="提交登记").click()
            await expect(page.get_by_role("status")).to_contain_text("已保存")
            await _shoot(page, viewport, "registration", label)

            await page.get_by_role("link", name="新建申报").click()
            await _shoot(page, viewport, "items", label)
            await page.get_by_role("link", name="“新平礼好”公共品牌升级打造").click()
            await expect(page.get_by_text("不低于 10,000 个（每个补助 0.20 元）")).to_be_visible()
            await _shoot(page, viewport, "claim-form", label)
            await page.get_by_label("申报季度").select_option("2023Q3")
            await page.get_by_label("本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量（个）").fill("12345")
            await page.get_by_label("证明材料（如入库单、发票的 PDF）").set_input_files(str(pdf))
            async with page.expect_request(lambda r: r.method == "POST" and r.resource_type == "xhr") as sent:
                await page.get_by_role("button", name="提交申报").click()  # sent by the upload script
            assert (await sent.value).url.endswith("/enterprise/claims/new/xinping-2021/brand-packaging")
            await expect(page.locator("#claim-status")).to_have_text("已提交，待审核")
            await expect(page.locator("#claim-files")).to_contain_text("入库单.pdf")
            await _shoot(page, viewport, "claim-submitted", label)

            (claim,) = (await world.claims.get("/claims", headers=admin)).json()["items"]
            r = await world.claims.post(f"/claims/{claim['id']}/review", headers=admin,
                                        json={"outcome": "return", "note": "入库单数量与申报不符，请核对后补正。"})
            assert r.status_code == 200, r.text
            await page.reload()
            await expect(page.get_by_role("region", name="退回补正")).to_contain_text("入库单数量与申报不符")
            await _shoot(page, viewport, "claim-returned", label)
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
            await _shoot(page, viewport, "claims-paid", label)
            await page.goto(f"{url}/enterprise/claims/{claim['id']}")
            await expect(page.locator("#claim-paid")).to_have_text("已拨付 3,000.00 元（2026年3月20日）")
            await _shoot(page, viewport, "claim-paid", label)
            await browser.close()
    finally:
        server.should_exit = True
        await task
