"""Real Chromium for the console's browser tests (Debian's /usr/bin/chromium, or
RURALFUND_CHROMIUM): the console served by uvicorn on a free port, pages at a desktop and a
390-px phone size, screenshots into test-output/ (gitignored; CI keeps it as an artifact)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from playwright.async_api import Page, async_playwright
from ruralfund_common.testing.browser import CHROMIUM_ARGS, DESKTOP, PHONE, chromium_path, sign_in
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.wait import eventually

__all__ = ["CHROMIUM_ARGS", "DESKTOP", "PHONE", "SCREENSHOT_DIR", "VIEWPORTS", "browser_page", "chromium", "fits", "look",
           "served", "shot", "sign_in"]

REPO = Path(__file__).resolve().parents[4]
SCREENSHOT_DIR = REPO / "test-output"
VIEWPORTS = [(DESKTOP, "desktop"), (PHONE, "phone")]


def chromium() -> str:
    """Debian's Chromium (or RURALFUND_CHROMIUM); missing is a failure, never a skip."""
    return chromium_path()


@asynccontextmanager
async def served(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """``app`` served on 127.0.0.1 (its lifespan is the caller's), on ``port`` or a free one;
    yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # a server that could not start says why, at once
        return server.started

    try:
        await eventually(started, timeout=30, description="the console's uvicorn server started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def browser_page(viewport: dict[str, int]) -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page(viewport=viewport, locale="zh-CN")
        finally:
            await browser.close()


async def fits(page: Page, viewport: dict[str, int]) -> None:
    """Nothing but a table's own wrapper scrolls sideways: the page is no wider than its screen."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        # name the widest elements: what to fix
        wide = await page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit)
            .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                             + ' ' + Math.round(e.getBoundingClientRect().right))""", viewport["width"])
        raise AssertionError(f"{page.url} is {width} px wide on a {viewport['width']} px screen: {wide}")


async def shot(page: Page, name: str) -> Path:
    """A full-page screenshot ``test-output/<name>.png`` (checked not to be empty)."""
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"the screenshot {path.name} is empty"
    return path


async def look(page: Page, viewport: dict[str, int], name: str, label: str) -> Path:
    """The page fits its screen; its screenshot ``test-output/console-<name>-<label>.png``."""
    await fits(page, viewport)
    return await shot(page, f"console-{name}-{label}")
