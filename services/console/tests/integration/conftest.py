"""Fixtures: the console against real claims and funds (in-process, real NATS JetStream and
PostgreSQL), with a payment order awaiting approval and dev users in a users file; and the same
world signing in at a real OpenID provider (``idp_world``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.auth import AuthSettings, Role, UserDirectory, install_auth
from ruralfund_common.contracts import ClaimApproved, ItemBudget, LineBudget, ProgramActivated
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.infra import create_database, drop_database, free_port
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import producer
from ruralfund_common.testing.wait import eventually
from ruralfund_console.app import create_app as console_app
from ruralfund_console.settings import ConsoleSettings
from ruralfund_funds.app import create_app as funds_app
from ruralfund_notify.app import create_app as notify_app
from ruralfund_notify.settings import NotifySettings

from .idp import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT,
    RealIdp,
    port_below_ephemeral_range,
    real_idp,
    signing_jwk,
)

PROVIDER = "91530427MA6DEM0008"
ENTERPRISE_CODE = with_check_character("91530427MA6K5XQ21")  # registered in Xinping
OTHER_CODE = with_check_character("92530427MA6T00012")  # a second Xinping enterprise
PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
PAYEE = "91530427MA6K0B0Q1Y"
XINPING_YAML = (PROGRAMS / "xinping-2021.yaml").read_bytes()
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)
FINANCE = person("Finance Li", Role.FINANCE_BUREAU)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _program() -> ProgramActivated:
    fen = 1_500_000_00
    return ProgramActivated(
        program_code="xinping-2021", name="新平县2021年电子商务进农村综合示范项目后续", county_code="530427",
        county_name="新平县", year=2021, phase="follow-up", total_fen=fen,
        lines=[LineBudget(code="brand", name="农产品品牌推广建设体系", budget_fen=fen, items=[
            ItemBudget(code="brand-packaging", name="公共品牌升级打造", budget_fen=fen, mode="reward")])],
        contractor_credit_code=PROVIDER, contractor_name="承办企业",
        joint_account_bank="新平县某银行", joint_account_no="6222000000000000", activated_at=MONDAY,
    )


def _approved(award_id: str, amount_fen: int) -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"claim-{award_id}", award_id=award_id, program_code="xinping-2021", line_code="brand",
        item_code="brand-packaging", item_name="公共品牌升级打造", credit_code=PAYEE,
        enterprise_name="新平礼好包装有限公司", payee_bank_account="6228480000000000001",
        payee_bank_name="中国农业银行新平县支行", amount_fen=amount_fen, rule_version="per_unit@1:abc",
        period="2021Q3", approved_by="u-leader", approved_at=MONDAY, requires_publicity=False,
    )


@dataclass
class World:
    console: httpx.AsyncClient
    app: Any
    funds: httpx.AsyncClient
    users: UserDirectory
    order: dict
    claims: httpx.AsyncClient
    claims_database_url: str = ""
    nats_url: str = ""
    claims_namespace: str = ""
    # the console's clients by service (the very dict its Services reads: a fixture may plug in
    # a real notify), and the stand-in claims producer that fed funds its events
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    upstream: Any = None

    async def load_xinping(self) -> None:
        """The Xinping program in the (real) claims service, as the bureau loads it."""
        r = await self.claims.post("/programs", content=XINPING_YAML,
                                   headers={**bearer(ADMIN), "Content-Type": "application/yaml"})
        assert r.status_code == 201, r.text

    async def form(self, path: str) -> tuple[str, str]:
        """The page at ``path`` (200) and its CSRF token."""
        page = await self.console.get(path)
        assert page.status_code == 200, page.text
        return page.text, CSRF.search(page.text).group(1)

    @asynccontextmanager
    async def funds_facts(self) -> AsyncIterator[Any]:
        """Funds' facts about awards as claims hears them (reserved, publicity, paid): an outbox
        beside claims' own database, relayed on claims' subjects. The world's funds service
        keeps its own synthetic program, so a claim made here reaches funds only this way."""
        async with producer("funds", self.claims_database_url, self.nats_url, self.claims_namespace) as p:
            yield p

    async def sign_in(self, name: str) -> str:
        """Signs ``name`` in through the sign-in form; the home page's HTML."""
        console, users = self.console, self.users
        console.cookies.clear()
        page = await console.get("/signin")
        assert page.status_code == 200 and name in page.text, page.text
        r = await console.post("/signin", data={"name": users.get(name).subject,
                                                "csrf": CSRF.search(page.text).group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/", r.text
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        home = await console.get("/")
        assert home.status_code == 200, home.text
        return home.text


@pytest_asyncio.fixture(loop_scope="session")
async def world(nats_url, database_url, pg_admin_dsn, namespace, tmp_path: Path) -> AsyncIterator[World]:
    claims_db_name = f"t_{uuid.uuid4().hex[:12]}"
    claims_db = await create_database(pg_admin_dsn, claims_db_name)
    users = UserDirectory(tmp_path / "users.json")
    users.create("赵组长", [Role.LEADING_GROUP])
    users.create("陈签字人", [Role.CONTRACTOR_SIGNATORY])
    users.create("王科长", [Role.BUREAU_ADMIN])
    users.create("钱会计", [Role.FINANCE_BUREAU])
    users.create("吴审计", [Role.AUDITOR])
    users.create("李经理", [Role.ENTERPRISE], credit_code=ENTERPRISE_CODE)
    users.create("周经理", [Role.ENTERPRISE], credit_code=OTHER_CODE)
    # a member whose relatives run 李经理's enterprise and the order's payee: must recuse from both
    users.create("孙委员", [Role.LEADING_GROUP], linked_credit_codes=[ENTERPRISE_CODE, PAYEE])
    funds_settings = service_settings("funds", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                      dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    # the real claims service answers /programs and /claims; its own database and subjects
    claims_settings = service_settings("claims", nats_url=nats_url, database_url=claims_db,
                                       namespace=f"{namespace}c")
    try:
        async with running_service(funds_app, funds_settings) as funds, \
                running_service(claims_app, claims_settings) as claims, \
                producer("claims", database_url, nats_url, namespace) as upstream:
            order = await _an_order_awaiting_approval(funds, upstream)
            clients = {"claims": claims, "funds": funds, "logistics": claims, "notify": claims}
            app = console_app(ConsoleSettings(users_file=str(users.path), session_secret="s" * 32), clients=clients)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://console.test") as console:
                yield World(console, app, funds, users, order, claims, claims_db, nats_url, f"{namespace}c",
                            clients=clients, upstream=upstream)
    finally:
        await drop_database(pg_admin_dsn, claims_db_name)


async def _an_order_awaiting_approval(funds: httpx.AsyncClient, upstream) -> dict:
    r = await funds.post("/admin/clock", json={"set_to": MONDAY.isoformat()}, headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    await upstream.emit(_program(), "xinping-2021")
    await eventually(lambda: _ok(funds, "/programs/xinping-2021/balances"), description="program opened")
    r = await funds.post("/programs/xinping-2021/releases", json={"amount_yuan": "500,000.00",
                         "approval_reference": "新电商领〔2026〕1号"}, headers=bearer(FINANCE))
    assert r.status_code == 201, r.text
    await upstream.emit(_approved("award-c1", 97_531_00), "claim-award-c1")
    await eventually(lambda: _ok(funds, "/awards/award-c1"), description="award reserved")
    r = await funds.post("/admin/clock", json={"set_to": "2026-03-02T21:00:00Z"}, headers=bearer(ADMIN))
    r = await funds.post("/payments", json={"award_id": "award-c1"}, headers=bearer(ADMIN))
    assert r.status_code == 201, r.text
    return r.json()


async def _ok(client: httpx.AsyncClient, path: str) -> bool | None:
    r = await client.get(path, headers=bearer(ADMIN))
    return True if r.status_code == 200 else None


@dataclass
class Reviewing:
    """Xinping loaded in the real claims service, two enterprises registered and three claims
    submitted: 李经理's for 2023Q3 and 2023Q4, 周经理's for 2023Q3."""

    world: World
    first: dict
    second: dict
    other: dict

    async def claim(self, claim_id: str) -> dict:
        r = await self.world.claims.get(f"/claims/{claim_id}", headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        return r.json()


def _enterprise(code: str, name: str) -> dict:
    return {"credit_code": code, "name": name, "kind": "enterprise", "program_code": "xinping-2021",
            "contact": {"name": "李华", "email": "lihua@example.cn", "phone": "0877-7012345"},
            "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": "6228 4800 0000 0000 017"}}


@pytest_asyncio.fixture(loop_scope="session")
async def reviewing(world: World) -> Reviewing:
    admin, claims = bearer(ADMIN), world.claims
    await world.load_xinping()
    for code, name in ((ENTERPRISE_CODE, "新平礼好农业有限公司"), (OTHER_CODE, "新平县嘎洒农产品合作社")):
        r = await claims.post("/enterprises", headers=admin, json=_enterprise(code, name))
        assert r.status_code == 201, r.text
    made = []
    for who, quarter, units in (("李经理", "2023Q3", 12_345), ("李经理", "2023Q4", 20_000), ("周经理", "2023Q3", 15_000)):
        r = await claims.post("/claims", headers=bearer(world.users.get(who)), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": quarter, "units": units}})
        assert r.status_code == 201, r.text
        made.append(r.json())
    return Reviewing(world, *made)


# ---------------------------------------------------------------- sign-in at a real OpenID provider

# the operator's mapping (RURALFUND_AUTH_OIDC_ROLE_MAP): services and console read the same one
ROLE_MAP = {"county-bureau": "bureau_admin", "xinping-firms": "enterprise", "county-leaders": "leading_group"}
IDP_ACCOUNTS = {  # the IdP's people and their groups (claim `groups`)
    "wang": {"name": "王科长", "groups": ["county-bureau", "county-canteen"]},
    "zhao": {"name": "赵师傅", "groups": ["county-canteen"]},  # nothing of ours
    "li": {"name": "李经理", "groups": ["xinping-firms"], "credit_code": ENTERPRISE_CODE},
}


# where Chromium reaches a console that signs in at the IdP: `localhost`, so the console and the
# IdP (127.0.0.1) are different sites for the browser, as they are in a county
BROWSER_ORIGIN = f"http://localhost:{port_below_ephemeral_range()}"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def idps(tmp_path_factory) -> AsyncIterator[tuple[RealIdp, RealIdp]]:
    """The county's IdP, and another one with the SAME signing key but its own issuer (so only
    the issuer check can tell their tokens apart)."""
    keys = [signing_jwk("county-1")]
    logs = tmp_path_factory.mktemp("idp")
    async with real_idp(IDP_ACCOUNTS, keys, logs / "county.log", [BROWSER_ORIGIN]) as county, \
            real_idp(IDP_ACCOUNTS, keys, logs / "other.log") as other:
        yield county, other


@dataclass
class IdpWorld:
    world: World
    idp: RealIdp
    other_idp: RealIdp
    auth: AuthSettings
    stack: AsyncExitStack

    async def console(self, client_id: str = CLIENT_ID, secret: str | None = CLIENT_SECRET,
                      redirect_url: str = REDIRECT, issuer: str | None = None,
                      auth: AuthSettings | None = None) -> Any:
        """A console signing in at the county IdP as ``client_id``, over the world's services
        (``issuer``, ``auth``: a misconfigured one)."""
        settings = ConsoleSettings(session_secret="s" * 32, oidc_issuer=issuer or self.idp.issuer, oidc_client_id=client_id,
                                   oidc_client_secret=secret, oidc_redirect_url=redirect_url,
                                   oidc_scopes="openid profile groups", oidc_resource=AUDIENCE)
        w = self.world
        app = console_app(settings, clients={"claims": w.claims, "funds": w.funds, "logistics": w.claims,
                                             "notify": w.claims}, auth_settings=auth or self.auth)
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        return app


@pytest_asyncio.fixture(loop_scope="session")
async def idp_world(world: World, idps: tuple[RealIdp, RealIdp]) -> AsyncIterator[IdpWorld]:
    county, other = idps
    auth = AuthSettings(oidc_jwks_url=county.jwks_url, oidc_issuer=county.issuer, oidc_audience=AUDIENCE,
                        oidc_roles_claim="groups", oidc_role_map=ROLE_MAP)
    for service in (world.claims, world.funds):
        install_auth(service.app, auth)  # the services accept the county IdP's access tokens
    async with AsyncExitStack() as stack:
        yield IdpWorld(world, county, other, auth, stack)


PROVIDER_CODE = with_check_character("91530427MA6P00071")  # a training company in Xinping


@pytest_asyncio.fixture(loop_scope="session")
async def contract(reviewing: Reviewing) -> dict:
    """An anchor-training service contract (购买服务) with two milestones, as claims recorded it;
    Ruyuan's program (which has an implementation plan) is loaded too."""
    admin, claims = bearer(ADMIN), reviewing.world.claims
    body = _enterprise(PROVIDER_CODE, "新平县主播培训有限公司") | {"kind": "service_provider"}
    r = await claims.post("/enterprises", headers=admin, json=body)
    assert r.status_code == 201, r.text
    r = await claims.post("/programs/xinping-2021/contracts", headers=admin, json={
        "item_code": "anchor-training", "contract_no": "XP-2023-FW-009", "provider_credit_code": PROVIDER_CODE,
        "amount_yuan": "480,000.00", "signed_on": "2023-05-10", "ends_on": "2023-12-31", "procurement": "竞争性磋商",
        "milestones": [{"code": "course-plan", "name": "培训方案备案", "due_on": "2023-06-15"},
                       {"code": "final-report", "name": "项目总结报告", "due_on": "2023-12-20"}]})
    assert r.status_code == 201, r.text
    ruyuan = await claims.post("/programs", content=(PROGRAMS / "ruyuan-2021-p2.yaml").read_bytes(),
                               headers={**admin, "Content-Type": "application/yaml"})
    assert ruyuan.status_code == 201, ruyuan.text
    return r.json()


@dataclass
class Objected:
    """A real notify beside the world's funds (same subjects, same clock): an award that needs
    publicity, its notice published, and a citizen's objection filed through the public form."""

    world: World
    notify: httpx.AsyncClient
    notice: dict
    objection_id: str


OBJECTION_REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"


@pytest_asyncio.fixture(loop_scope="session")
async def objected(world: World, nats_url, database_url, namespace, tmp_path: Path) -> AsyncIterator[Objected]:
    settings = service_settings("notify", nats_url=nats_url, database_url=database_url, namespace=namespace,
                                dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar")
    # no mail server in these tests: mails wait for their retry, nothing here reads them
    own = NotifySettings(public_base_url="http://notify.test", smtp_port=free_port(), mail_retry_base_seconds=3600,
                         mail_retry_max_seconds=3600)
    async with running_service(partial(notify_app, notify_settings=own), settings) as notify:
        world.clients["notify"] = notify
        approved = _approved("award-p1", 50_000_00).model_copy(update={"claim_id": "claim-p1",
                                                                       "requires_publicity": True})
        await world.upstream.emit(approved, "claim-p1")

        async def published() -> dict | None:
            r = await notify.get("/notices", params={"status": "published"}, headers=bearer(ADMIN))
            found = [n for n in r.json()["items"] if n["award_id"] == "award-p1"] if r.status_code == 200 else []
            return found[0] if found else None

        notice = await eventually(published, timeout=30, description="the award's notice published")
        page = await notify.get(f"/publicity/notices/{notice['id']}")
        token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert token, page.text
        r = await notify.post(f"/publicity/notices/{notice['id']}/objections", headers={"Accept": "text/html"},
                              data={"form_token": token.group(1), "name": "李四", "contact": "13987654321",
                                    "email": "", "reason": OBJECTION_REASON})
        assert r.status_code == 201, r.text
        listed = await notify.get("/objections", params={"notice_id": notice["id"]}, headers=bearer(ADMIN))
        [objection] = listed.json()["items"]
        yield Objected(world, notify, notice, objection["id"])
