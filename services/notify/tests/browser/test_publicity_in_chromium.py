"""A person with a real browser: opens the publicity page of a running notify, sees the notice
that a real ClaimApproved put there, files an objection and sees it acknowledged."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from ruralfund_common.auth import Role
from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ItemBudget,
    LineBudget,
    ProgramActivated,
)
from ruralfund_common.testing.browser import VIEWPORTS, check_page
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
SCREENSHOT_DIR = REPO / "test-output"  # gitignored; CI keeps it as an artifact
ADMIN = bearer(person("Admin", Role.BUREAU_ADMIN))
MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"


def program() -> ProgramActivated:
    item = ItemBudget(
        code="brand-packaging",
        name="“新平礼好”公共品牌升级打造",
        budget_fen=100_000_000,
        mode="reward",
    )
    line = LineBudget(
        code="brand-promotion", name="农产品品牌推广建设体系", budget_fen=314_000_000, items=[item]
    )
    return ProgramActivated(
        program_code="xinping-2021",
        name="新平县2021年电子商务进农村综合示范项目后续",
        county_code="530427",
        county_name="新平县",
        year=2021,
        phase="后续",
        total_fen=500_000_000,
        lines=[line],
        activated_at=datetime(2026, 1, 5, tzinfo=UTC),
    )


def approval() -> ClaimApproved:
    return ClaimApproved(
        claim_id="claim-1",
        award_id="award-1",
        program_code="xinping-2021",
        line_code="brand-promotion",
        item_code="brand-packaging",
        item_name="“新平礼好”公共品牌升级打造",
        credit_code="91530427MA6K123456",
        enterprise_name="新平礼好农业科技有限公司",
        payee_bank_account="6228480123456789012",
        payee_bank_name="中国农业银行新平县支行",
        amount_fen=246_900,  # 12,345 boxes x 0.20 yuan
        rule_version="brand-packaging/v1",
        period="2026Q1",
        approved_by="u-leader",
        approved_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )


def reserved() -> AwardReserved:
    a = approval()
    return AwardReserved(
        award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code, item_code=a.item_code,
        amount_fen=a.amount_fen, item_available_fen=0, reserved_at=a.approved_at, line_code=a.line_code,
        item_name=a.item_name, credit_code=a.credit_code, enterprise_name=a.enterprise_name,
        requires_publicity=True, publicity_working_days=5,
    )


async def _published_notice(notify: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=notify.url, timeout=5) as client:
        r = await client.post("/admin/clock", json={"set_to": MONDAY_10_SHANGHAI}, headers=ADMIN)
        assert r.status_code == 200, r.text
        await notify.claims.emit(program(), "xinping-2021")
        await notify.claims.emit(approval(), "claim-1")
        await notify.funds.emit(reserved(), "award-1")  # notify publishes once funds reserved it

        async def first() -> dict[str, Any] | None:
            items = (await client.get("/publicity/notices.json")).json()["items"]
            return items[0] if items else None

        return await eventually(first, timeout=20, description="the notice was published")


async def test_a_person_files_an_objection_in_chromium(
    notify_process: Any, chromium: Any, tmp_path: Path
) -> None:
    notify = notify_process
    notice = await _published_notice(notify)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium.executable, args=chromium.args)
        try:
            page = await browser.new_page(locale="zh-CN")
            await page.goto(f"{notify.url}/publicity")
            await expect(page.locator("h1")).to_have_text("电子商务进农村综合示范项目奖补资金公示")
            row = page.locator(f"#notice-{notice['id']}")
            await expect(row).to_contain_text("新平礼好农业科技有限公司")
            await expect(row).to_contain_text("2,469.00")
            await expect(row).to_contain_text("公示中")

            await row.get_by_role("link", name="详情").click()
            await expect(page).to_have_url(f"{notify.url}/publicity/notices/{notice['id']}")
            await page.get_by_label("异议人姓名或单位名称").fill("李四")
            await page.get_by_label("联系电话或电子邮箱").fill("13987654321")
            await page.get_by_label("电子邮箱（选填，用于接收受理回执）").fill("lisi@example.cn")
            await page.get_by_label("异议事项和理由").fill(REASON)
            await page.screenshot(
                path=str(tmp_path / "notice-with-objection-form.png"), full_page=True
            )
            await page.get_by_role("button", name="提交异议").click()

            await expect(page.locator("h1")).to_have_text("异议已收到")
            received = page.locator("#objection-received")
            await expect(received).to_contain_text("李四，您对公示编号")
            await expect(received).to_contain_text("l***@example.cn")
            objection_id = await page.locator("#objection-id").inner_text()
            shot = tmp_path / "objection-acknowledged.png"
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()

    assert shot.stat().st_size > 10_000, "the screenshot is empty"
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    for png in tmp_path.glob("*.png"):
        shutil.copy(png, SCREENSHOT_DIR / png.name)

    async with notify.db.acquire() as conn:
        row = await conn.fetchrow("SELECT id::text, notice_id::text, name, reason FROM objections")
    assert (row["id"], row["notice_id"], row["name"], row["reason"]) == (
        objection_id,
        notice["id"],
        "李四",
        REASON,
    )
    receipt = await eventually(
        lambda: next((m for m in notify.mail.messages if "lisi@example.cn" in m["To"]), None),
        description="the objector's receipt mail",
    )
    assert objection_id in receipt["Subject"]


PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport


async def test_the_list_fits_a_390_px_phone_with_the_details_link_on_screen(
    notify_process: Any, chromium: Any, tmp_path: Path
) -> None:
    """On a phone the 公示 list ran off the right edge: the 详情 link of each notice was off
    screen. Now the notices are cards: nothing is wider than the viewport and the first
    notice's link is inside it, without scrolling sideways."""
    notice = await _published_notice(notify_process)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium.executable, args=chromium.args)
        try:
            page = await browser.new_page(locale="zh-CN", viewport=PHONE, device_scale_factor=2)
            for path, name in (("/publicity", "phone-390-publicity.png"),
                               (f"/publicity/notices/{notice['id']}", "phone-390-notice.png")):
                await page.goto(f"{notify_process.url}{path}")
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} is {width} px wide on a 390-px screen"
                await page.screenshot(path=str(tmp_path / name), full_page=True)
            await page.goto(f"{notify_process.url}/publicity")
            link = page.locator(f"#notice-{notice['id']}").get_by_role("link", name="详情")
            await expect(link).to_be_visible()
            box = await link.bounding_box()
            assert box is not None
            assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
            assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], (
                f"the first notice's 详情 link is below the first screen: {box}"
            )
        finally:
            await browser.close()
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    for png in tmp_path.glob("*.png"):
        shutil.copy(png, SCREENSHOT_DIR / png.name)


@pytest.mark.parametrize("screen", list(VIEWPORTS))
async def test_every_public_page_passes_axe_and_fits_the_screen(
    notify_process: Any, chromium: Any, screen: str
) -> None:
    """The 公示 list, a notice with its objection form, the lookup by 公示编号 (found and not),
    the form sent back with a mistake, the refusal page and the receipt: axe-core finds no
    serious or critical violation, none is wider than the screen, each leaves a screenshot in
    test-output/public-a11y/<screen>/."""
    notice = await _published_notice(notify_process)
    url = notify_process.url
    folder = SCREENSHOT_DIR / "public-a11y" / screen
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pages
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium.executable, args=chromium.args)
        try:
            page = await browser.new_page(locale="zh-CN", viewport=VIEWPORTS[screen])
            seen: list[str] = []

            async def check(name: str) -> None:
                await check_page(page, folder / f"{len(seen):02d}-{name}.png", f"{name} ({screen})")
                seen.append(name)

            await page.goto(f"{url}/publicity")
            await check("publicity-list")
            await page.get_by_label("按公示编号查找").fill(notice["notice_no"])
            await page.get_by_role("button", name="查找").click()
            await expect(page.locator("#notice-no")).to_have_text(notice["notice_no"])
            await check("notice-with-form")
            await page.goto(f"{url}/publicity/lookup?no=XINPING-2021-9999")
            await expect(page.locator("h1")).to_have_text("未找到该公示")
            await check("lookup-not-found")

            await page.goto(f"{url}/publicity/notices/{notice['id']}")
            await page.get_by_label("异议人姓名或单位名称").fill("李四")
            await page.get_by_label("联系电话或电子邮箱").fill("12")  # neither a phone nor an address
            await page.get_by_label("异议事项和理由").fill(REASON)
            await page.get_by_role("button", name="提交异议").click()
            await expect(page.locator("#form-errors")).to_be_visible()
            await check("objection-form-with-errors")

            await page.get_by_label("联系电话或电子邮箱").fill("13987654321")
            # a stale form (its signed token altered) is refused on a page of its own
            await page.locator("input[name=form_token]").evaluate("e => e.value = 'x' + e.value")
            await page.get_by_role("button", name="提交异议").click()
            await expect(page.locator("#objection-refused")).to_be_visible()
            await check("objection-refused")

            await page.goto(f"{url}/publicity/notices/{notice['id']}")
            await page.get_by_label("异议人姓名或单位名称").fill("李四")
            await page.get_by_label("联系电话或电子邮箱").fill("13987654321")
            await page.get_by_label("异议事项和理由").fill(REASON)
            await page.get_by_role("button", name="提交异议").click()
            await expect(page.locator("h1")).to_have_text("异议已收到")
            await check("objection-received")
        finally:
            await browser.close()
    assert len(seen) == 6
