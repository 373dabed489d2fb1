"""Issue 16 (6, 9) across the four services as processes: an award funds refuses is never
publicised nor promised, and the enterprise learns why with the figures; a bank account
change in the registry moves the pending payment, lapses its approval and is mailed to the
contact on record before the change."""

from __future__ import annotations

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.e2e

CREDIT_CODE = "91530427MA6K0B0Q1Y"  # registered in 新平县 (530427)
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
ENTERPRISE = person("Packaging Co", Role.ENTERPRISE, credit_code=CREDIT_CODE)
OLD_CONTACT = "li@packaging.example"
OLD_ACCOUNT = "6228480000000000001"
NEW_ACCOUNT = "6217000000000000002"


async def _json(client, path, who=ADMIN):
    r = await client.get(path, headers=bearer(who))
    return r.json() if r.status_code == 200 else None


async def test_an_award_over_the_item_budget_gets_no_notice_and_a_chinese_refusal(system):
    claims, funds, notify = (system.client(s) for s in ("claims", "funds", "notify"))
    mailbox = system.mailbox
    async with claims, funds, notify:
        await system.start_xinping(contact_email=OLD_CONTACT, account_no=OLD_ACCOUNT)
        # 4,512,345 boxes x 0.20 = 902,469.00 of the 1,000,000.00 item: 97,531.00 left
        _, first = await system.approved_packaging(claims, quarter="2023Q3", units=4_512_345)
        await eventually(lambda: _status(funds, first), expect="in_publicity", timeout=60)
        # 500,000 boxes x 0.20 = 100,000.00 > 97,531.00: funds refuses the reservation
        claim_id, refused = await system.approved_packaging(claims, quarter="2023Q4", units=500_000)
        await eventually(lambda: _status(funds, refused), expect="refused", timeout=60)

        mail = await eventually(lambda: mailbox.mail("奖补资金未能安排", to=OLD_CONTACT), timeout=60)
        body = mailbox.body_of(mail)
        for text in ("核定奖补金额：100,000.00 元", "该项目剩余预算：97,531.00 元", "预算缺口：2,469.00 元",
                     f"申报编号 {claim_id}", "不予公示"):
            assert text in body, (text, body)
        assert "budget:" not in body and "below zero" not in body

        notices = (await notify.get("/publicity/notices.json")).json()["items"]
        assert [n["amount_yuan"] for n in notices] == ["902,469.00"], notices
        page = (await notify.get("/publicity")).text
        assert "100,000.00" not in page
        admin = (await notify.get("/notices", headers=bearer(ADMIN))).json()["items"]
        assert refused not in {n["award_id"] for n in admin}
        approvals = [m for m in mailbox.mails(OLD_CONTACT) if "审核通过" in mailbox.subject_of(m)]
        assert len(approvals) == 1 and "902,469.00" in mailbox.body_of(approvals[0])  # none promises the refused one


async def test_a_registry_bank_change_moves_the_pending_payment_and_warns_the_old_contact(system):
    claims, funds, notify = (system.client(s) for s in ("claims", "funds", "notify"))
    mailbox = system.mailbox
    async with claims, funds, notify:
        await system.start_xinping(contact_email=OLD_CONTACT, account_no=OLD_ACCOUNT)
        _, award_id = await system.approved_packaging(claims, quarter="2023Q3", units=12_345)  # 2,469.00
        await eventually(lambda: _status(funds, award_id), expect="in_publicity", timeout=60)
        r = await funds.post("/programs/xinping-2021/releases", headers=bearer(FINANCE),
                             json={"amount_yuan": "5,000,000.00", "approval_reference": "新电商领〔2026〕1号"})
        assert r.status_code == 201, r.text
        await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"}, headers=bearer(ADMIN))
        r = await funds.post("/payments", json={"award_id": award_id}, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        pid, old_sha = r.json()["payment_id"], r.json()["content_sha256"]
        assert r.json()["content"]["payee_bank_account"] == OLD_ACCOUNT
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": old_sha}, headers=bearer(LEADER))
        assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text

        # the enterprise changes its account AND its contact in one request
        r = await claims.patch(f"/enterprises/{CREDIT_CODE}", headers=bearer(ENTERPRISE), json={
            "contact": {"name": "张新", "email": "zhang@new-owner.example"},
            "bank_account": {"bank_name": "中国建设银行新平支行", "account_no": NEW_ACCOUNT}})
        assert r.status_code == 200, r.text

        async def moved():
            p = await _json(funds, f"/payments/{pid}")
            return p if p and p["content"]["payee_bank_account"] == NEW_ACCOUNT else None

        payment = await eventually(moved, timeout=60, description="the pending payment follows the registry")
        assert payment["content_sha256"] != old_sha and [a["valid"] for a in payment["approvals"]] == [False]
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": old_sha},
                             headers=bearer(SIGNATORY))
        assert r.status_code == 409 and r.json()["code"] == "APPROVAL_CONTENT_CHANGED", r.text

        warning = await eventually(lambda: mailbox.mail("收款账户变更提醒", to=OLD_CONTACT), timeout=60)
        body = mailbox.body_of(warning)
        assert "李经理：" in body and "0001" in body and "0002" in body and NEW_ACCOUNT not in body
        assert not mailbox.mails("zhang@new-owner.example")  # the new contact is not who is warned
        # and the old contact hears that it was replaced (a contact-first, account-next attack)
        await eventually(lambda: mailbox.mail("联系人变更提醒", to=OLD_CONTACT), timeout=60)

        new_sha = payment["content_sha256"]
        for who in (LEADER, SIGNATORY):
            r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": new_sha}, headers=bearer(who))
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "executed", r.text
        paid = await eventually(lambda: mailbox.mail("奖补资金已拨付", to="zhang@new-owner.example"), timeout=60)
        assert "0002" in mailbox.body_of(paid) and "中国建设银行新平支行" in mailbox.body_of(paid)


async def _status(funds, award_id):
    award = await _json(funds, f"/awards/{award_id}")
    return award and award["status"]
