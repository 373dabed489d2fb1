"""Issue 16: what funds tells notify so that no notice exists for an award without a
reservation (6), the program's own publicity length (11), and the registry's bank account as
the one source of truth for unpaid awards (9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ruralfund_common.contracts import ItemBudget, LineBudget, ProgramActivated, PublicityPublished
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.testing.services import running_service, service_settings
from ruralfund_common.testing.upstream import producer
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.app import create_app

from .conftest import ADMIN, CC, FINANCE, LEADER, SIGNATORY, World, approved

pytestmark = pytest.mark.integration

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def seven_day_program() -> ProgramActivated:
    """A program whose file says 公示 7 working days (a county may publicise longer than 5)."""
    fen = 1_000_000_00
    return ProgramActivated(
        program_code="xinping-2021", name="新平县2021年电子商务进农村综合示范项目后续", county_code="530427",
        county_name="新平县", year=2021, phase="follow-up", total_fen=fen,
        lines=[LineBudget(code="brand", name="农产品品牌推广建设体系", budget_fen=fen, items=[
            ItemBudget(code="brand-packaging", name="公共品牌升级打造", budget_fen=fen - 97_531_00, mode="reward"),
            ItemBudget(code="new-product", name="新品研发奖励", budget_fen=97_531_00, mode="reward"),
        ])],
        joint_account_bank="新平县某银行", joint_account_no="6222000000000000", activated_at=MONDAY,
        publicity_working_days=7,
    )


@pytest.fixture
async def world7(nats_url, database_url, namespace, tmp_path):
    settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    async with running_service(create_app, settings) as funds, \
            producer("claims", database_url, nats_url, namespace) as claims, \
            producer("notify", database_url, nats_url, namespace) as notify:
        w = World(funds, claims, notify, namespace, database_url)
        await w.clock("2026-03-02T02:00:00Z")
        await claims.emit(seven_day_program(), "xinping-2021")
        await eventually(lambda: w.get("/programs/xinping-2021/balances"), description="program opened")
        yield w


def published(award_id: str) -> PublicityPublished:
    return PublicityPublished(
        notice_id=f"n-{award_id}", award_id=award_id, claim_id=f"claim-{award_id}", program_code="xinping-2021",
        item_code="brand-packaging", published_at=MONDAY, starts_on="2026-03-02", ends_on="2026-03-10",
        url=f"http://notify/publicity/notices/n-{award_id}")


async def test_the_window_is_as_long_as_the_program_says(world7: World) -> None:
    """Published Monday 2026-03-02 with 公示 7 working days: day 7 is Tuesday 03-10, payable
    from 03-11 (a constant 5 would end on Friday 03-06)."""
    w = world7
    await w.claims.emit(approved("a-7"), "a-7")
    reserved = await eventually(lambda: _one(w, "funds.evt.award_reserved.v1"), description="reserved")
    assert reserved["publicity_working_days"] == 7  # notify publishes the notice with this length
    await w.notify.emit(published("a-7"), "a-7")
    await eventually(lambda: w.status("a-7"), expect="in_publicity")
    award = await w.get("/awards/a-7")
    assert (award["starts_on"], award["ends_on"], award["payable_from"]) == ("2026-03-02", "2026-03-10", "2026-03-11")
    await w.clock("2026-03-09T16:00:00Z")  # 00:00 on 03-10: day 7 of 7
    r = await w.post("/payments", {"award_id": "a-7"}, ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "PUBLICITY_NOT_ENDED", r.text


async def test_the_reservation_carries_what_the_notice_needs(world7: World) -> None:
    w = world7
    await w.claims.emit(approved("a-1"), "a-1")
    data = await eventually(lambda: _one(w, "funds.evt.award_reserved.v1"), description="reserved")
    assert data["item_name"] == "公共品牌升级打造" and data["line_code"] == "brand"
    assert data["credit_code"] == CC and data["enterprise_name"] == "新平礼好包装有限公司"
    assert data["requires_publicity"] is True and data["amount_fen"] == 246_900


async def test_a_budget_refusal_carries_the_figures(world7: World) -> None:
    """新品研发 has 97,531.00 yuan; an award of 100,000.00 is refused with both figures."""
    w = world7
    await w.claims.emit(approved("a-big", 100_000_00, item="new-product"), "a-big")
    data = await eventually(lambda: _one(w, "funds.evt.reservation_refused.v1"), description="refused")
    assert data["code"] == "ITEM_BUDGET_EXCEEDED"
    assert (data["amount_fen"], data["item_available_fen"]) == (100_000_00, 97_531_00)
    assert data["item_name"] == "新品研发奖励" and data["credit_code"] == CC
    assert data["enterprise_name"] == "新平礼好包装有限公司"
    # the same refusal in Chinese with its figures, for the claim's pages
    assert "97,531.00" in data["reason_zh"] and "100,000.00" in data["reason_zh"] and "预算不足" in data["reason_zh"]


async def _one(w: World, subject: str):
    found = await w.events(subject)
    return found[0]["data"] if found else None


def account_changed(account_no: str, at: datetime) -> EnterpriseBankAccountChanged:
    return EnterpriseBankAccountChanged(
        credit_code=CC, enterprise_name="新平礼好包装有限公司", bank_name="中国建设银行新平支行",
        account_no=account_no, previous_bank_name="中国农业银行新平县支行",
        previous_account_no="6228480000000000001", previous_contact_name="李经理",
        previous_contact_email="li@packaging.example", changed_by="u-admin", changed_at=at)


async def test_a_registry_change_moves_the_pending_payment_and_lapses_its_approval(world7: World) -> None:
    w = world7
    r = await w.post("/programs/xinping-2021/releases", {"amount_yuan": "10,000.00", "approval_reference": "r-1"},
                     FINANCE)
    assert r.status_code == 201, r.text
    await w.claims.emit(approved("a-pay", publicity=False), "a-pay")
    await eventually(lambda: w.status("a-pay"), expect="reserved")
    r = await w.post("/payments", {"award_id": "a-pay"}, ADMIN)
    assert r.status_code == 201, r.text
    pid, old_sha = r.json()["payment_id"], r.json()["content_sha256"]
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": old_sha}, LEADER)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text

    await w.claims.emit(account_changed("6217000000000000002", MONDAY + timedelta(hours=1)), CC)

    async def moved():
        p = await w.get(f"/payments/{pid}")
        return p if p["content"]["payee_bank_account"] == "6217000000000000002" else None

    payment = await eventually(moved, description="the pending payment moved to the registry's account")
    assert payment["content"]["payee_bank_name"] == "中国建设银行新平支行"
    assert payment["content_sha256"] != old_sha
    assert [a["valid"] for a in payment["approvals"]] == [False]  # the leader signed the old account
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": old_sha}, SIGNATORY)
    assert r.json()["code"] == "APPROVAL_CONTENT_CHANGED", r.text
    new_sha = payment["content_sha256"]
    for who in (LEADER, SIGNATORY):
        r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": new_sha}, who)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "executed", r.text
    [executed] = [e["data"] for e in await w.events("funds.evt.payment_executed.v1")]
    assert executed["bank_instruction"]["to_account"] == "6217000000000000002"

    # an older change arriving late (another order on the wire) does not move it back
    await w.claims.emit(account_changed("6217000000000000009", MONDAY), CC)
    await eventually(w.inbox, expect=4)  # program, approval, change, stale change: all handled
    award = json.dumps(await w.get("/awards/a-pay"), ensure_ascii=False)
    assert "6217000000000000002" in award and "6217000000000000009" not in award


async def test_an_approval_overtaken_by_a_registry_change_is_reserved_on_the_new_account(world7: World) -> None:
    """The approval (approved Monday 10:00) carried the old account; the registry changed at
    11:00 and that event arrived first: the award is created on the new account."""
    w = world7
    await w.claims.emit(account_changed("6217000000000000002", MONDAY + timedelta(hours=1)), CC)
    await eventually(w.inbox, expect=2)
    await w.claims.emit(approved("a-late"), "a-late")
    await eventually(lambda: w.status("a-late"), expect="reserved")
    award = await w.get("/awards/a-late")
    assert "6217000000000000002" in json.dumps(award, ensure_ascii=False), award
