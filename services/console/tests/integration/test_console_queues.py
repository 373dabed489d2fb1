"""The console against real services (claims, funds) on real NATS JetStream and PostgreSQL: a
leading-group member signs in (dev user), finds the payment order awaiting their signature with
payee, account, amount and content hash, and signs it from the queue; CSRF is enforced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person

pytestmark = pytest.mark.integration

ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_a_leading_group_member_finds_and_signs_the_order_awaiting_them(world) -> None:
    order = world.order
    home = await world.sign_in("赵组长")
    assert "待我签批的支付指令" in home
    assert "新平礼好包装有限公司" in home and "6228480000000000001" in home and "中国农业银行新平县支行" in home
    assert "97,531.00 元" in home and order["content_sha256"] in home
    assert "2026年3月3日" in home  # requested at 05:00 on Tuesday in the county

    # a forged form (no CSRF token) signs nothing
    r = await world.console.post(f"/payments/{order['payment_id']}/approve",
                                 data={"content_sha256": order["content_sha256"]})
    assert r.status_code == 403 and "请求已过期" in r.text
    assert (await world.funds.get(f"/payments/{order['payment_id']}", headers=bearer(ADMIN))).json()["approvals"] == []

    csrf = CSRF.search(home).group(1)
    r = await world.console.post(f"/payments/{order['payment_id']}/approve",
                                 data={"content_sha256": order["content_sha256"], "csrf": csrf})
    assert r.status_code == 303, r.text
    after = await world.console.get("/")
    assert order["content_sha256"] not in after.text and "暂无待签批的支付指令" in after.text

    # the contractor's signatory now finds it, signs, and it is executed
    home = await world.sign_in("陈签字人")
    assert order["content_sha256"] in home
    r = await world.console.post(f"/payments/{order['payment_id']}/approve",
                                 data={"content_sha256": order["content_sha256"],
                                       "csrf": CSRF.search(home).group(1)})
    assert r.status_code == 303, r.text
    paid = await world.funds.get(f"/payments/{order['payment_id']}", headers=bearer(ADMIN))
    assert paid.json()["status"] == "executed"


async def test_pages_need_a_session_and_sign_out_needs_the_csrf_token(world) -> None:
    world.console.cookies.clear()
    r = await world.console.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    home = await world.sign_in("王科长")
    assert "待审核的申报" in home and "待我签批的支付指令" not in home
    assert (await world.console.post("/signout", data={})).status_code == 403
    assert (await world.console.get("/")).status_code == 200  # still signed in
    r = await world.console.post("/signout", data={"csrf": CSRF.search(home).group(1)})
    assert r.status_code == 303
    assert (await world.console.get("/")).status_code == 303


async def test_a_forged_sign_in_is_refused(world) -> None:
    world.console.cookies.clear()
    r = await world.console.post("/signin", data={"name": world.users.get("赵组长").subject, "csrf": "x"})
    assert r.status_code == 403 and "请求已过期" in r.text
    assert (await world.console.get("/")).status_code == 303
    # a sign-in page's token works once its session cookie comes with it; an unknown user does not
    page = await world.console.get("/signin")
    r = await world.console.post("/signin", data={"name": "u-nobody", "csrf": CSRF.search(page.text).group(1)})
    assert r.status_code == 403 and "没有这个用户" in r.text
    assert (await world.console.get("/")).status_code == 303


async def test_the_enterprise_sees_its_claim_in_chinese_and_the_bureau_has_it_to_review(world) -> None:
    """The real claims service: Xinping loaded, the enterprise registered, a 12,345-box claim."""
    from ruralfund_common.credit_code import with_check_character

    code = with_check_character("91530427MA6K5XQ21")
    programs = Path(__file__).resolve().parents[4] / "programs"
    admin = bearer(ADMIN)
    r = await world.claims.post("/programs", content=(programs / "xinping-2021.yaml").read_bytes(),
                                headers={**admin, "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    r = await world.claims.post("/enterprises", headers=admin, json={
        "credit_code": code, "name": "新平礼好农业有限公司", "kind": "enterprise", "program_code": "xinping-2021",
        "contact": {"name": "李华", "email": "lihua@example.cn", "phone": "0877-7012345"},
        "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": "6228 4800 0000 0000 017"}})
    assert r.status_code == 201, r.text
    owner = world.users.get("李经理")
    r = await world.claims.post("/claims", headers=bearer(owner), json={
        "program_code": "xinping-2021", "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q3", "units": 12_345}})
    assert r.status_code == 201, r.text

    home = await world.sign_in("李经理")
    assert "我的申报" in home and "已提交，待审核" in home
    assert "2,469.00 元" in home  # 12,345 boxes x 0.20 yuan
    assert "符合" in home  # the rule's reasons, with required and actual figures
    assert "待我签批的支付指令" not in home  # an enterprise signs no payment
    bureau = await world.sign_in("王科长")
    assert "待审核的申报" in bureau and "新平礼好农业有限公司" in bureau and "2,469.00 元" in bureau
