"""Integration fixtures: funds running against real NATS JetStream and PostgreSQL, with claims
and notify outboxes to feed it events, a dev clock, and a reader of what funds published."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from ruralfund_common.auth import Role
from ruralfund_common.contracts import ClaimApproved, ItemBudget, LineBudget, ProgramActivated
from ruralfund_common.messaging import Namespace
from ruralfund_common.testing.openapi_check import check_answers_against_openapi
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import producer
from ruralfund_common.testing.wait import eventually
from ruralfund_funds.app import create_app

CC = "91530427MA6K0B0Q1Y"
PROVIDER = "91530427MA6DEM0008"
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
SIGNATORY = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
SYSTEM = person("Bank Link", Role.SYSTEM)
AUDITOR = person("Auditor Zhou", Role.AUDITOR)
ENTERPRISE = person("Packaging Co", Role.ENTERPRISE, credit_code=CC)
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def xinping(total_yuan: int = 1_500_000) -> ProgramActivated:
    fen = total_yuan * 100
    return ProgramActivated(
        program_code="xinping-2021", name="新平县2021年电子商务进农村综合示范项目后续", county_code="530427",
        county_name="新平县", year=2021, phase="follow-up", total_fen=fen,
        lines=[LineBudget(code="brand", name="农产品品牌推广建设体系", budget_fen=fen, items=[
            ItemBudget(code="brand-packaging", name="公共品牌升级打造", budget_fen=1_000_000_00, mode="reward"),
            ItemBudget(code="new-product", name="新品研发奖励", budget_fen=fen - 1_500_000_00 + 100_000_00,
                       mode="reward"),
            ItemBudget(code="anchor-training", name="带货主播孵化培训", budget_fen=400_000_00, mode="service"),
        ])],
        contractor_credit_code=PROVIDER, contractor_name="承办企业",
        joint_account_bank="新平县某银行", joint_account_no="6222000000000000", activated_at=MONDAY,
    )


def approved(award_id: str, amount_fen: int = 246_900, item: str = "brand-packaging", *,
             publicity: bool = True, payee: str = CC) -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"claim-{award_id}", award_id=award_id, program_code="xinping-2021", line_code="brand",
        item_code=item, item_name="公共品牌升级打造", credit_code=payee, enterprise_name="新平礼好包装有限公司",
        payee_bank_account="6228480000000000001", payee_bank_name="中国农业银行新平县支行", amount_fen=amount_fen,
        rule_version="per_unit@1:abc", period="2021Q3", approved_by="u-leader", approved_at=MONDAY,
        requires_publicity=publicity,
    )


# Another service's outbox relayed over real JetStream (as claims or notify would).
Upstream = producer


@dataclass
class World:
    funds: httpx.AsyncClient
    claims: Upstream
    notify: Upstream
    namespace: str
    database_url: str

    async def clock(self, instant: str) -> None:
        r = await self.funds.post("/admin/clock", json={"set_to": instant}, headers=bearer(ADMIN))
        assert r.status_code == 200, r.text

    async def get(self, path: str, who=ADMIN) -> Any:
        r = await self.funds.get(path, headers=bearer(who))
        return r.json() if r.status_code == 200 else None

    async def post(self, path: str, body: Any, who, **kw: Any) -> httpx.Response:
        return await self.funds.post(path, json=body, headers={**bearer(who), **kw.pop("headers", {})}, **kw)

    async def status(self, award_id: str) -> str | None:
        award = await self.get(f"/awards/{award_id}")
        return award and award["status"]

    async def balances(self) -> dict[str, int]:
        bal = await self.get("/programs/xinping-2021/balances")
        assert bal["trial_balance"]["balanced"]
        return {a["account"]: a["balance_fen"] for a in bal["accounts"]}

    async def inbox(self) -> int:
        async with self.funds.app.state.ctx.pool.acquire() as c:
            return await c.fetchval("SELECT count(*) FROM inbox")

    async def events(self, subject: str) -> list[dict[str, Any]]:
        """Everything funds has published on ``subject`` so far (an ephemeral consumer)."""
        nc = self.funds.app.state.ctx.messaging.relay.nc
        ns = Namespace(self.namespace)
        sub = await nc.jetstream().pull_subscribe(ns.subject(subject), stream=ns.stream("funds"))
        out: list[dict[str, Any]] = []
        try:
            while True:
                out += [json.loads(m.data) for m in await sub.fetch(100, timeout=0.5)]
        except Exception:  # noqa: BLE001 - a fetch timeout means we have read everything
            pass
        await sub.unsubscribe()
        return out

    async def pay(self, award_id: str, *, leader=LEADER, signatory=SIGNATORY) -> str:
        r = await self.post("/payments", {"award_id": award_id}, ADMIN)
        assert r.status_code == 201, r.text
        pid, sha = r.json()["payment_id"], r.json()["content_sha256"]
        for who in (leader, signatory):
            r = await self.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, who)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "executed", r.text
        return pid


@pytest_asyncio.fixture(loop_scope="session")
async def world(nats_url: str, database_url: str, namespace: str, tmp_path) -> AsyncIterator[World]:
    settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    async with running_service(create_app, settings) as funds, \
            Upstream("claims", database_url, nats_url, namespace) as claims, \
            Upstream("notify", database_url, nats_url, namespace) as notify:
        # every JSON answer these tests get must match funds' own OpenAPI document (#17, #19)
        check_answers_against_openapi(funds, funds.app)
        w = World(funds, claims, notify, namespace, database_url)
        await w.clock("2026-03-02T02:00:00Z")
        await claims.emit(xinping(), "xinping-2021")
        await eventually(lambda: w.get("/programs/xinping-2021/balances"), description="program opened")
        yield w
