"""Pages in a real browser (Debian's Chromium driven by Playwright): which browser, the two
screens every page must fit (desktop and a 390-px phone), and :func:`check_page`, what a test
asks of every page it visits — fits its screen, passes axe-core, leaves a screenshot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Final

from .axe import assert_accessible

__all__ = ["CHROMIUM_ARGS", "CHROMIUM_ENV", "DESKTOP", "PHONE", "VIEWPORTS", "check_page", "chromium_path",
           "fill_registration", "sign_in", "sign_out"]

CHROMIUM_ENV: Final = "RURALFUND_CHROMIUM"
# Chromium in a container: no sandbox (no user namespaces), no GPU, nothing phoning home.
CHROMIUM_ARGS: Final = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync"]
DESKTOP: Final = {"width": 1280, "height": 900}
PHONE: Final = {"width": 390, "height": 844}  # a common phone's CSS viewport
VIEWPORTS: Final = {"desktop": DESKTOP, "phone": PHONE}
# the first elements that reach past the screen's right edge, named by tag, id and class
WIDEST: Final = """(limit) => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit)
    .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                     + ' ' + Math.round(e.getBoundingClientRect().right))"""


class NoChromium(AssertionError):
    pass


def chromium_path() -> str:
    """Debian's Chromium (or ``RURALFUND_CHROMIUM``). Missing is a failure, never a skip: a green
    run must mean a browser really showed the pages."""
    wanted = os.environ.get(CHROMIUM_ENV)
    candidates = [wanted] if wanted else ["/usr/bin/chromium", shutil.which("chromium") or ""]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    raise NoChromium(f"no Chromium ({CHROMIUM_ENV}={wanted!r}, tried {candidates}): `make browser` installs "
                     f"Debian's, or set {CHROMIUM_ENV}")


async def check_page(page: Any, shot: Path, where: str) -> list[dict[str, Any]]:
    """The page as it is now: nothing wider than the screen (only a ``.table-wrap`` may scroll
    sideways, inside the page), a full-page screenshot at ``shot``, and no serious or critical
    axe-core violation. Returns axe's milder findings."""
    shot.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shot), full_page=True)  # first: a failing page is still seen
    width = await page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    if width > screen:
        wide = await page.evaluate(WIDEST, screen)  # what to fix
        raise AssertionError(f"{where} ({page.url}) is {width} px wide on a {screen} px screen: {wide} (see {shot})")
    return await assert_accessible(page, where)


async def sign_in(page: Any, console_url: str, user: str) -> None:
    """Signs in on the console's dev sign-in page as the user whose entry in the list starts
    with ``user`` (the list shows each user's name and roles)."""
    from playwright.async_api import expect

    await page.goto(f"{console_url}/signin")
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    option = page.locator("#name option", has_text=user).first
    await page.get_by_label("用户").select_option(await option.get_attribute("value"))
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()


async def sign_out(page: Any) -> None:
    """The header's 退出登录 button: back on the sign-in page."""
    from playwright.async_api import expect

    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()


async def fill_registration(page: Any, *, credit_code: str, name: str, email: str, account_no: str,
                            program: str = "xinping-2021") -> None:
    """Fills the enterprise's registration form (本企业登记与收款账户) as its contact 李华 would
    and submits it; the caller checks the outcome (已保存, or an error beside a field)."""
    await page.get_by_label("统一社会信用代码").fill(credit_code)
    await page.get_by_label("企业名称").fill(name)
    await page.get_by_label("申报的示范项目").select_option(program)
    await page.get_by_label("联系人").fill("李华")
    await page.get_by_label("联系电话").fill("0877-7012345")
    await page.get_by_label("电子邮箱").fill(email)
    await page.get_by_label("开户银行").fill("中国农业银行新平县支行")
    await page.get_by_label("银行账号").fill(account_no)
    await page.get_by_role("button", name="提交登记").click()
