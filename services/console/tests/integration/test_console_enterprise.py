"""An enterprise does its whole job on the console against the real claims service (and funds)
on real NATS JetStream and PostgreSQL: registers itself with its bank account, opens the
packaging item's form (units and thresholds from claims), submits a claim with a PDF, sees it
submitted; a returned claim is corrected and resubmitted, and once funds pays it reads 已拨付.
Bad fields are Chinese errors beside the field and change nothing; a form without its CSRF
token is refused; another enterprise sees none of it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.contracts import (
    AwardReserved,
    BankInstruction,
    PaymentApproval,
    PaymentExecuted,
    PublicityWindowOpened,
)
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
ENTERPRISE_CODE = with_check_character("91530427MA6K5XQ21")  # 李经理's, in the world's users file
OTHER_ENTERPRISE_CODE = with_check_character("92530427MA6T00012")  # 周经理's
MEMBER = person("Zhao Member", Role.LEADING_GROUP)
PDF = b"%PDF-1.7\n" + "新平礼好 包装箱入库单 2023Q3".encode() + b"\n%%EOF\n"
PAID_AT = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
REGISTRATION = {
    "name": "新平礼好农业有限公司", "kind": "enterprise", "program_code": "xinping-2021",
    "contact_name": "李华", "contact_phone": "0877-7012345", "contact_email": "lihua@example.cn",
    "bank_name": "中国农业银行新平县支行", "account_no": "6228 4800 0000 0000 017",
}  # fmt: skip


async def _enterprises(world) -> list[dict]:
    return (await world.claims.get("/enterprises", headers=bearer(ADMIN))).json()["items"]


async def _claims(world) -> list[dict]:
    return (await world.claims.get("/claims", headers=bearer(ADMIN))).json()["items"]


async def _register(world, code: str) -> None:
    _, csrf = await world.form("/enterprise/registration")
    r = await world.console.post("/enterprise/registration", data={**REGISTRATION, "credit_code": code, "csrf": csrf})
    assert r.status_code == 303, r.text


async def _registered_and_claimed(world) -> dict:
    """Xinping loaded, 李经理 signed in and registered, a 12,345-box claim submitted on the console."""
    await world.load_xinping()
    await world.sign_in("李经理")
    await _register(world, ENTERPRISE_CODE)
    _, csrf = await world.form("/enterprise/claims/new/xinping-2021/brand-packaging")
    r = await world.console.post("/enterprise/claims/new/xinping-2021/brand-packaging",
                                 data={"ev.quarter": "2023Q3", "ev.units": "12345", "csrf": csrf})
    assert r.status_code == 303, r.text
    (claim,) = await _claims(world)
    return claim


async def test_an_enterprise_registers_and_submits_a_packaging_claim_with_a_pdf(world) -> None:
    await world.load_xinping()
    home = await world.sign_in("李经理")
    assert 'href="/enterprise/registration"' in home and 'href="/enterprise/claims/new"' in home

    page, csrf = await world.form("/enterprise/registration")
    assert "请先登记本企业" in page and ENTERPRISE_CODE in page  # its own code, filled in
    # a wrong check character: the field's Chinese error with the figure it should be; nothing stored
    wrong = ENTERPRISE_CODE[:17] + ("0" if ENTERPRISE_CODE[17] != "0" else "1")
    r = await world.console.post("/enterprise/registration",
                                 data={**REGISTRATION, "credit_code": wrong, "csrf": csrf})
    assert r.status_code == 422
    assert f"统一社会信用代码：{wrong} 的第18位校验码应为 {ENTERPRISE_CODE[17]}" in r.text
    assert 'id="f-credit_code-error"' in r.text and 'aria-invalid="true"' in r.text
    assert "新平礼好农业有限公司" in r.text  # what was typed stays
    # a phone number the service refuses: beside the phone field, in Chinese
    r = await world.console.post("/enterprise/registration", data={
        **REGISTRATION, "credit_code": ENTERPRISE_CODE, "contact_phone": "电话", "csrf": csrf})
    assert r.status_code == 422 and "联系电话：联系电话只能包含数字" in r.text
    # another enterprise's code: the service's refusal, in Chinese, beside the code
    r = await world.console.post("/enterprise/registration", data={
        **REGISTRATION, "credit_code": OTHER_ENTERPRISE_CODE, "csrf": csrf})
    assert r.status_code == 403 and f"不能登记 {OTHER_ENTERPRISE_CODE}" in r.text
    # no CSRF token: refused, nothing stored
    r = await world.console.post("/enterprise/registration", data={**REGISTRATION, "credit_code": ENTERPRISE_CODE})
    assert r.status_code == 403 and "请求已过期" in r.text
    assert await _enterprises(world) == []

    await _register(world, ENTERPRISE_CODE)
    page, csrf = await world.form("/enterprise/registration?saved=1")
    assert "已保存" in page and "本企业已登记" in page and "6228 4800 0000 0000 017" in page
    (stored,) = await _enterprises(world)
    assert (stored["credit_code"], stored["programs"], stored["bank_name"]) == (
        ENTERPRISE_CODE, ["xinping-2021"], "中国农业银行新平县支行")
    # a new bank account: the code stays (a posted one is ignored), a bad account number changes nothing
    changed = {**REGISTRATION, "credit_code": OTHER_ENTERPRISE_CODE, "bank_name": "新平县农村信用合作联社",
               "account_no": "6223 1900 0000 0000 99", "csrf": csrf}
    r = await world.console.post("/enterprise/registration", data={**changed, "account_no": "账号"})
    assert r.status_code == 422 and "银行账号：银行账号只能包含数字" in r.text
    assert (await _enterprises(world))[0]["bank_account_no"] == "6228 4800 0000 0000 017"
    r = await world.console.post("/enterprise/registration", data=changed)
    assert r.status_code == 303, r.text
    (stored,) = await _enterprises(world)
    assert (stored["credit_code"], stored["bank_name"], stored["bank_account_no"]) == (
        ENTERPRISE_CODE, "新平县农村信用合作联社", "6223 1900 0000 0000 99")

    items, _ = await world.form("/enterprise/claims/new")
    assert 'href="/enterprise/claims/new/xinping-2021/brand-packaging"' in items
    form, csrf = await world.form("/enterprise/claims/new/xinping-2021/brand-packaging")
    assert "本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量（个）" in form
    assert "不低于 10,000 个（每个补助 0.20 元）" in form and "单位：个" in form
    assert '<option value="2023Q3">2023年第3季度</option>' in form
    assert "单个文件不超过 10 MB" in form and "PDF、图片（PNG、JPEG、WebP）或表格" in form
    assert "申报所涉期间须在 2022-10-23 之后（截止日期未载明）；每季度申报一次" in form

    files = {"file": ("入库单.pdf", PDF, "application/pdf")}
    # a count that is not a number: the field's error, no claim
    r = await world.console.post("/enterprise/claims/new/xinping-2021/brand-packaging", files=files,
                                 data={"ev.quarter": "2023Q3", "ev.units": "一万二", "csrf": csrf})
    assert r.status_code == 422 and "“本季度使用“新平礼好”Logo包装箱、包装袋、泡沫箱的数量”须为整数" in r.text
    # a quarter the rule refuses (outside the program's period): the service's Chinese detail
    r = await world.console.post("/enterprise/claims/new/xinping-2021/brand-packaging",
                                 data={"ev.quarter": "2015Q1", "ev.units": "12345", "csrf": csrf})
    assert r.status_code == 422 and "不在方案申报期间" in r.text and 'id="error-summary"' in r.text
    # no CSRF token: refused, no claim
    r = await world.console.post("/enterprise/claims/new/xinping-2021/brand-packaging", files=files,
                                 data={"ev.quarter": "2023Q3", "ev.units": "12345"})
    assert r.status_code == 403
    assert await _claims(world) == []

    r = await world.console.post("/enterprise/claims/new/xinping-2021/brand-packaging", files=files,
                                 data={"ev.quarter": "2023Q3", "ev.units": "12,345", "csrf": csrf})
    assert r.status_code == 303, r.text
    (claim,) = await _claims(world)
    assert r.headers["location"] == f"/enterprise/claims/{claim['id']}?submitted=1"
    assert (claim["evidence"], claim["status"]) == ({"quarter": "2023Q3", "units": 12345}, "submitted")
    page = (await world.console.get(r.headers["location"])).text
    assert "申报已提交" in page and "已提交，待审核" in page and "2,469.00 元" in page
    assert "使用数量：12,345，要求不低于 10,000（符合）" in page
    assert "入库单.pdf" in page
    stored_files = (await world.claims.get(f"/claims/{claim['id']}/files", headers=bearer(ADMIN))).json()
    assert [(f["filename"], f["size_bytes"]) for f in stored_files] == [("入库单.pdf", len(PDF))]

    # a second file on the claim's page; a disguised one is refused in Chinese and not stored
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/files", data={"csrf": csrf},
                                 files={"file": ("发票.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 415 and "“发票.pdf”不是可接受的文件" in r.text
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/files", data={},
                                 files={"file": ("发票.pdf", PDF.replace(b"1.7", b"1.6"), "application/pdf")})
    assert r.status_code == 403
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/files", data={"csrf": csrf},
                                 files={"file": ("发票.pdf", PDF.replace(b"1.7", b"1.6"), "application/pdf")})
    assert r.status_code == 303 and r.headers["location"].endswith("?uploaded=1")
    assert len((await world.claims.get(f"/claims/{claim['id']}/files", headers=bearer(ADMIN))).json()) == 2

    mine = (await world.console.get("/enterprise/claims")).text
    assert f'href="/enterprise/claims/{claim["id"]}"' in mine and "已提交，待审核" in mine

    # another enterprise: neither the list nor the page nor an upload reaches the claim
    await world.sign_in("周经理")
    theirs = (await world.console.get("/enterprise/claims")).text
    assert claim["id"] not in theirs and "暂无申报" in theirs
    r = await world.console.get(f"/enterprise/claims/{claim['id']}")
    assert r.status_code == 404 and "入库单.pdf" not in r.text
    _, csrf = await world.form("/enterprise/claims")
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/files", data={"csrf": csrf},
                                 files={"file": ("x.pdf", PDF.replace(b"1.7", b"1.5"), "application/pdf")})
    assert r.status_code == 404
    assert len((await world.claims.get(f"/claims/{claim['id']}/files", headers=bearer(ADMIN))).json()) == 2


async def test_a_returned_claim_is_corrected_resubmitted_and_its_payment_shown(world) -> None:
    claim = await _registered_and_claimed(world)
    r = await world.claims.post(f"/claims/{claim['id']}/review", headers=bearer(ADMIN),
                                json={"outcome": "return", "note": "入库单数量与申报不符，请核对后补正。"})
    assert r.status_code == 200, r.text

    page, csrf = await world.form(f"/enterprise/claims/{claim['id']}")
    assert "已退回，待补正" in page and "退回原因：</strong>入库单数量与申报不符，请核对后补正。" in page
    assert 'value="12345"' in page  # the form starts from what was claimed
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/resubmit",
                                 data={"ev.quarter": "2023Q3", "ev.units": "", "csrf": csrf})
    assert r.status_code == 422 and "请填写“本季度使用" in r.text
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/resubmit",
                                 data={"ev.quarter": "2023Q3", "ev.units": "15000", "csrf": csrf})
    assert r.status_code == 303, r.text
    page = (await world.console.get(r.headers["location"])).text
    assert "已提交，待审核" in page and "3,000.00 元" in page

    r = await world.claims.post(f"/claims/{claim['id']}/review", headers=bearer(ADMIN), json={"outcome": "complete"})
    assert r.status_code == 200, r.text
    r = await world.claims.post(f"/claims/{claim['id']}/decision", headers=bearer(MEMBER), json={"decision": "approve"})
    assert r.status_code == 200, r.text
    award_id = r.json()["award_id"]
    async with world.funds_facts() as funds:
        await _paid(funds, claim["id"], award_id, ENTERPRISE_CODE)

        async def paid() -> bool:
            return (await world.claims.get(f"/claims/{claim['id']}", headers=bearer(ADMIN))).json()["status"] == "paid"

        await eventually(paid, description="claims heard funds' payment")
    mine = (await world.console.get("/enterprise/claims")).text
    assert "已拨付 3,000.00 元" in mine and "2026年3月20日" in mine
    page = (await world.console.get(f"/enterprise/claims/{claim['id']}")).text
    assert "已拨付 3,000.00 元（2026年3月20日）" in page and "公示期" in page


async def _paid(funds, claim_id: str, award_id: str, payee: str) -> None:
    common = {"award_id": award_id, "claim_id": claim_id, "program_code": "xinping-2021"}
    await funds.emit(AwardReserved(**common, item_code="brand-packaging", amount_fen=300_000,
                                   item_available_fen=99_700_000, reserved_at=PAID_AT), award_id)
    await funds.emit(PublicityWindowOpened(**common, published_at=PAID_AT, starts_on=date(2026, 3, 9),
                                           ends_on=date(2026, 3, 13), payable_from=date(2026, 3, 16)), award_id)
    approvals = [PaymentApproval(person=p, name=p, role=r, content_sha256="0" * 64, approved_at=PAID_AT)
                 for p, r in (("u-zhao", "leading_group"), ("u-sig", "contractor_signatory"))]
    instruction = BankInstruction(from_account="0000", to_account="6228 4800 0000 0000 017",
                                  to_bank_name="中国农业银行新平县支行", to_name="新平礼好农业有限公司",
                                  amount_fen=300_000, reference="pay-1")
    await funds.emit(PaymentExecuted(**common, payment_id="pay-1", item_code="brand-packaging",
                                     payee_credit_code=payee, payee_name="新平礼好农业有限公司", amount_fen=300_000,
                                     content_sha256="0" * 64, approvals=approvals, bank_instruction=instruction,
                                     executed_at=PAID_AT), award_id)


async def test_an_enterprise_withdraws_its_claim_from_its_page(world) -> None:
    claim = await _registered_and_claimed(world)
    page, csrf = await world.form(f"/enterprise/claims/{claim['id']}")
    assert "撤回此申报" in page
    assert (await world.console.post(f"/enterprise/claims/{claim['id']}/withdraw", data={})).status_code == 403
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/withdraw", data={"csrf": csrf})
    assert r.status_code == 303
    page, csrf = await world.form(f"/enterprise/claims/{claim['id']}")
    assert "已撤回" in page and "撤回此申报" not in page
    # twice: the service's refusal in Chinese, as a page
    r = await world.console.post(f"/enterprise/claims/{claim['id']}/withdraw", data={"csrf": csrf})
    assert r.status_code == 409 and "申报当前状态不允许此操作" in r.text
    home = await world.console.get("/")
    assert f'href="/enterprise/claims/{claim["id"]}"' in home.text


async def test_the_sales_form_takes_month_rows_and_a_bad_row_is_named(world) -> None:
    """Another rule kind from the same generated form: the platform choice, the store, the
    opening date, month-by-month sales as rows; a month the service refuses is shown beside
    the rows, not as the validator's English."""
    await world.load_xinping()
    await world.sign_in("李经理")
    await _register(world, ENTERPRISE_CODE)
    form, csrf = await world.form("/enterprise/claims/new/xinping-2021/sales-reward")
    assert '<option value="淘宝">taobao</option>' in form and "逐月销售额" in form  # listed, others typed
    assert "同一店铺的每个月只奖励一次" in form and "每季度" not in form
    assert "连续 3 个月以上，累计不低于 150,000.00 元，按实际销售额 5% 奖励" in form
    fields = {"ev.platform": "淘宝", "ev.store_id": "TB-1234567", "ev.store_name": "新平礼好旗舰店",
              "ev.opened_on": "2023-01-05", "csrf": csrf}
    r = await world.console.post("/enterprise/claims/new/xinping-2021/sales-reward", data={
        **fields, "ev.months": "2023-01 50,000.00\n2023-13 60,000.00\n2023-03 70,000.00"})
    assert r.status_code == 422 and 'id="f-months-error"' in r.text and "“逐月销售额”填写有误" in r.text
    assert "String should" not in r.text and await _claims(world) == []
    r = await world.console.post("/enterprise/claims/new/xinping-2021/sales-reward", data={
        **fields, "ev.months": "2023-01 50,000.00\n2023-02 60,000.00\n2023-03 70,000.00"})
    assert r.status_code == 303, r.text
    (claim,) = await _claims(world)
    assert (claim["amount_fen"], claim["evidence"]["months"][1]) == (9_000_00, {"month": "2023-02", "sales_yuan": "60,000.00"})
    assert claim["evidence"]["platform"] == "taobao"  # typed as people read it, sent as its code


async def test_the_claims_list_pages_on(world, monkeypatch) -> None:
    from ruralfund_console.routes import enterprise

    first = await _registered_and_claimed(world)
    r = await world.claims.post("/claims", headers=bearer(world.users.get("李经理")), json={
        "program_code": "xinping-2021", "item_code": "brand-packaging", "evidence": {"quarter": "2023Q4", "units": 20_000}})
    assert r.status_code == 201, r.text
    monkeypatch.setattr(enterprise, "CLAIMS_PER_PAGE", 1)
    page = (await world.console.get("/enterprise/claims")).text
    assert first["id"] in page and r.json()["id"] not in page
    following = re.search(r'href="(/enterprise/claims\?cursor=[^"]+)" id="next-page"', page).group(1)
    page = (await world.console.get(following.replace("&amp;", "&"))).text
    assert r.json()["id"] in page and first["id"] not in page and 'id="next-page"' not in page
