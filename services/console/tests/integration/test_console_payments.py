"""The bureau orders payments in the console (支付指令), against real funds and notify: awards
without an order listed with the day they become payable, an order made with one click, funds'
refusal (an objection pending) shown beside the award in Chinese, the orders awaiting their two
signatures listed with what has been signed."""

from __future__ import annotations

import re

import pytest
from ruralfund_common.testing.services import bearer
from ruralfund_common.testing.wait import eventually

from .conftest import ADMIN, _approved, _ok

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _row(html: str, attr: str, value: str) -> str:
    return html.split(f'{attr}="{value}"')[1].split("</tr>")[0]


async def test_the_bureau_orders_a_payment_and_is_told_why_another_cannot_be_paid(objected) -> None:
    world = objected.world
    await world.upstream.emit(_approved("award-c2", 12_345_00), "claim-award-c2")  # no publicity needed
    await eventually(lambda: _ok(world.funds, "/awards/award-c2"), description="award reserved")
    home = await world.sign_in("王科长")
    assert 'href="/staff/payments"' in home
    page, csrf = await world.form("/staff/payments")
    assert f'data-payment-id="{world.order["payment_id"]}"' in page  # ordered already: awaiting signatures
    assert 'data-award-id="award-c1"' not in page
    assert "97,531.00 元" in _row(page, "data-payment-id", world.order["payment_id"])
    assert "尚无" in _row(page, "data-payment-id", world.order["payment_id"])  # nobody has signed yet
    assert "50,000.00 元" in _row(page, "data-award-id", "award-p1")
    assert "12,345.00 元" in _row(page, "data-award-id", "award-c2") and "无需公示" in page

    # an objection is open on award-p1: funds refuses, the page says why beside the award
    r = await world.console.post("/staff/payments", data={"csrf": csrf, "award_id": "award-p1"})
    assert r.status_code == 409, r.text
    refusal = r.text.split('id="err-award-p1"')[1].split("</div>")[0]  # above the table: a phone sees it
    said = (await world.funds.post("/payments", json={"award_id": "award-p1"}, headers=bearer(ADMIN))).json()
    assert said["code"] == "OBJECTION_PENDING" and said["title_zh"], said
    assert "未能下达支付指令：新平礼好包装有限公司，50,000.00 元" in refusal, refusal
    assert said["title_zh"] in refusal and "OBJECTION" not in refusal, refusal
    payments = (await world.funds.get("/payments", headers=bearer(ADMIN))).json()["items"]
    assert [p["award_id"] for p in payments] == ["award-c1"]

    r = await world.console.post("/staff/payments", data={"csrf": csrf, "award_id": "award-c2"})
    assert r.status_code == 303 and r.headers["location"] == "/staff/payments", r.text
    page = (await world.console.get("/staff/payments")).text
    payments = (await world.funds.get("/payments", headers=bearer(ADMIN))).json()["items"]
    ordered = next(p for p in payments if p["award_id"] == "award-c2")
    assert ordered["status"] == "awaiting_approval"
    assert "12,345.00 元" in _row(page, "data-payment-id", ordered["payment_id"])
    assert 'data-award-id="award-c2"' not in page

    # a forged form (no CSRF token) orders nothing
    r = await world.console.post("/staff/payments", data={"award_id": "award-p1"})
    assert r.status_code == 403
    assert len((await world.funds.get("/payments", headers=bearer(ADMIN))).json()["items"]) == 2


async def test_an_enterprise_cannot_see_the_payment_orders(world) -> None:
    await world.sign_in("李经理")
    r = await world.console.get("/staff/payments")
    assert r.status_code == 403 and "支付指令" not in r.text.split("<main>")[1], r.text
