"""Ruyuan phase 2 over real NATS JetStream + PostgreSQL: contract tranches from claims reserved,
paid with two approvals and reported; share rules on actual spend refuse a hardware payment
past 10 % over HTTP and ask a justification for the logistics minimum."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from ruralfund_common.auth import Role
from ruralfund_common.contracts import ItemBudget, LineBudget, ProgramActivated
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue, TranchePart
from ruralfund_common.contracts.claims.program_activated import HistoryPhaseSpec, RatioRuleSpec
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import Producer, producer, read_events
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.adapters.verify import verify_ledger
from ruralfund_funds.app import create_app

pytestmark = pytest.mark.integration

YUAN = 100
PROGRAM = "ruyuan-2021-p2"
PROVIDER = "91440232MA4W000001"
OTHER_PROVIDER = "91440232MA4W000002"
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
AUDITOR = person("Auditor Zhou", Role.AUDITOR)
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PUBLIC, LOGISTICS, RETAIL, TRAINING = "public-service-system", "three-tier-logistics", "retail-upgrade", "entrepreneur-training"


def ruyuan() -> ProgramActivated:
    def line(code: str, name: str, items: list[ItemBudget]) -> LineBudget:
        return LineBudget(code=code, name=name, budget_fen=sum(i.budget_fen for i in items), items=items)

    return ProgramActivated(
        program_code=PROGRAM, name="乳源瑶族自治县2021年国家级电子商务进农村综合示范项目二期", county_code="440232",
        county_name="乳源瑶族自治县", year=2021, phase="second", total_fen=10_000_000 * YUAN,
        lines=[
            line(PUBLIC, "完善农村电子商务公共服务体系", [
                ItemBudget(code="livestream-center", name="直播中心", budget_fen=900_000 * YUAN, mode="service",
                           spending_category="hardware"),
                ItemBudget(code="online-product-center", name="网销产品中心", budget_fen=4_000_000 * YUAN,
                           mode="service")]),
            line(LOGISTICS, "健全县镇村三级物流配送体系", [
                ItemBudget(code="smart-logistics-center", name="智慧物流中心", budget_fen=1_500_000 * YUAN,
                           mode="service"),
                ItemBudget(code="logistics-network-operation", name="首期物流站点运营维护", budget_fen=700_000 * YUAN,
                           mode="service")]),
            line(RETAIL, "推动农村商贸流通企业转型升级", [
                ItemBudget(code="cloud-supermarket", name="下沉供应链云超市", budget_fen=2_350_000 * YUAN,
                           mode="service")]),
            line(TRAINING, "培育农村电商创业带头人", [
                ItemBudget(code="talent-incubation-center", name="电商人才孵化中心", budget_fen=550_000 * YUAN,
                           mode="service")]),
        ],
        contractor_credit_code=PROVIDER, contractor_name="乳源某电商服务有限公司",
        joint_account_bank="中国银行乳源支行", joint_account_no="6216600000000000000", activated_at=MONDAY,
        ratio_rules=[
            RatioRuleSpec(code="hardware-decoration-max", name="硬件设备购置和装修费用合计占比", bound="max",
                          limit_percent="10", on_breach="error", measure="hardware"),
            RatioRuleSpec(code="logistics-min", name="三级物流配送体系累计占比", bound="min", limit_percent="50",
                          on_breach="warning", lines=[LOGISTICS]),
            RatioRuleSpec(code="training-max", name="培育农村电商创业带头人累计占比", bound="max", limit_percent="15",
                          on_breach="error", lines=[TRAINING]),
        ],
        history=[HistoryPhaseSpec(phase="first", label="首期", total_fen=10_000_000 * YUAN, lines={
            PUBLIC: 3_500_000 * YUAN, LOGISTICS: 3_550_000 * YUAN, RETAIL: 2_000_000 * YUAN, TRAINING: 950_000 * YUAN})],
    )


def due(due_id: str, amount_fen: int, item: str = "livestream-center", line: str = PUBLIC, *,
        category: str | None = None, provider: str = PROVIDER, kind: str = "instalment",
        **extra: Any) -> ContractPaymentDue:
    return ContractPaymentDue(
        payment_due_id=due_id, contract_id="contract-1", contract_no="RY-2023-ZB-01", package_code="package-1",
        tranche_code=f"t-{due_id}", tranche_kind=kind, milestone_code="impl-public-service", program_code=PROGRAM,
        line_code=line, item_code=item, item_name="直播中心", provider_credit_code=provider,
        provider_name="乳源某电商服务有限公司", payee_bank_account="6216600000000000001", payee_bank_name="中国银行乳源支行",
        amount_fen=amount_fen, spending_category=category, accepted_by=["u-leader"], became_due_at=MONDAY, **extra)


@dataclass
class Ruyuan:
    funds: httpx.AsyncClient
    claims: Producer
    namespace: str

    async def get(self, path: str, who=ADMIN) -> Any:
        r = await self.funds.get(path, headers=bearer(who))
        return r.json() if r.status_code == 200 else None

    async def post(self, path: str, body: Any, who, **kw: Any) -> httpx.Response:
        return await self.funds.post(path, json=body, headers={**bearer(who), **kw.pop("headers", {})}, **kw)

    async def status(self, award_id: str) -> str | None:
        award = await self.get(f"/awards/{award_id}")
        return award and award["status"]

    async def events(self, subject: str) -> list[dict[str, Any]]:
        return await read_events(self.funds.app.state.ctx.messaging.relay.nc, self.namespace, subject)

    async def reserved(self, event: ContractPaymentDue) -> None:
        await self.claims.emit(event, event.payment_due_id)
        await eventually(lambda: self.status(event.payment_due_id), expect="reserved")

    async def pay(self, award_id: str, justifications: list[dict[str, str]] | None = None,
                  requester=ADMIN) -> dict[str, Any]:
        body = {"award_id": award_id, "ratio_justifications": justifications or []}
        r = await self.post("/payments", body, requester)
        assert r.status_code == 201, r.text
        pid, sha = r.json()["payment_id"], r.json()["content_sha256"]
        for who in (LEADER, SIGNATORY):
            r = await self.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, who)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "executed", r.text
        return r.json()


@pytest_asyncio.fixture(loop_scope="session")
async def world(nats_url: str, database_url: str, namespace: str, tmp_path) -> AsyncIterator[Ruyuan]:
    settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    async with running_service(create_app, settings) as funds, \
            producer("claims", database_url, nats_url, namespace) as claims:
        w = Ruyuan(funds, claims, namespace)
        r = await w.post("/admin/clock", {"set_to": "2026-03-02T02:00:00Z"}, ADMIN)
        assert r.status_code == 200, r.text
        await claims.emit(ruyuan(), PROGRAM)
        await eventually(lambda: w.get(f"/programs/{PROGRAM}/balances"), description="program opened")
        r = await w.post(f"/programs/{PROGRAM}/releases", {"amount_yuan": "10,000,000.00",
                                                           "approval_reference": "乳电商领〔2023〕1号"}, FINANCE)
        assert r.status_code == 201, r.text
        yield w


async def test_contract_tranche_is_reserved_paid_with_two_approvals_and_reported(world: Ruyuan):
    await world.reserved(due("due-advance", 270_000 * YUAN, kind="advance"))
    # re-delivered: nothing changes (one reservation)
    await world.claims.emit(due("due-advance", 270_000 * YUAN, kind="advance"), "due-advance")
    award = await world.get("/awards/due-advance")
    assert award["kind"] == "contract_payment" and award["requires_publicity"] is False
    assert award["spending_category"] == "hardware"  # the item's, the tranche gave none
    assert award["tranche"]["tranche_kind"] == "advance" and award["tranche"]["contract_no"] == "RY-2023-ZB-01"

    paid = await world.pay("due-advance")
    assert paid["amount_fen"] == 270_000 * YUAN
    assert {a["role"] for a in paid["approvals"]} == {"leading_group", "contractor_signatory"}
    executed = await eventually(lambda: world.events("funds.evt.contract_payment_executed.v1"),
                                description="contract_payment_executed")
    data = executed[0]["data"]
    assert (data["payment_due_id"], data["contract_id"], data["tranche_code"]) == ("due-advance", "contract-1",
                                                                                  "t-due-advance")
    assert data["amount_fen"] == 270_000 * YUAN and data["spending_category"] == "hardware"
    assert data["bank_instruction"]["amount_fen"] == 270_000 * YUAN
    assert await world.events("funds.evt.payment_executed.v1") == []  # not an award's payment

    r = await world.post(f"/payments/{paid['payment_id']}/settlement", {"bank_txn_id": "BOC-1"}, SIGNATORY)
    assert r.status_code == 200, r.text
    settled = await eventually(lambda: world.events("funds.evt.payment_settled.v1"))
    assert settled[0]["data"]["award_id"] == "due-advance" and settled[0]["data"]["claim_id"] is None

    # over the item budget: refused as a value, with its event
    await world.claims.emit(due("due-over", 900_000 * YUAN), "due-over")
    await eventually(lambda: world.status("due-over"), expect="refused")
    refused = await eventually(lambda: world.events("funds.evt.contract_payment_refused.v1"))
    assert refused[0]["data"]["code"] == "ITEM_BUDGET_EXCEEDED" and refused[0]["data"]["payment_due_id"] == "due-over"


async def test_hardware_past_10_percent_is_refused_over_http(world: Ruyuan):
    # phase 1's hardware from its final accounts (决算): the plan never recorded it
    spending = await world.get(f"/programs/{PROGRAM}/spending", AUDITOR)
    hw = {r["rule"]: r for r in spending["rules"]}["hardware-decoration-max"]
    assert hw["status"] == "unverified" and hw["unverified_phases"] == ["first"]
    body = {"phase": "first", "document": "乳源首期项目决算报告", "measures": {"hardware": "1,500,000.00"}}
    r = await world.post(f"/programs/{PROGRAM}/history", body, FINANCE, headers={"Idempotency-Key": "hist-1"})
    assert r.status_code == 403
    r = await world.post(f"/programs/{PROGRAM}/history", body, ADMIN, headers={"Idempotency-Key": "hist-1"})
    assert r.status_code == 201, r.text
    r = await world.post(f"/programs/{PROGRAM}/history", {**body, "lines": {"nope": "1.00"}}, ADMIN)
    assert r.status_code == 422 and r.json()["field"] == "lines.nope", r.text
    r = await world.post(f"/programs/{PROGRAM}/history", {**body, "measures": {"Hard Ware": "1.00"}}, ADMIN)
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CODE", r.text

    await world.reserved(due("hw-1", 400_000 * YUAN, category="hardware"))
    await world.pay("hw-1")  # 1,900,000 = 9.5 %
    await world.reserved(due("hw-2", 200_000 * YUAN, category="hardware"))
    r = await world.post("/payments", {"award_id": "hw-2"}, ADMIN)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    problem = r.json()
    assert problem["code"] == "RATIO_LIMIT_EXCEEDED"
    assert problem["details"]["rule"] == "hardware-decoration-max"
    assert (problem["details"]["share_before"], problem["details"]["share_after"]) == ("9.50", "10.50")
    assert problem["details"]["limit_percent"] == "10"

    # two orders that each fit when requested; whichever executes second is refused at its final approval
    orders = {}
    for due_id in ("hw-3", "hw-4"):
        await world.reserved(due(due_id, 100_000 * YUAN, category="hardware"))
        r = await world.post("/payments", {"award_id": due_id}, ADMIN)
        assert r.status_code == 201, r.text
        orders[due_id] = (r.json()["payment_id"], r.json()["content_sha256"])
    for due_id in ("hw-3", "hw-4"):
        pid, sha = orders[due_id]
        r = await world.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, LEADER)
        assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
    pid, sha = orders["hw-3"]
    r = await world.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, SIGNATORY)
    assert r.json()["status"] == "executed", r.text  # exactly 10 %: allowed
    pid, sha = orders["hw-4"]
    r = await world.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, SIGNATORY)
    assert r.status_code == 409 and r.json()["code"] == "RATIO_LIMIT_EXCEEDED", r.text
    assert r.json()["details"]["share_after"] == "10.50"
    assert (await world.get(f"/payments/{pid}"))["status"] == "awaiting_approval"  # nothing changed
    spending = await world.get(f"/programs/{PROGRAM}/spending", AUDITOR)
    hw = {r["rule"]: r for r in spending["rules"]}["hardware-decoration-max"]
    # kept on actual spend, but the livestream item's whole budget is hardware: its plan would pass 10 %
    assert (hw["share"], hw["status"], hw["plan"]["share"]) == ("10.00", "at_risk", "12.00")
    cats = {c["code"]: c for c in spending["categories"]}
    assert cats["hardware"]["spent"]["fen"] == 500_000 * YUAN and cats["hardware"]["history"]["fen"] == 1_500_000 * YUAN
    assert spending["cumulative_fund"]["fen"] == 20_000_000 * YUAN
    assert spending["history"][0]["measures"]["hardware"]["source"] == "final_accounts"


async def test_logistics_minimum_needs_a_recorded_justification(world: Ruyuan):
    spending = await world.get(f"/programs/{PROGRAM}/spending", AUDITOR)
    logistics = {r["rule"]: r for r in spending["rules"]}["logistics-min"]
    assert logistics["status"] == "at_risk" and logistics["plan"]["share"] == "28.75"
    assert logistics["plan"]["status"] == "breached"
    # outside logistics: phase 1 6,450,000 + 3,550,000 now = 50 % exactly, still reachable
    await world.reserved(due("retail-1", 2_350_000 * YUAN, item="cloud-supermarket", line=RETAIL))
    await world.pay("retail-1")
    await world.reserved(due("online-1", 1_200_000 * YUAN, item="online-product-center"))
    await world.pay("online-1")
    await world.reserved(due("online-2", 100_000 * YUAN, item="online-product-center"))
    r = await world.post("/payments", {"award_id": "online-2"}, ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "RATIO_JUSTIFICATION_REQUIRED", r.text
    assert [w["rule"] for w in r.json()["details"]["warnings"]] == ["logistics-min"]
    assert "原则上不得低于50%" in r.json()["detail"] and "10,100,000.00元" in r.json()["detail"], r.text
    why = [{"rule_code": "logistics-min", "text": "首期已建成覆盖全县行政村的物流站点，二期按实施方案安排"}]
    # the departure is the leading group's decision: not the bureau's, not a member linked to the payee
    r = await world.post("/payments", {"award_id": "online-2", "ratio_justifications": why}, ADMIN)
    assert r.status_code == 403 and r.json()["code"] == "RATIO_DECISION_BY_LEADING_GROUP", r.text
    linked = person("Leader Qian", Role.LEADING_GROUP, linked=[PROVIDER])
    r = await world.post("/payments", {"award_id": "online-2", "ratio_justifications": why}, linked)
    assert r.status_code == 403 and r.json()["code"] == "RECUSAL_REQUIRED", r.text
    paid = await world.pay("online-2", why, requester=LEADER)
    assert paid["ratio_justifications"][0]["rule_code"] == "logistics-min"
    assert {c["rule"]: c["status"] for c in paid["ratio_checks"]}["logistics-min"] == "breached"
    executed = await eventually(lambda: _executed(world, "online-2"))
    (recorded,) = executed["ratio_justifications"]
    assert recorded["rule_code"] == "logistics-min" and recorded["recorded_by"] == LEADER.subject
    assert recorded["recorded_by_name"] == "Leader Zhao"
    spending = await world.get(f"/programs/{PROGRAM}/spending", AUDITOR)
    assert {r["rule"]: r for r in spending["rules"]}["logistics-min"]["status"] == "breached"


async def _executed(world: Ruyuan, due_id: str) -> dict[str, Any] | None:
    for e in await world.events("funds.evt.contract_payment_executed.v1"):
        if e["data"]["payment_due_id"] == due_id:
            return e["data"]
    return None


async def _balances(world: Ruyuan) -> dict[str, int]:
    return {a["account"]: a["balance_fen"] for a in (await world.get(f"/programs/{PROGRAM}/balances", AUDITOR))["accounts"]}


async def _verified(world: Ruyuan) -> list[Any]:
    async with world.funds.app.state.ctx.db.acquire() as conn:
        return (await verify_ledger(conn)).problems


async def test_a_split_tranche_is_reserved_on_each_item_and_its_hardware_part_counted(world: Ruyuan):
    """The 880,000.00 instalment of a package contract over both logistics items: 600,000.00 on
    the smart logistics centre, 280,000.00 on the stations' operation; a livestream instalment
    of 500,000.00 of which 360,000.00 buys hardware."""
    parts = [TranchePart(line_code=LOGISTICS, item_code="smart-logistics-center", amount_fen=600_000 * YUAN),
             TranchePart(line_code=LOGISTICS, item_code="logistics-network-operation", amount_fen=280_000 * YUAN)]
    await world.reserved(due("split-1", 880_000 * YUAN, item="smart-logistics-center", line=LOGISTICS, parts=parts))
    award = await world.get("/awards/split-1")
    assert [p["item_code"] for p in award["parts"]] == ["smart-logistics-center", "logistics-network-operation"]
    await world.pay("split-1")
    balances = await _balances(world)
    assert balances[f"spent:{LOGISTICS}/smart-logistics-center"] == 600_000 * YUAN
    assert balances[f"spent:{LOGISTICS}/logistics-network-operation"] == 280_000 * YUAN
    assert balances[f"budget:{LOGISTICS}/logistics-network-operation"] == 420_000 * YUAN

    await world.reserved(due("studio", 500_000 * YUAN, hardware_fen=360_000 * YUAN))
    await world.pay("studio")
    spending = await world.get(f"/programs/{PROGRAM}/spending", AUDITOR)
    cats = {c["code"]: c for c in spending["categories"]}
    assert cats["hardware"]["spent"]["fen"] == 360_000 * YUAN  # the part, not the whole 500,000.00
    assert {ln["code"]: ln for ln in spending["lines"]}[LOGISTICS]["spent"]["fen"] == 880_000 * YUAN
    assert await _verified(world) == []


async def test_default_of_the_joint_account_holder_returns_its_money_to_the_finance_bureau(world: Ruyuan):
    """Xinping §六 收回全部项目建设资金, on this program's joint account (held by PROVIDER): of the
    10,000,000.00 released, 270,000.00 was paid to the contractor; on its default that is
    receivable, the 9,730,000.00 left goes back to the finance bureau, nothing more is paid
    out of the joint account or released into it, and repayments go to the finance bureau."""
    await world.reserved(due("adv", 270_000 * YUAN, kind="advance"))
    paid = await world.pay("adv")
    await world.reserved(due("other", 100_000 * YUAN, item="cloud-supermarket", line=RETAIL, provider=OTHER_PROVIDER))
    order = await world.post("/payments", {"award_id": "other"}, ADMIN)
    assert order.status_code == 201, order.text
    body = {"credit_code": PROVIDER, "resolution_number": "乳电商领〔2026〕5号", "resolution_date": "2026-03-02"}
    r = await world.post(f"/programs/{PROGRAM}/defaults", body, LEADER)
    assert r.status_code == 409 and r.json()["code"] == "PAYMENTS_IN_FLIGHT", r.text  # the bank has not confirmed
    r = await world.post(f"/payments/{paid['payment_id']}/settlement", {"bank_txn_id": "BOC-9"}, SIGNATORY)
    assert r.status_code == 200, r.text
    r = await world.post(f"/programs/{PROGRAM}/defaults", body, LEADER)
    assert r.status_code == 201, r.text
    assert (r.json()["receivable_fen"], r.json()["returned_fen"]) == (270_000 * YUAN, 9_730_000 * YUAN)
    balances = await _balances(world)
    assert (balances["bank:joint"], balances["finance:bureau"]) == (0, 9_730_000 * YUAN)
    assert balances[f"clawback:{PROVIDER}"] == 270_000 * YUAN

    sha = order.json()["content_sha256"]
    r = await world.post(f"/payments/{order.json()['payment_id']}/approvals", {"content_sha256": sha}, LEADER)
    assert r.status_code == 409 and r.json()["code"] == "JOINT_ACCOUNT_FROZEN", r.text
    assert "共管账户" in r.json()["detail"]
    r = await world.post(f"/programs/{PROGRAM}/releases", {"amount_yuan": "1.00", "approval_reference": "x"}, FINANCE)
    assert r.status_code == 409 and r.json()["code"] == "JOINT_ACCOUNT_FROZEN", r.text

    repay = {"credit_code": PROVIDER, "amount_yuan": "100,000.00", "bank_reference": "CZ-2026-001"}
    r = await world.post(f"/programs/{PROGRAM}/repayments", repay, FINANCE)
    assert r.status_code == 201 and r.json()["outstanding_fen"] == 170_000 * YUAN, r.text
    r = await world.post(f"/programs/{PROGRAM}/repayments", {**repay, "amount_yuan": "170,000.01"}, FINANCE)
    assert r.status_code == 409 and r.json()["code"] == "REPAYMENT_EXCEEDS_RECEIVABLE", r.text
    assert "170,000.00元" in r.json()["detail"]
    balances = await _balances(world)
    assert (balances["bank:joint"], balances["finance:bureau"]) == (0, 9_830_000 * YUAN)
    defaulted = await eventually(lambda: world.events("funds.evt.contractor_defaulted.v1"))
    assert defaulted[0]["data"]["returned_fen"] == 9_730_000 * YUAN and defaulted[0]["data"]["joint_account_frozen"]
    repaid = await eventually(lambda: world.events("funds.evt.clawback_repaid.v1"))
    assert repaid[0]["data"]["paid_to"] == "finance_bureau"
    assert await _verified(world) == []


async def test_only_an_unlinked_leading_group_member_decides_and_the_books_refuse_unknown_accounts(world: Ruyuan):
    """Attacks: the contractor's signatory adds a justification with its approval; a database
    user writes a balance of an account family the books do not know."""
    await world.reserved(due("retail-x", 2_350_000 * YUAN, item="cloud-supermarket", line=RETAIL))
    await world.pay("retail-x")
    await world.reserved(due("online-x", 1_300_000 * YUAN, item="online-product-center"))
    why = [{"rule_code": "logistics-min", "text": "理由"}]
    r = await world.post("/payments", {"award_id": "online-x", "ratio_justifications": why}, LEADER)
    assert r.status_code == 201, r.text
    pid, sha = r.json()["payment_id"], r.json()["content_sha256"]
    r = await world.post(f"/payments/{pid}/approvals", {"content_sha256": sha, "ratio_justifications": why}, SIGNATORY)
    assert r.status_code == 403 and r.json()["code"] == "RATIO_DECISION_BY_LEADING_GROUP", r.text
    assert r.json()["title_zh"] == "资金使用比例的偏离只能由领导小组决定"
    async with world.funds.app.state.ctx.db.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO balances (program_code, account, normal_side) "
                               "VALUES ($1, 'bonus:someone', 'debit')", PROGRAM)
        with pytest.raises(asyncpg.CheckViolationError):  # the finance bureau is debit-normal
            await conn.execute("INSERT INTO balances (program_code, account, normal_side, credits_fen) "
                               "VALUES ($1, 'finance:bureau', 'credit', 1)", PROGRAM)
