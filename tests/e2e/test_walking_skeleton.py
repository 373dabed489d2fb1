"""The Xinping brand-packaging claim, from claim to payment, through all four services running
as separate processes over real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually
from typer.testing import CliRunner

from ruralfund.cli_ledger import app as ledger_cli

pytestmark = pytest.mark.e2e

CREDIT_CODE = "91530427MA6K0B0Q1Y"  # a valid GB 32100 code registered in 新平县 (530427)
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
ENTERPRISE = person("Packaging Co", Role.ENTERPRISE, credit_code=CREDIT_CODE)


async def _json(client, path, who=ADMIN):
    r = await client.get(path, headers=bearer(who))
    return r.json() if r.status_code == 200 else None


async def test_brand_packaging_claim_travels_from_claim_to_payment(system):
    claims, funds, notify, logistics = (system.client(s) for s in ("claims", "funds", "notify", "logistics"))
    async with claims, funds, notify, logistics:
        for c in (claims, funds, notify, logistics):
            assert (await c.get("/healthz")).status_code == 200
            assert (await c.get("/asyncapi.json")).json()["asyncapi"].startswith("3.")
        await system.start_xinping()  # Monday 2026-03-02 10:00 Shanghai, program, enterprise

        r = await claims.post("/claims", headers=bearer(ENTERPRISE), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": "2023Q3", "units": 12345}})
        assert r.status_code == 201, r.text
        claim = r.json()
        assert claim["amount_fen"] == 246_900 and claim["amount_yuan"] == "2,469.00"
        claim_id = claim["id"]

        r = await claims.post(f"/claims/{claim_id}/review", json={"outcome": "complete"}, headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        r = await claims.post(f"/claims/{claim_id}/decision", json={"decision": "approve"}, headers=bearer(LEADER))
        assert r.status_code == 200, r.text
        award_id = r.json()["award_id"]

        # funds reserves; notify publishes the notice; funds opens the window from it
        award = await eventually(lambda: _in_publicity(funds, award_id), timeout=30)
        assert (award["starts_on"], award["ends_on"], award["payable_from"]) == ("2026-03-02", "2026-03-06", "2026-03-07")
        notices = (await notify.get("/publicity/notices.json")).json()
        assert any(n["awardee"] == "新平礼好包装有限公司" and n["amount_fen"] == 246_900 for n in notices["items"]), notices
        page = (await notify.get("/publicity")).text
        assert "新平礼好包装有限公司" in page and "2,469.00" in page
        await eventually(lambda: _claim_status(claims, claim_id), expect="in_publicity", timeout=20)

        r = await funds.post("/programs/xinping-2021/releases", headers=bearer(FINANCE),
                             json={"amount_yuan": "5,000,000.00", "approval_reference": "新电商领〔2026〕1号"})
        assert r.status_code == 201, r.text

        r = await funds.post("/payments", json={"award_id": award_id}, headers=bearer(ADMIN))
        assert r.status_code == 409 and r.json()["code"] == "PUBLICITY_NOT_ENDED", r.text

        await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"}, headers=bearer(ADMIN))  # 03-07 00:00
        r = await funds.post("/payments", json={"award_id": award_id}, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        pid, sha = r.json()["payment_id"], r.json()["content_sha256"]
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(LEADER))
        assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(SIGNATORY))
        assert r.status_code == 200 and r.json()["status"] == "executed", r.text

        await eventually(lambda: _claim_status(claims, claim_id), expect="paid", timeout=30)
        paid_mail = await eventually(lambda: system.mailbox.mail("奖补资金已拨付"), timeout=30)
        assert "li@packaging.example" in paid_mail["To"]
        assert "2,469.00" in system.mailbox.subject_of(paid_mail) and "2,469.00" in system.mailbox.body_of(paid_mail)

        balances = await _json(funds, "/programs/xinping-2021/balances")
        assert balances["trial_balance"]["balanced"]
        by = {a["account"]: a["balance_fen"] for a in balances["accounts"]}
        assert by[f"payee:{CREDIT_CODE}"] == 246_900
        assert by["bank:joint"] == 500_000_000 - 246_900

        # The ledger is provable from outside (issue 15): funds signs a checkpoint, notify
        # publishes it as open data, and anyone's verifier proves the ledger extends it.
        r = await funds.post("/ledger/checkpoints", headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        size = r.json()["tree_size"]
        url = system.urls["notify"] + "/open-data/ledger-checkpoints.json"
        await eventually(lambda: _published_checkpoint(notify, size), timeout=30)
        args = ["verify", "--database-url", system.env["DATABASE_URL"], "--checkpoint", url]
        verify = await asyncio.to_thread(CliRunner().invoke, ledger_cli, args)
        assert verify.exit_code == 0 and "extends the checkpoint" in verify.output, verify.output


async def _published_checkpoint(notify, size):
    r = await notify.get("/open-data/ledger-checkpoints.json")
    return any(c["tree_size"] == size for c in r.json()["checkpoints"]) or None


async def _in_publicity(funds, award_id):
    award = await _json(funds, f"/awards/{award_id}")
    return award if award and award["status"] == "in_publicity" else None


async def _claim_status(claims, claim_id):
    claim = await _json(claims, f"/claims/{claim_id}")
    return claim and claim["status"]



