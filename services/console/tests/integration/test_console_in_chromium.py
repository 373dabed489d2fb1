"""A leading-group member in a real browser (Debian's Chromium, desktop and a 390-px phone):
signs in on the console, sees the payment order awaiting their signature with exactly what
they sign, and signs it. Screenshots land in test-output/."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.wait import eventually

from .browser import CHROMIUM_ARGS, DESKTOP, PHONE, SCREENSHOT_DIR
from .browser import chromium as _chromium

pytestmark = pytest.mark.integration


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

