"""One Ruyuan package through claims and funds on real NATS JetStream and PostgreSQL (#8):
the livestream centre tendered as a package (包组), its contract with a payment schedule, the
advance (前期资金拨付) paid on signing, the studio milestone accepted with evidence and its
instalment paid, the final acceptance (验收) and the balance paid — each payment through the
funds ledger with two approvals by two people and no publicity; the hardware instalment
checked against the ≤10 % share rule on actual spend (phase 1 imported as history), refused
while it would pass the limit; the execution report shows the paid contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.auth import Role
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.app import create_app as funds_app

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PROGRAM = "ruyuan-2021-p2"
PROVIDER = with_check_character("91440232MA4W0L1R5")
ADMIN = bearer(person("Admin Wang", Role.BUREAU_ADMIN))
LEADER = bearer(person("Leader Zhao", Role.LEADING_GROUP))
SIGNATORY = bearer(person("Signatory Chen", Role.CONTRACTOR_SIGNATORY))
FINANCE = bearer(person("Finance Li", Role.FINANCE_BUREAU))
AUDITOR = bearer(person("Auditor Zhou", Role.AUDITOR))
PROVIDER_USER = bearer(person("Huang Studio", Role.ENTERPRISE, credit_code=PROVIDER))
PDF = b"%PDF-1.4\n% acceptance report of the fixed studio\n%%EOF\n"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open_program(claims: httpx.AsyncClient, funds: httpx.AsyncClient) -> None:
    _ok(await funds.post("/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"}, headers=ADMIN))
    _ok(await claims.post("/programs", content=(REPO / "programs/ruyuan-2021-p2.yaml").read_bytes(),
                          headers={**ADMIN, "Content-Type": "application/yaml"}), 201)
    await eventually(lambda: _status(funds, f"/programs/{PROGRAM}/balances"), expect=200, timeout=30)
    _ok(await funds.post(f"/programs/{PROGRAM}/releases", headers=FINANCE,
                         json={"amount_yuan": "10,000,000.00", "approval_reference": "乳电商领〔2023〕1号"}), 201)
    _ok(await claims.post("/enterprises", headers=ADMIN, json={
        "credit_code": PROVIDER, "name": "乳源瑶乡直播科技有限公司", "kind": "service_provider",
        "program_code": PROGRAM, "contact": {"name": "黄经理", "email": "huang@livestream.example"},
        "bank_account": {"bank_name": "中国银行乳源支行", "account_no": "6216600000000000017"}}), 201)


async def _status(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path, headers=AUDITOR)).status_code


async def _sign_contract(claims: httpx.AsyncClient) -> dict[str, Any]:
    _ok(await claims.post(f"/programs/{PROGRAM}/packages", headers=ADMIN, json={
        "code": "lot-3-livestream", "name": "直播中心（1+4+N场景式直播中心）建设运营服务包组",
        "line_code": "public-service-system", "item_codes": ["livestream-center"],
        "budget_yuan": "900,000.00", "method": "public_tender", "winner_credit_code": PROVIDER,
        "awarded_on": "2023-06-01", "tender_ref": "RYCG-2023-017"}), 201)
    return _ok(await claims.post(f"/programs/{PROGRAM}/contracts", headers=ADMIN, json={
        "item_code": "livestream-center", "package_code": "lot-3-livestream", "contract_no": "RY-2023-FW-003",
        "provider_credit_code": PROVIDER, "amount_yuan": "900,000.00", "signed_on": "2023-06-20",
        "ends_on": "2023-11-30", "procurement": "公开招标",
        "milestones": [{"code": "fixed-studio", "name": "固定式乳源特色直播间建成", "due_on": "2023-08-31"},
                       {"code": "shared-studios", "name": "4个场景式共享直播间建成", "due_on": "2023-10-31"}],
        "payment_schedule": [
            {"code": "advance", "kind": "advance", "amount_yuan": "270,000.00"},
            {"code": "studio", "kind": "instalment", "amount_yuan": "360,000.00",
             "milestone_code": "fixed-studio", "spending_category": "hardware"},
            {"code": "balance", "kind": "balance", "amount_yuan": "270,000.00"}]}), 201)


async def _tranche(claims: httpx.AsyncClient, contract_id: str, code: str) -> dict[str, Any]:
    contract = _ok(await claims.get(f"/contracts/{contract_id}", headers=AUDITOR))
    return next(t for t in contract["payment_schedule"] if t["code"] == code)


async def _award_status(funds: httpx.AsyncClient, award_id: str) -> str | None:
    response = await funds.get(f"/awards/{award_id}", headers=AUDITOR)
    return response.json()["status"] if response.status_code == 200 else None


async def _pay(funds: httpx.AsyncClient, award_id: str) -> dict[str, Any]:
    """The bureau requests the payment order; a leading group member and the contractor's
    signatory approve the same content; the second approval executes it."""
    await eventually(lambda: _award_status(funds, award_id), expect="reserved", timeout=30)
    order = _ok(await funds.post("/payments", json={"award_id": award_id}, headers=ADMIN), 201)
    approve = {"content_sha256": order["content_sha256"]}
    first = _ok(await funds.post(f"/payments/{order['payment_id']}/approvals", json=approve, headers=LEADER))
    assert first["status"] == "awaiting_approval", first
    again = await funds.post(f"/payments/{order['payment_id']}/approvals", json=approve, headers=LEADER)
    assert again.status_code == 409, again.text  # one person never signs both sides
    done = _ok(await funds.post(f"/payments/{order['payment_id']}/approvals", json=approve, headers=SIGNATORY))
    assert done["status"] == "executed", done
    return _ok(await funds.get(f"/payments/{order['payment_id']}", headers=AUDITOR))


async def _paid(claims: httpx.AsyncClient, contract_id: str, code: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any]:
        tranche = await _tranche(claims, contract_id, code)
        assert tranche["status"] == "paid", tranche
        return tranche

    return await eventually(reached, timeout=30)


async def test_a_ruyuan_package_from_contract_to_final_payment(nats_url, database_url, namespace, tmp_path):
    kw = dict(nats_url=nats_url, database_url=database_url, namespace=namespace,
              dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    async with running_service(claims_app, service_settings("claims", **kw)) as claims, \
            running_service(funds_app, service_settings("funds", **kw)) as funds:
        await _open_program(claims, funds)
        contract = await _sign_contract(claims)
        cid = contract["id"]

        # 前期资金拨付: the advance is due on signing and paid with no publicity window.
        advance = await _tranche(claims, cid, "advance")
        assert advance["status"] == "due"
        paid = await _pay(funds, advance["payment_due_id"])
        assert paid["amount_fen"] == 27_000_000
        assert (await _paid(claims, cid, "advance"))["paid_fen"] == 27_000_000

        # The studio milestone is accepted with evidence; its hardware instalment becomes due.
        upload = _ok(await claims.post(
            f"/contracts/{cid}/files", params={"filename": "固定直播间验收报告.pdf"}, content=PDF,
            headers={**PROVIDER_USER, "Content-Type": "application/pdf"}), 201)
        _ok(await claims.post(f"/contracts/{cid}/milestones/fixed-studio/acceptance", headers=ADMIN, json={
            "accepted_on": "2023-09-05", "accepted_by": ["县工信局 张工", "第三方专家 李工"],
            "evidence_file_ids": [upload["id"]], "note": "直播间面积25平方米，验收合格"}))

        async def studio_due() -> dict[str, Any]:
            tranche = await _tranche(claims, cid, "studio")
            assert tranche["status"] == "due", tranche
            return tranche

        studio = await eventually(studio_due, timeout=30)
        await eventually(lambda: _award_status(funds, studio["payment_due_id"]), expect="reserved", timeout=30)

        # Phase 1's hardware from its final accounts: 1,700,000.00 + 360,000.00 = 10.3 % of the
        # cumulative 20,000,000.00 — a hard ceiling, so the instalment is refused as it stands.
        history = {"phase": "first", "document": "乳源县首期项目决算报告（2022年）",
                   "measures": {"hardware": "1,700,000.00"}}
        _ok(await funds.post(f"/programs/{PROGRAM}/history", json=history, headers=ADMIN), 201)
        refused = await funds.post("/payments", json={"award_id": studio["payment_due_id"]}, headers=ADMIN)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "RATIO_LIMIT_EXCEEDED", refused.json()
        # The audited figure is 1,500,000.00: 9.3 % after the instalment, which is then paid.
        history["measures"] = {"hardware": "1,500,000.00"}
        _ok(await funds.post(f"/programs/{PROGRAM}/history", json=history, headers=ADMIN), 201)
        await _pay(funds, studio["payment_due_id"])
        await _paid(claims, cid, "studio")

        # Deliverables reported, the second milestone accepted, 验收 passed: the balance is due.
        for code, value in (("fixed-studio-area", 25), ("shared-studios", 4)):
            _ok(await claims.post(f"/contracts/{cid}/deliverables/{code}/report",
                                  json={"actual_value": value}, headers=PROVIDER_USER))
        _ok(await claims.post(f"/contracts/{cid}/milestones/shared-studios/acceptance", json={}, headers=ADMIN))
        accepted = _ok(await claims.post(f"/contracts/{cid}/acceptance", headers=LEADER,
                                         json={"outcome": "passed", "note": "验收合格"}))
        assert accepted["status"] == "accepted"
        balance = await _tranche(claims, cid, "balance")
        await _pay(funds, balance["payment_due_id"])
        await _paid(claims, cid, "balance")

        final = _ok(await claims.get(f"/contracts/{cid}", headers=AUDITOR))
        assert [t["status"] for t in final["payment_schedule"]] == ["paid", "paid", "paid"]
        assert (final["paid_yuan"], final["remaining_fen"]) == ("900,000.00", 0)

        spending = _ok(await funds.get(f"/programs/{PROGRAM}/spending", headers=AUDITOR))
        categories = {c["code"]: c for c in spending["categories"]}
        assert categories["hardware"]["spent"]["fen"] == 36_000_000, categories
        assert categories["hardware"]["history"]["fen"] == 150_000_000, categories
        assert categories["livestream"]["spent"]["fen"] == 54_000_000, categories  # advance + balance
        trial = _ok(await funds.get(f"/programs/{PROGRAM}/trial-balance", headers=AUDITOR))
        assert trial["balanced"] is True, trial

        report = _ok(await claims.get(f"/programs/{PROGRAM}/execution-report", headers=AUDITOR))
        (reported,) = [c for c in report["contracts"] if c["contract_no"] == "RY-2023-FW-003"]
        assert reported["paid_fen"] == 90_000_000, reported
