"""The accessibility audit really runs: axe-core goes into a page whose policy forbids every
script (as notify's public pages do), finds what is wrong and says so readably; a good page
passes."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright
from ruralfund_common.testing.axe import AccessibilityViolations, assert_accessible
from ruralfund_common.testing.browser import CHROMIUM_ARGS, chromium_path

STRICT = "default-src 'none'; style-src 'unsafe-inline'"
HEAD = '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>公示</title></head>'
BAD = HEAD + '<body><main><h1>公示</h1><img src="/x.png"><input id="n"><button></button></main></body></html>'
GOOD = HEAD + ('<body><main><h1>公示</h1><label for="n">姓名</label><input id="n">'
               '<button type="submit">提交</button></main></body></html>')


async def _audited(html: str) -> list[dict]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route("http://site.test/**", lambda route: route.fulfill(
                status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8",
                                                "Content-Security-Policy": STRICT}))
            await page.goto("http://site.test/page")
            assert not await page.evaluate("typeof window.axe === 'object'")
            return await assert_accessible(page, "the test page")
        finally:
            await browser.close()


async def test_a_page_with_an_unlabelled_input_and_image_fails_naming_rule_and_element() -> None:
    with pytest.raises(AccessibilityViolations) as failed:
        await _audited(BAD)
    message = str(failed.value)
    assert "the test page (http://site.test/page)" in message
    for rule in ("image-alt [critical]", "label [critical]", "button-name [critical]"):
        assert rule in message, message
    assert "    img: " in message and "dequeuniversity.com/rules/axe/" in message


async def test_a_good_page_under_a_strict_policy_passes() -> None:
    assert await _audited(GOOD) == []
