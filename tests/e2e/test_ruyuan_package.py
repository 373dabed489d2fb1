"""One Ruyuan package through claims and funds on real NATS JetStream and PostgreSQL (#8):
the livestream centre tendered as a package (包组), its contract with a payment schedule, the
advance (前期资金拨付) paid on signing, the studio milestone accepted with evidence and its
instalment paid, the final acceptance (验收) and the balance paid — each payment through the
funds ledger with two approvals by two people and no publicity; the hardware part of the
studio instalment checked against the "原则上" ≤10 % share rule on actual spend (phase 1
imported as history): refused until a leading group member records the decision, then paid;
the execution report shows the paid contract, the breach and the decision (#16 item 7).

A second package covers both items of the logistics line (#16 items 10 and 8): its contract
and every tranche are split across the two items, funds reserves and pays on each, the report
adds up per item; the provider is declared in default, its next tranche is refused in both
services and its repayment goes to the finance bureau."""

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
             "milestone_code": "fixed-studio", "hardware_yuan": "300,000.00"},
            {"code": "balance", "kind": "balance", "amount_yuan": "270,000.00"}]}), 201)


async def _tranche(claims: httpx.AsyncClient, contract_id: str, code: str) -> dict[str, Any]:
    contract = _ok(await claims.get(f"/contracts/{contract_id}", headers=AUDITOR))
    return next(t for t in contract["payment_schedule"] if t["code"] == code)


async def _award_status(funds: httpx.AsyncClient, award_id: str) -> str | None:
    response = await funds.get(f"/awards/{award_id}", headers=AUDITOR)
    return response.json()["status"] if response.status_code == 200 else None


async def _pay(funds: httpx.AsyncClient, award_id: str, requester: dict[str, str] = ADMIN,
               justifications: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The bureau (or, with a decision on a share rule, a leading group member) requests the
    payment order; a leading group member and the contractor's signatory approve the same
    content; the second approval executes it."""
    await eventually(lambda: _award_status(funds, award_id), expect="reserved", timeout=30)
    body = {"award_id": award_id, "ratio_justifications": justifications or []}
    order = _ok(await funds.post("/payments", json=body, headers=requester), 201)
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
    kw = {"nats_url": nats_url, "database_url": database_url, "namespace": namespace,
          "dev_clock_file": tmp_path / "clock.json", "calendar_dir": tmp_path / "calendar"}
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

        # Phase 1's hardware from its final accounts: 1,700,000.00 + the studio's hardware part
        # 300,000.00 = 10.00 % of 20,000,000.00 — at the limit; 1,750,000.00 takes it past.
        history = {"phase": "first", "document": "乳源县首期项目决算报告（2022年）",
                   "measures": {"hardware": "1,750,000.00"}}
        _ok(await funds.post(f"/programs/{PROGRAM}/history", json=history, headers=ADMIN), 201)
        refused = await funds.post("/payments", json={"award_id": studio["payment_due_id"]}, headers=ADMIN)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "RATIO_JUSTIFICATION_REQUIRED", problem  # 原则上: never a hard block
        assert problem["title_zh"] == "偏离「原则上」资金使用比例，须领导小组决定"
        assert "10.25%" in problem["detail"] and "2,050,000.00元" in problem["detail"], problem
        assert "原则上不得高于10%" in problem["detail"]
        why = [{"rule_code": "hardware-decoration-max", "text": "固定直播间设备为验收必需，领导小组2023年第2次会议同意"}]
        by_bureau = await funds.post("/payments", json={"award_id": studio["payment_due_id"],
                                                        "ratio_justifications": why}, headers=ADMIN)
        assert by_bureau.status_code == 403 and by_bureau.json()["code"] == "RATIO_DECISION_BY_LEADING_GROUP"
        decided = await _pay(funds, studio["payment_due_id"], requester=LEADER, justifications=why)
        assert decided["ratio_justifications"][0]["recorded_by_name"] == "Leader Zhao"
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
        assert categories["hardware"]["spent"]["fen"] == 30_000_000, categories  # the studio's part
        assert categories["hardware"]["history"]["fen"] == 175_000_000, categories
        assert categories["livestream"]["spent"]["fen"] == 90_000_000, categories
        rules = {r["rule"]: r for r in spending["rules"]}
        assert rules["hardware-decoration-max"]["status"] == "breached", rules  # shown, with its decision
        trial = _ok(await funds.get(f"/programs/{PROGRAM}/trial-balance", headers=AUDITOR))
        assert trial["balanced"] is True, trial

        report = _ok(await claims.get(f"/programs/{PROGRAM}/execution-report", headers=AUDITOR))
        (reported,) = [c for c in report["contracts"] if c["contract_no"] == "RY-2023-FW-003"]
        assert reported["paid_fen"] == 90_000_000, reported
        (hardware,) = [r for r in report["ratios"] if r["code"] == "hardware-decoration-max"]
        assert hardware["paid_this_phase_fen"] == 30_000_000, hardware
        (decision,) = hardware["decisions"]
        assert (decision["contract_no"], decision["tranche_code"], decision["decided_by"]) == (
            "RY-2023-FW-003", "studio", "Leader Zhao")
        assert decision["text"] == "固定直播间设备为验收必需，领导小组2023年第2次会议同意"


SMART, NETWORK = "smart-logistics-center", "logistics-network-operation"


def _split(smart: str, network: str) -> list[dict[str, str]]:
    return [{"item_code": SMART, "amount_yuan": smart}, {"item_code": NETWORK, "amount_yuan": network}]


async def _sign_logistics_contract(claims: httpx.AsyncClient) -> dict[str, Any]:
    """One public-tender package over both items of the logistics line (1,500,000.00 +
    700,000.00); the 2,200,000.00 contract pays 30 % on signing, 40 % on the sorting line,
    20 % on the stations, 10 % on acceptance, every tranche split across the two items."""
    _ok(await claims.post(f"/programs/{PROGRAM}/packages", headers=ADMIN, json={
        "code": "lot-5-logistics", "name": "智慧物流中心及首期物流站点运营包组", "line_code": "three-tier-logistics",
        "item_codes": [SMART, NETWORK], "budget_yuan": "2,200,000.00", "method": "public_tender",
        "winner_credit_code": PROVIDER, "awarded_on": "2023-06-01", "tender_ref": "RYCG-2023-019"}), 201)
    return _ok(await claims.post(f"/programs/{PROGRAM}/contracts", headers=ADMIN, json={
        "item_code": SMART, "package_code": "lot-5-logistics", "contract_no": "RY-2023-WL-005",
        "provider_credit_code": PROVIDER, "amount_yuan": "2,200,000.00", "signed_on": "2023-06-20",
        "ends_on": "2023-11-30", "procurement": "公开招标", "items": _split("1,500,000.00", "700,000.00"),
        "milestones": [{"code": "sorting-line", "name": "统仓共配智能分拣线建成", "due_on": "2023-09-30"},
                       {"code": "stations", "name": "首期物流站点运营维护", "due_on": "2023-10-31"}],
        "payment_schedule": [
            {"code": "advance", "kind": "advance", "amount_yuan": "660,000.00",
             "items": _split("450,000.00", "210,000.00")},
            {"code": "sorting", "kind": "instalment", "amount_yuan": "880,000.00", "milestone_code": "sorting-line",
             "items": _split("600,000.00", "280,000.00")},
            {"code": "stations", "kind": "instalment", "amount_yuan": "440,000.00", "milestone_code": "stations",
             "items": _split("300,000.00", "140,000.00")},
            {"code": "balance", "kind": "balance", "amount_yuan": "220,000.00",
             "items": _split("150,000.00", "70,000.00")}]}), 201)


async def _settle(funds: httpx.AsyncClient, payment: dict[str, Any]) -> None:
    _ok(await funds.post(f"/payments/{payment['payment_id']}/settlement", headers=SIGNATORY,
                         json={"bank_txn_id": f"BOC-{payment['payment_id'][:8]}"}))


async def test_a_package_over_two_items_is_paid_on_each_and_a_default_claws_back(
        nats_url, database_url, namespace, tmp_path):
    kw = {"nats_url": nats_url, "database_url": database_url, "namespace": namespace,
          "dev_clock_file": tmp_path / "clock.json", "calendar_dir": tmp_path / "calendar"}
    async with running_service(claims_app, service_settings("claims", **kw)) as claims, \
            running_service(funds_app, service_settings("funds", **kw)) as funds:
        await _open_program(claims, funds)
        cid = (await _sign_logistics_contract(claims))["id"]
        advance = await _tranche(claims, cid, "advance")
        await _settle(funds, await _pay(funds, advance["payment_due_id"]))
        await _paid(claims, cid, "advance")

        # 660,000.00 + 880,000.00 would not fit the smart logistics centre's 1,500,000.00 alone:
        # split, the instalment is reserved on both items and paid
        _ok(await claims.post(f"/contracts/{cid}/milestones/sorting-line/acceptance", json={}, headers=ADMIN))

        async def sorting_due() -> dict[str, Any]:
            tranche = await _tranche(claims, cid, "sorting")
            assert tranche["status"] == "due", tranche
            return tranche

        sorting = await eventually(sorting_due, timeout=30)
        await _settle(funds, await _pay(funds, sorting["payment_due_id"]))
        await _paid(claims, cid, "sorting")
        award = _ok(await funds.get(f"/awards/{sorting['payment_due_id']}", headers=AUDITOR))
        assert [(p["item_code"], p["amount_fen"]) for p in award["parts"]] == [(SMART, 60_000_000),
                                                                                (NETWORK, 28_000_000)]
        report = _ok(await claims.get(f"/programs/{PROGRAM}/execution-report", headers=AUDITOR))
        items = {i["code"]: i["figures"] for line in report["lines"] for i in line["items"]}
        assert (items[SMART]["committed_fen"], items[SMART]["paid_fen"]) == (150_000_000, 105_000_000)
        assert (items[NETWORK]["committed_fen"], items[NETWORK]["paid_fen"]) == (70_000_000, 49_000_000)
        assert all(v >= 0 for f in items.values() for k, v in f.items() if k.endswith("_fen")), items

        # Xinping §六 (收回全部项目建设资金) applied to the provider: the stations instalment is
        # reserved; the leading group declares the provider in default; the 1,540,000.00 paid
        # becomes receivable, the reserved 440,000.00 goes back to the items' budgets and the
        # tranche is shown refused in claims; its repayment goes to the finance bureau
        _ok(await claims.post(f"/contracts/{cid}/milestones/stations/acceptance", json={}, headers=ADMIN))

        async def stations_due() -> dict[str, Any]:
            tranche = await _tranche(claims, cid, "stations")
            assert tranche["status"] == "due", tranche
            return tranche

        stations = await eventually(stations_due, timeout=30)
        await eventually(lambda: _award_status(funds, stations["payment_due_id"]), expect="reserved", timeout=30)
        default = {"credit_code": PROVIDER, "resolution_number": "乳电商领〔2023〕9号",
                   "resolution_date": "2023-10-20"}
        declared = _ok(await funds.post(f"/programs/{PROGRAM}/defaults", json=default, headers=LEADER), 201)
        assert declared["receivable_fen"] == 154_000_000, declared
        assert declared["voided"] == [{"award_id": stations["payment_due_id"], "amount_fen": 44_000_000}]

        async def stations_refused() -> dict[str, Any]:
            tranche = await _tranche(claims, cid, "stations")
            assert tranche["status"] == "refused", tranche
            return tranche

        stations = await eventually(stations_refused, timeout=30)
        assert stations["refusal_code"] == "CONTRACTOR_IN_DEFAULT", stations
        refused = await funds.post("/payments", json={"award_id": stations["payment_due_id"]}, headers=ADMIN)
        assert refused.status_code == 409 and refused.json()["title_zh"], refused.text
        repaid = _ok(await funds.post(f"/programs/{PROGRAM}/repayments", headers=FINANCE, json={
            "credit_code": PROVIDER, "amount_yuan": "1,000,000.00", "bank_reference": "CZ-2023-088"}), 201)
        assert (repaid["outstanding_fen"], repaid["paid_to"]) == (54_000_000, "finance_bureau")
        balances = {a["account"]: a["balance_fen"] for a in
                    _ok(await funds.get(f"/programs/{PROGRAM}/balances", headers=AUDITOR))["accounts"]}
        assert balances["finance:bureau"] == 100_000_000
        assert balances["bank:joint"] == 1_000_000_000 - 154_000_000  # not refilled by the repayment
        assert balances[f"clawback:{PROVIDER}"] == 54_000_000
        # the voided reservation is budget again: 1,500,000.00 − 1,050,000.00 paid on the centre
        assert balances[f"budget:three-tier-logistics/{SMART}"] == 45_000_000
        assert balances[f"budget:three-tier-logistics/{NETWORK}"] == 21_000_000
        trial = _ok(await funds.get(f"/programs/{PROGRAM}/trial-balance", headers=AUDITOR))
        assert trial["balanced"] is True, trial

        # claims' execution report shows the clawback from funds' events: nothing was in a joint
        # account of the provider's (0.00 back to the finance bureau), 1,540,000.00 receivable,
        # 1,000,000.00 repaid, 540,000.00 still owed
        async def clawback_reported() -> dict[str, Any]:
            report = _ok(await claims.get(f"/programs/{PROGRAM}/execution-report", headers=AUDITOR))
            assert len(report["clawbacks"]) == 1 and report["clawbacks"][0]["repaid_fen"], report["clawbacks"]
            return report["clawbacks"][0]

        clawback = await eventually(clawback_reported, timeout=30)
        assert (clawback["returned_yuan"], clawback["receivable_yuan"], clawback["repaid_yuan"],
                clawback["outstanding_yuan"]) == ("0.00", "1,540,000.00", "1,000,000.00", "540,000.00")
        assert "应收违约方 1,540,000.00 元，已收回 1,000,000.00 元" in clawback["summary_zh"], clawback
