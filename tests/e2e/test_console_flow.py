"""The Xinping flow through the console only, in real Chromium, on a desktop and on a 390-px
phone (#17): the four services and the console run as OS processes (as `ruralfund dev` runs
them) on real NATS and PostgreSQL, and every act of a PERSON is a click in the browser —

  an enterprise signs in, registers, submits a packaging claim with a PDF; the bureau reviews;
  a leading-group member approves; the notice appears on the public page; a citizen objects
  (notify's public form, a browser context with no console cookies) and the bureau dismisses
  it; the clock passes the window; the finance bureau releases the money into the joint
  account; the bureau orders the payment; a leading-group member and
  the contractor's signatory sign it from their queues; the enterprise sees 已拨付.

The finance bureau's release (预拨) into the joint account, without which no payment goes out,
is a person's act too: done on the console's finance page before the order.

Test scaffolding, not people: the dev clock (moved through funds' /admin/clock: the clock file
moves every service, as `ruralfund dev`'s does) and the demo program loaded as `ruralfund dev`
loads it. Reads through the APIs only wait for the services to catch up.

Every page visited is checked by :func:`check_page` (fits the screen, no serious or critical
axe-core violation) and screenshotted to test-output/console-flow/<screen>/NN-<page>.png.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright, expect
from ruralfund_common.auth import Role, UserDirectory
from ruralfund_common.testing.browser import (
    CHROMIUM_ARGS,
    VIEWPORTS,
    check_page,
    chromium_path,
    fill_registration,
    sign_in,
    sign_out,
)
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.services import bearer
from ruralfund_common.testing.wait import eventually

from .conftest import ADMIN, REPO, SERVICES

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SCREENSHOTS = REPO / "test-output" / "console-flow"
CREDIT_CODE = "91530427MA6K0B0Q1Y"
ENTERPRISE = "新平礼好包装有限公司"
OBJECTION = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"
# one dev user per role, as `ruralfund dev` writes them (the console's sign-in lists them)
USERS = (("李经理", [Role.ENTERPRISE], CREDIT_CODE), ("王科长", [Role.BUREAU_ADMIN], None),
         ("赵组长", [Role.LEADING_GROUP], None), ("陈签字人", [Role.CONTRACTOR_SIGNATORY], None),
         ("钱科长", [Role.FINANCE_BUREAU], None), ("孙审计", [Role.AUDITOR], None))


def _start_console(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ruralfund", "serve", "console", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


@pytest_asyncio.fixture(loop_scope="session")
async def console(system, tmp_path: Path) -> AsyncIterator[str]:
    """``ruralfund serve console`` beside the four services, with the users file; its URL."""
    users = UserDirectory(tmp_path / "users.json")
    for name, roles, code in USERS:
        users.create(name, roles, credit_code=code)
    port = free_port()
    env = {**system.env, "RURALFUND_USERS_FILE": str(users.path),
           **{f"RURALFUND_CONSOLE_{svc.upper()}_URL": system.urls[svc] for svc in SERVICES}}
    log = tmp_path / "console.log"
    proc = _start_console(env, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            async def ready() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"the console exited during start-up:\n{log.read_text()[-3000:]}")
                try:
                    return (await client.get(f"{url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, timeout=60, interval=0.1, description="the console ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _award(system, *, held: bool) -> dict:
    """The enterprise's award once funds shows it ``held`` (or not) by an objection: waits for
    funds to have heard notify, nothing more."""
    async with system.client("funds") as funds:
        async def found() -> dict | None:
            r = await funds.get("/awards", params={"status": "in_publicity"}, headers=bearer(ADMIN))
            ours = [a for a in r.json()["items"] if a["payee_credit_code"] == CREDIT_CODE]
            if not ours:
                return None
            award = (await funds.get(f"/awards/{ours[0]['award_id']}", headers=bearer(ADMIN))).json()
            return award if award["held"] is held else None

        return await eventually(found, timeout=30, description=f"funds shows the award held={held}")


async def _reload_until(page: Page, locator, text: str, what: str) -> None:
    """A person reloading the page until the services have caught up (events travel over NATS)."""
    async def shown() -> bool:
        await page.reload()
        return await locator.count() > 0 and text in await locator.first.inner_text()

    await eventually(shown, timeout=30, interval=0.5, description=what)


@pytest.mark.parametrize("screen", list(VIEWPORTS))
async def test_the_xinping_flow_through_the_console_in_chromium(system, console, screen, tmp_path) -> None:
    await system.open_xinping()  # what `ruralfund dev` has done before the enterprise comes
    folder = SCREENSHOTS / screen
    shutil.rmtree(folder, ignore_errors=True)
    shots: list[str] = []
    pdf = tmp_path / "入库单.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + "新平礼好 包装箱入库单 2023年第三季度 12,345 个".encode() + b"\n%%EOF\n")
    public = system.urls["notify"]

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            staff = await browser.new_context(viewport=VIEWPORTS[screen], locale="zh-CN")
            page = await staff.new_page()

            async def look(name: str, on: Page = page) -> None:
                await check_page(on, folder / f"{len(shots):02d}-{name}.png", f"{name} ({screen})")
                shots.append(name)

            # --- the enterprise signs in, registers, submits a packaging claim with a PDF
            await page.goto(f"{console}/")
            await expect(page.get_by_role("heading", name="登录")).to_be_visible()
            await look("signin")
            await sign_in(page, console, "李经理")
            await look("enterprise-home")
            await page.get_by_role("link", name="本企业登记与收款账户").first.click()
            await expect(page.get_by_role("heading", name="本企业登记与收款账户")).to_be_visible()
            await look("enterprise-registration")
            await fill_registration(page, credit_code=CREDIT_CODE, name=ENTERPRISE, email="li@packaging.example",
                                    account_no="6228480000000000001")
            await expect(page.get_by_role("status")).to_contain_text("已保存")
            await look("enterprise-registered")
            await page.get_by_role("link", name="新建申报").first.click()
            await look("enterprise-items")
            await page.get_by_role("link", name="“新平礼好”公共品牌升级打造").click()
            await expect(page.get_by_text("不低于 10,000 个（每个补助 0.20 元）")).to_be_visible()
            await look("enterprise-claim-form")
            await page.get_by_label("申报季度").select_option("2023Q3")
            await page.get_by_label("本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量（个）").fill("12345")
            await page.get_by_label("证明材料（如入库单、发票的 PDF）").set_input_files(str(pdf))
            await page.get_by_role("button", name="提交申报").click()
            await expect(page.locator("#claim-status")).to_have_text("已提交，待审核")
            await expect(page.locator("#claim-files")).to_contain_text("入库单.pdf")
            await look("enterprise-claim-submitted")
            await sign_out(page)

            # --- the bureau reviews: the evidence is there, it passes the claim on
            await sign_in(page, console, "王科长")
            await look("bureau-home")
            await page.get_by_role("link", name="逐件审核（查询、查看材料、通过或退回）").click()
            row = page.locator("#claims-table tbody tr", has_text=ENTERPRISE)
            await expect(row).to_have_count(1)
            await look("bureau-claims-search")
            await row.get_by_role("link").first.click()
            await expect(page.locator("#claim-files")).to_contain_text("入库单.pdf")
            await look("bureau-claim-review")
            await page.get_by_role("button", name="审核通过，提交领导小组").click()
            await expect(page.locator("#claim-status")).to_have_text("待领导小组决定")
            await look("bureau-claim-passed")
            await sign_out(page)

            # --- a leading-group member approves it
            await sign_in(page, console, "赵组长")
            await look("leading-group-home")
            await page.get_by_role("navigation", name="工作导航").get_by_role("link", name="待决定的申报").click()
            await look("leading-group-decisions")
            await page.locator("#decisions-table tbody tr", has_text=ENTERPRISE).get_by_role("link").first.click()
            await look("leading-group-claim")
            await page.get_by_role("button", name="批准（2,469.00 元）").click()
            await expect(page.locator("#claim-status")).not_to_have_text("待领导小组决定")
            await look("leading-group-claim-approved")
            await sign_out(page)

            # --- the notice on the public page; a citizen objects (no console cookies here)
            citizen_context = await browser.new_context(viewport=VIEWPORTS[screen], locale="zh-CN")
            citizen = await citizen_context.new_page()
            await citizen.goto(f"{public}/publicity")
            notice = citizen.locator("table.notices tbody tr", has_text=ENTERPRISE)
            await _reload_until(citizen, notice, "2,469.00", "the notice on the public 公示 page")
            await expect(notice).to_contain_text("公示中")
            await look("public-publicity-list", citizen)
            await notice.get_by_role("link", name="详情").click()
            await expect(citizen.locator("#notice-no")).to_have_text("XINPING-2021-0001")
            await look("public-notice", citizen)
            await citizen.get_by_label("异议人姓名或单位名称").fill("李四")
            await citizen.get_by_label("联系电话或电子邮箱").fill("13987654321")
            await citizen.get_by_label("异议事项和理由").fill(OBJECTION)
            await citizen.get_by_role("button", name="提交异议").click()
            await expect(citizen.locator("h1")).to_have_text("异议已收到")
            await look("public-objection-received", citizen)
            await citizen_context.close()
            await _award(system, held=True)  # funds holds the payment while the objection is open

            # --- the bureau dismisses the objection with a reason
            await sign_in(page, console, "王科长")
            await page.get_by_role("navigation", name="工作导航").get_by_role("link", name="公示异议").click()
            card = page.locator("article.objection", has_text="申报数量不实")
            await expect(card).to_contain_text("XINPING-2021-0001")
            await look("bureau-objections")
            await card.get_by_label("处理理由（必填，将告知异议人）").fill("经核查，包装箱入库单与采购发票一致，异议不成立。")
            await card.get_by_role("button", name="异议不成立（驳回异议）").click()
            await expect(page.get_by_text("暂无待处理的异议")).to_be_visible()
            await look("bureau-objection-dismissed")
            award = await _award(system, held=False)
            assert award["payable_from"] == "2026-03-07", award

            # --- the clock passes the window (scaffolding: the dev clock, not a person)
            async with system.client("funds") as funds:
                r = await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"},  # 03-07 00:00
                                     headers=bearer(ADMIN))
                assert r.status_code == 200, r.text

            await sign_out(page)

            # --- the finance bureau releases the money into the joint account
            await sign_in(page, console, "钱科长")
            await look("finance-home")
            await page.get_by_role("navigation", name="财政局导航").get_by_role("link", name="预拨资金").click()
            joint = page.locator('#program-xinping-2021 .joint')
            await expect(joint).to_have_text("0.00 元")
            await look("finance-releases")
            await page.get_by_label("预拨金额（元，如 5,000,000.00）").fill("5,000,000.00")
            await page.get_by_label("领导小组批复文号").fill("新电商领〔2026〕1号")
            await page.get_by_role("button", name="预拨").click()
            await expect(page.get_by_role("status")).to_contain_text("已预拨")
            await expect(joint).to_have_text("5,000,000.00 元")
            await look("finance-released")
            await sign_out(page)

            # --- the bureau orders the payment
            await sign_in(page, console, "王科长")
            await page.get_by_role("navigation", name="工作导航").get_by_role("link", name="支付指令").click()
            order_row = page.locator(f'#awards-to-order tr[data-award-id="{award["award_id"]}"]')
            await expect(order_row).to_contain_text("2,469.00 元")
            await expect(order_row).to_contain_text("2026年3月7日起")
            await look("bureau-payments")
            await order_row.get_by_role("button", name="下达支付指令").click()
            awaiting = page.locator("#orders-awaiting tbody tr", has_text=ENTERPRISE)
            await expect(awaiting).to_contain_text("6228480000000000001")
            await look("bureau-payment-ordered")
            sha = (await awaiting.locator("code.hash").inner_text()).strip()
            await sign_out(page)

            # --- a leading-group member and the contractor's signatory sign from their queues
            for who, name in (("赵组长", "leading-group"), ("陈签字人", "contractor")):
                await sign_in(page, console, who)
                queue = page.get_by_role("region", name="待我签批的支付指令")
                await expect(queue).to_contain_text(ENTERPRISE)
                await expect(queue).to_contain_text("2,469.00 元")
                await expect(queue).to_contain_text(sha)  # exactly the content the bureau ordered
                await look(f"{name}-sign-queue")
                await queue.get_by_role("button", name="签批").click()
                await expect(queue).to_contain_text("暂无待签批的支付指令")
                await look(f"{name}-signed")
                await sign_out(page)

            # --- the enterprise sees 已拨付
            await sign_in(page, console, "李经理")
            await page.get_by_role("link", name="我的申报与拨付").first.click()
            mine = page.locator("#my-claims")
            await _reload_until(page, mine, "已拨付 2,469.00 元", "the enterprise's claim shown paid")
            await look("enterprise-claims-paid")
            await mine.get_by_role("link").first.click()
            await expect(page.locator("#claim-paid")).to_have_text("已拨付 2,469.00 元（2026年3月7日）")
            await look("enterprise-claim-paid")
            await staff.close()
        finally:
            await browser.close()

    assert len(shots) == 31, shots
    assert all((folder / f"{i:02d}-{name}.png").stat().st_size > 10_000 for i, name in enumerate(shots))
