"""The bureau (商务局) and the leading group (领导小组) do their claim work in the console, against
the real claims service: search, open, return with a reason, pass on; decide; a member who must
recuse is told so before any button, and a forged post is refused by the service."""

from __future__ import annotations

import re

import pytest
from ruralfund_common.testing.services import bearer

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _rows(html: str) -> list[str]:
    return re.findall(r'data-claim-id="([^"]+)"', html)


async def test_the_bureau_searches_opens_returns_and_passes_claims(reviewing) -> None:
    world, first, second, other = reviewing.world, reviewing.first, reviewing.second, reviewing.other
    home = await world.sign_in("王科长")
    assert 'href="/staff/claims"' in home  # the bureau's navigation
    console = world.console

    page = await console.get("/staff/claims", params={"credit_code": first["credit_code"]})
    assert page.status_code == 200, page.text
    assert _rows(page.text) == [first["id"], second["id"]]
    assert "新平礼好农业有限公司" in page.text and "2,469.00 元" in page.text and "已提交，待审核" in page.text
    page = await console.get("/staff/claims", params={"status": "submitted", "period": "2023Q3"})
    assert _rows(page.text) == [first["id"], other["id"]]
    page = await console.get("/staff/claims", params={"enterprise": "嘎洒", "credit_code": "", "status": ""})
    assert _rows(page.text) == [other["id"]]
    page = await console.get("/staff/claims", params={"credit_code": "9153"})
    assert page.status_code == 200 and "统一社会信用代码为 18 位，您输入了 4 位" in page.text
    page = await console.get("/staff/claims", params={"status": "approved"})
    assert _rows(page.text) == [] and "没有符合条件的申报" in page.text

    detail = await console.get(f"/staff/claims/{first['id']}")
    assert detail.status_code == 200, detail.text
    text = detail.text
    assert "使用数量：12,345，要求不低于 10,000" in text and "（符合）" in text  # the rule, with figures
    assert "12,345 × 0.20 = 2,469.00" in text and "2023年第3季度" in text and first["credit_code"] in text
    assert "<dd>12,345 个</dd>" in text  # the form's unit beside the figure
    assert "退回理由（必填，企业可见）" in text and "审核通过，提交领导小组" in text
    csrf = CSRF.search(text).group(1)

    # returning without a reason is refused, naming the field, and nothing changes
    r = await console.post(f"/staff/claims/{first['id']}/review", data={"csrf": csrf, "outcome": "return",
                                                                        "note": "  "})
    assert r.status_code == 422, r.text
    assert 'id="err-note"' in r.text and "退回申报时须写明企业需要更正的内容" in r.text
    assert 'aria-invalid="true" aria-describedby="err-note"' in r.text
    assert (await reviewing.claim(first["id"]))["status"] == "submitted"

    reason = "请补充2023年第三季度包装箱采购发票。"
    r = await console.post(f"/staff/claims/{first['id']}/review", data={"csrf": csrf, "outcome": "return",
                                                                        "note": reason})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/claims/{first['id']}", r.text
    returned = await reviewing.claim(first["id"])
    assert returned["status"] == "returned" and returned["review_note"] == reason
    page = await console.get(r.headers["location"])
    assert "已退回，待补正" in page.text and reason in page.text and "审核通过" not in page.text
    # the enterprise reads the reason on its own page
    mine = await world.sign_in("李经理")
    assert "已退回，待补正" in mine

    await world.sign_in("王科长")
    page = await console.get(f"/staff/claims/{second['id']}")
    r = await console.post(f"/staff/claims/{second['id']}/review",
                           data={"csrf": CSRF.search(page.text).group(1), "outcome": "complete"})
    assert r.status_code == 303, r.text
    assert (await reviewing.claim(second["id"]))["status"] == "awaiting_decision"

    # a forged form (no CSRF token) changes nothing
    r = await console.post(f"/staff/claims/{other['id']}/review", data={"outcome": "complete"})
    assert r.status_code == 403 and (await reviewing.claim(other["id"]))["status"] == "submitted"


async def _pass_to_leading_group(reviewing, *claims: dict) -> None:
    world = reviewing.world
    await world.sign_in("王科长")
    for claim in claims:
        page = await world.console.get(f"/staff/claims/{claim['id']}")
        r = await world.console.post(f"/staff/claims/{claim['id']}/review",
                                     data={"csrf": CSRF.search(page.text).group(1), "outcome": "complete"})
        assert r.status_code == 303, r.text


async def test_a_member_decides_and_a_conflicted_member_sees_the_recusal_and_no_button(reviewing) -> None:
    world, first, other = reviewing.world, reviewing.first, reviewing.other
    await _pass_to_leading_group(reviewing, first, other)
    console = world.console

    # 孙委员's relative runs 李经理's enterprise: said on the home queue already
    home = await world.sign_in("孙委员")
    assert 'href="/staff/decisions"' in home
    decide_queue = home.split('id="q-decide"')[1].split("</section>")[0]
    assert decide_queue.count("您与该企业存在利害关系，须回避") == 1
    queue = await console.get("/staff/decisions")
    assert _rows(queue.text) == [first["id"], other["id"]]
    row = queue.text.split(f'data-claim-id="{first["id"]}"')[1].split("</tr>")[0]
    assert "您与该企业存在利害关系，须回避" in row and "审阅并决定" not in row
    row = queue.text.split(f'data-claim-id="{other["id"]}"')[1].split("</tr>")[0]
    assert "须回避" not in row and "审阅并决定" in row
    detail = await console.get(f"/staff/claims/{first['id']}")
    assert "您与该企业存在利害关系，须回避" in detail.text
    assert 'value="approve"' not in detail.text and "decision-form" not in detail.text
    # a forged post (a valid session and token, the button made by hand) is refused by claims
    r = await console.post(f"/staff/claims/{first['id']}/decision",
                           data={"csrf": CSRF.search(detail.text).group(1), "decision": "approve"})
    assert r.status_code == 403, r.text
    assert "存在利害关系，须回避" in r.text and first["credit_code"] in r.text
    assert (await reviewing.claim(first["id"]))["status"] == "awaiting_decision"

    # 赵组长 has no conflict: rejecting needs a reason, approving does not
    await world.sign_in("赵组长")
    detail = await console.get(f"/staff/claims/{first['id']}")
    assert "须回避" not in detail.text and 'value="approve"' in detail.text and "批准（2,469.00 元）" in detail.text
    csrf = CSRF.search(detail.text).group(1)
    r = await console.post(f"/staff/claims/{other['id']}/decision", data={"csrf": csrf, "decision": "reject"})
    assert r.status_code == 422 and 'id="err-reason"' in r.text and "驳回申报时须写明理由" in r.text
    r = await console.post(f"/staff/claims/{other['id']}/decision",
                           data={"csrf": csrf, "decision": "reject", "reason": "同期已获县级同类补助。"})
    assert r.status_code == 303, r.text
    r = await console.post(f"/staff/claims/{first['id']}/decision", data={"csrf": csrf, "decision": "approve"})
    assert r.status_code == 303, r.text
    assert (await reviewing.claim(first["id"]))["status"] in ("approved", "reserved", "reservation_refused")
    rejected = await reviewing.claim(other["id"])
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "同期已获县级同类补助。"
    queue = await console.get("/staff/decisions")
    assert _rows(queue.text) == [] and "暂无待决定的申报" in queue.text


async def test_a_signer_linked_to_the_payee_sees_the_order_marked_and_no_sign_button(world) -> None:
    order = world.order
    home = await world.sign_in("孙委员")
    row = home.split(f'data-payment-id="{order["payment_id"]}"')[1].split("</tr>")[0]
    # the exact content is still shown, but the member is told to recuse instead of a button
    assert order["content_sha256"] in row and "97,531.00 元" in row and "6228480000000000001" in row
    assert "您与收款企业存在利害关系，须回避" in row and "签批</button>" not in row
    r = await world.console.post(f"/payments/{order['payment_id']}/approve",
                                 data={"csrf": CSRF.search(home).group(1), "content_sha256": order["content_sha256"]})
    assert r.status_code == 403 and "须回避" in r.text and "91530427MA6K0B0Q1Y" in r.text
    home = await world.sign_in("赵组长")
    row = home.split(f'data-payment-id="{order["payment_id"]}"')[1].split("</tr>")[0]
    assert "须回避" not in row and "签批</button>" in row


async def test_the_bureau_reads_month_by_month_sales_as_a_table_in_chinese(reviewing) -> None:
    """A list in the evidence (month-by-month sales) is a table under the form's Chinese labels,
    money as 97,531.00 元 and days as 2023年1月3日 — never a Python or JSON repr."""
    world = reviewing.world
    months = [("2023-01", "60,000.00"), ("2023-02", "37531"), ("2023-03", "55,000.50")]
    r = await world.claims.post("/claims", headers=bearer(world.users.get("李经理")), json={
        "program_code": "xinping-2021", "item_code": "sales-reward",
        "evidence": {"platform": "taobao", "store_id": "66880001", "store_name": "新平礼好淘宝店",
                     "opened_on": "2023-01-03", "months": [{"month": m, "sales_yuan": a} for m, a in months]}})
    assert r.status_code == 201, r.text
    await world.sign_in("王科长")
    page = await world.console.get(f"/staff/claims/{r.json()['id']}")
    assert page.status_code == 200, page.text
    evidence = page.text.split('id="claim-evidence"')[1].split("</dl>")[0]
    assert "<dt>电商平台</dt>" in evidence and "淘宝" in evidence and "taobao" not in evidence
    assert "<dt>开店日期</dt>" in evidence and "2023年1月3日" in evidence
    assert "<dt>逐月销售额</dt>" in evidence and '<th scope="col">月份</th><th scope="col">销售额</th>' in evidence
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", evidence)
    assert cells == ["2023年1月", "60,000.00 元", "2023年2月", "37,531.00 元", "2023年3月", "55,000.50 元"]
    assert "sales_yuan" not in evidence and "{" not in evidence and "[" not in evidence
