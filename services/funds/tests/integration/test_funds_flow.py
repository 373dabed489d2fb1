"""Funds over real NATS JetStream + PostgreSQL: program → reservation → publicity → dual approval → payment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.contracts import (
    ClaimApproved,
    ItemBudget,
    LineBudget,
    ProgramActivated,
    PublicityPublished,
)
from ruralfund_common.messaging import Namespace
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import producer
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.app import create_app

pytestmark = pytest.mark.integration

CC_ENTERPRISE = "91530427MA6K00000X"
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
BOTH = person("Double Hat", Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY)


def program(total_fen: int = 1_500_000_00) -> ProgramActivated:
    return ProgramActivated(
        program_code="xinping-2021", name="新平县2021年电子商务进农村综合示范项目后续", county_code="530427",
        county_name="新平县", year=2021, phase="follow-up", total_fen=total_fen,
        lines=[LineBudget(code="brand", name="农产品品牌推广建设体系", budget_fen=total_fen, items=[
            ItemBudget(code="brand-packaging", name="公共品牌升级打造", budget_fen=total_fen - 100_00, mode="reward"),
            ItemBudget(code="new-product", name="新品研发奖励", budget_fen=100_00, mode="reward"),
        ])],
        joint_account_bank="demo bank", joint_account_no="6222000000000000", activated_at=datetime.now(UTC),
    )


def approved(award_id: str, amount_fen: int, item: str = "brand-packaging") -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"claim-{award_id}", award_id=award_id, program_code="xinping-2021", line_code="brand",
        item_code=item, item_name="公共品牌升级打造", credit_code=CC_ENTERPRISE, enterprise_name="新平某农业公司",
        payee_bank_account="6228480000000000", payee_bank_name="农业银行新平支行", amount_fen=amount_fen,
        rule_version="per_unit@1:abc", period="2021Q3", approved_by="u-leader", approved_at=datetime.now(UTC),
    )


# Another service's outbox relayed over real JetStream (as claims or notify would).
Upstream = producer


async def _get(client, path, who=ADMIN):
    r = await client.get(path, headers=bearer(who))
    return r.json() if r.status_code == 200 else None


async def test_award_is_paid_only_after_publicity_and_two_different_approvers(nats_url, database_url, namespace, tmp_path):
    settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                dev_clock_file=tmp_path / "clock.json")
    async with running_service(create_app, settings) as funds, \
            Upstream("claims", database_url, nats_url, namespace) as claims, \
            Upstream("notify", database_url, nats_url, namespace) as notify:
        # Monday 2026-03-02 10:00 in Shanghai
        r = await funds.post("/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"}, headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        # publication arrives before the approval (different streams): order must not matter
        await notify.emit(PublicityPublished(
            notice_id="n-1", award_id="award-1", claim_id="claim-award-1", program_code="xinping-2021",
            item_code="brand-packaging", published_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
            starts_on="2026-03-02", ends_on="2026-03-06", url="http://notify/publicity/notices/n-1"), "award-1")
        await claims.emit(program(), "xinping-2021")
        await claims.emit(approved("award-1", 246_900), "award-1")

        award = await eventually(lambda: _get(funds, "/awards/award-1"), description="award reserved")
        await eventually(lambda: _status(funds, "award-1"), expect="in_publicity")
        award = await _get(funds, "/awards/award-1")
        assert (award["starts_on"], award["ends_on"], award["payable_from"]) == ("2026-03-02", "2026-03-06", "2026-03-07")

        r = await funds.post("/programs/xinping-2021/releases", json={"amount_yuan": "1,000,000.00", "approval_reference": "领导小组〔2026〕1号"},
                             headers=bearer(FINANCE))
        assert r.status_code == 201, r.text
        r = await funds.post("/programs/xinping-2021/releases", json={"amount_yuan": "900,000,000.00", "approval_reference": "r"},
                             headers=bearer(FINANCE))
        problem = r.json()
        assert r.status_code == 409 and problem["code"] == "RELEASE_EXCEEDS_PROGRAM_TOTAL", r.text
        assert problem["field"] == "amount_yuan", problem  # the ledger cannot know it: the edge names it

        r = await funds.post("/payments", json={"award_id": "award-1"}, headers=bearer(ADMIN))
        assert r.status_code == 409 and r.json()["code"] == "PUBLICITY_NOT_ENDED", r.text

        await funds.post("/admin/clock", json={"set_to": "2026-03-06T15:59:00Z"}, headers=bearer(ADMIN))  # 23:59 day 5
        r = await funds.post("/payments", json={"award_id": "award-1"}, headers=bearer(ADMIN))
        assert r.json()["code"] == "PUBLICITY_NOT_ENDED"

        await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"}, headers=bearer(ADMIN))  # 00:00 on 03-07
        r = await funds.post("/payments", json={"award_id": "award-1"}, headers=bearer(ADMIN), )
        assert r.status_code == 201, r.text
        payment = r.json()
        pid, sha = payment["payment_id"], payment["content_sha256"]
        assert payment["content"]["amount_fen"] == 246_900

        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": "0" * 64}, headers=bearer(LEADER))
        assert r.json()["code"] == "APPROVAL_CONTENT_CHANGED"
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(BOTH))
        assert r.status_code == 200 and r.json()["status"] == "awaiting_approval"
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(BOTH))
        assert r.json()["code"] == "SAME_PERSON_BOTH_APPROVALS"
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(ADMIN))
        assert r.status_code == 403
        r = await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha}, headers=bearer(SIGNATORY))
        assert r.status_code == 200 and r.json()["status"] == "executed", r.text

        r = await funds.post("/payments", json={"award_id": "award-1"}, headers=bearer(ADMIN))
        assert r.json()["code"] == "ALREADY_PAID"

        bal = await _get(funds, "/programs/xinping-2021/balances")
        assert bal["trial_balance"]["balanced"]
        by = {a["account"]: a["balance_fen"] for a in bal["accounts"]}
        assert by["bank:joint"] == 1_000_000_00 - 246_900
        assert by[f"payee:{CC_ENTERPRISE}"] == 246_900
        assert by["spent:brand/brand-packaging"] == 246_900
        assert by["reserved:brand/brand-packaging/award-1"] == 0

        executed = await _read_events(funds, namespace, "funds.evt.payment_executed.v1")
        assert len(executed) == 1 and executed[0]["data"]["amount_fen"] == 246_900
        assert {a["role"] for a in executed[0]["data"]["approvals"]} == {"leading_group", "contractor_signatory"}


async def _status(client, award_id):
    award = await _get(client, f"/awards/{award_id}")
    return award and award["status"]


async def _read_events(client, namespace, subject):
    import json

    nc = client.app.state.ctx.messaging.relay.nc
    ns = Namespace(namespace)
    js = nc.jetstream()
    sub = await js.pull_subscribe(ns.subject(subject), stream=ns.stream(subject.split(".")[0]))
    out = []
    try:
        while True:
            msgs = await sub.fetch(100, timeout=1)
            out += [json.loads(m.data) for m in msgs]
    except Exception:
        pass
    await sub.unsubscribe()
    return out


async def test_over_reservation_is_refused_with_reason_event(nats_url, database_url, namespace, tmp_path):
    settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace)
    async with running_service(create_app, settings) as funds, \
            Upstream("claims", database_url, nats_url, namespace) as claims:
        await claims.emit(program(), "xinping-2021")
        await claims.emit(approved("a-ok", 100_00, item="new-product"), "a-ok")
        await claims.emit(approved("a-over", 1, item="new-product"), "a-over")  # budget exhausted by a-ok
        await eventually(lambda: _status(funds, "a-over"), expect="refused")
        assert await _status(funds, "a-ok") == "reserved"
        refused = await eventually(lambda: _read_events(funds, namespace, "funds.evt.reservation_refused.v1"))
        assert refused[0]["data"]["code"] == "ITEM_BUDGET_EXCEEDED"
        assert refused[0]["data"]["award_id"] == "a-over"
        # duplicate approval event (same award) changes nothing
        await claims.emit(approved("a-ok", 100_00, item="new-product"), "a-ok")
        bal = await _get(funds, "/programs/xinping-2021/balances")
        by = {a["account"]: a["balance_fen"] for a in bal["accounts"]}
        await eventually(lambda: _count_inbox(funds), expect=4)
        bal = await _get(funds, "/programs/xinping-2021/balances")
        assert {a["account"]: a["balance_fen"] for a in bal["accounts"]} == by
        assert by["reserved:brand/new-product/a-ok"] == 100_00 and by["budget:brand/new-product"] == 0


async def _count_inbox(client):
    async with client.app.state.ctx.pool.acquire() as c:
        return await c.fetchval("SELECT count(*) FROM inbox")
