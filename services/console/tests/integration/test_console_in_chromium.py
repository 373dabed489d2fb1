"""A leading-group member in a real browser (Debian's Chromium, desktop and a 390-px phone):
signs in on the console, sees the payment order awaiting their signature with exactly what
they sign, and signs it. Screenshots land in test-output/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import PHONE, VIEWPORTS, browser_page, fits, served, shot

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("viewport", "label"), VIEWPORTS)
async def test_a_leading_group_member_signs_the_order_in_chromium(world, viewport, label) -> None:
    order = world.order
    async with served(world.app) as url, browser_page(viewport) as page:
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
        await fits(page, viewport)  # nothing but the queue's own table scrolls sideways
        styled = await page.evaluate("getComputedStyle(document.querySelector('header')).display")
        assert styled == "flex", "the stylesheet did not apply (the page policy blocks inline styles)"
        await shot(page, f"console-leading-group-queue-{label}")
        await sign.click()
        await expect(queue).to_contain_text("暂无待签批的支付指令")
        await shot(page, f"console-leading-group-signed-{label}")


async def test_a_bureau_person_signs_in_at_the_idp_and_out_again_in_chromium(idp_world, reviewing) -> None:
    """The real redirects in a real browser: the console on `localhost`, the IdP on 127.0.0.1
    (two sites: the flow cookie must come back on the IdP's redirect, SameSite=Lax), the IdP's
    own forms, and sign-out on to the IdP's end-session page (the page policy's form-action)."""
    from .conftest import BROWSER_ORIGIN

    app = await idp_world.console(redirect_url=f"{BROWSER_ORIGIN}/oidc/callback")
    async with served(app, int(BROWSER_ORIGIN.rsplit(":", 1)[1])), browser_page(PHONE) as page:
        await page.goto(f"{BROWSER_ORIGIN}/")
        await shot(page, "console-signin-idp-phone")
        await page.get_by_role("link", name="通过县统一身份认证登录").click()
        await page.locator("input[name=login]").fill("wang")  # the IdP's own login form
        await page.locator("input[name=password]").fill("any")
        await page.get_by_role("button", name="Sign-in").click()
        await page.get_by_role("button", name="Continue").click()  # its consent form
        await expect(page.get_by_role("region", name="待审核的申报")).to_contain_text("新平礼好农业有限公司")
        await expect(page.locator("header")).to_contain_text("王科长（商务局）")
        assert page.url == f"{BROWSER_ORIGIN}/"
        await shot(page, "console-idp-bureau-home-phone")
        await page.get_by_role("button", name="退出登录").click()
        await expect(page.get_by_role("button", name="Yes, sign me out")).to_be_visible()
        assert page.url.startswith(f"{idp_world.idp.issuer}/session/end")
        await page.get_by_role("button", name="Yes, sign me out").click()
        await expect(page.get_by_role("heading", name="登录")).to_be_visible()  # back, signed out
        assert page.url == f"{BROWSER_ORIGIN}/signin"
        await page.goto(f"{BROWSER_ORIGIN}/")
        await expect(page.get_by_role("heading", name="登录")).to_be_visible()
