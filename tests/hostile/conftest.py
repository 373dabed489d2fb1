"""Hostile HTTP input: each service running in-process on real NATS JetStream and PostgreSQL,
with a little real data in it (so fuzzed requests also reach existing rows), and the
problem+json rules every refusal must follow.

Test modules cannot import this conftest (``--import-mode=importlib``): what they share is
handed out by the ``serve`` and ``hostile`` fixtures.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

import httpx
import hypothesis
import pytest
import pytest_asyncio
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from ruralfund_common.auth import Principal, Role
from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    EnterpriseRegistered,
    ItemBudget,
    LineBudget,
    ProgramActivated,
)
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.http import GENERIC_TITLES_ZH
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.upstream import Producer, producer
from ruralfund_common.testing.wait import eventually
from schemathesis import GenerationMode

SERVICES: Final = ("claims", "funds", "logistics", "notify")
PROGRAMS: Final = Path(__file__).resolve().parents[2] / "programs"
PROBLEM_MEMBERS: Final = ("type", "title", "status", "detail")

LOCAL: Final = with_check_character("91530427MA6K5XQ21")  # a Xinping company
OTHER: Final = with_check_character("92530427MA6T00012")  # another Xinping company
CONTRACTOR: Final = with_check_character("91530427MA6DEM000")
MONDAY: Final = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

ADMIN: Final = person("Hostile Admin", Role.BUREAU_ADMIN)
PEOPLE: Final[dict[str, Principal]] = {
    "bureau_admin": ADMIN,
    "leading_group": person("Hostile Member", Role.LEADING_GROUP),
    "contractor_signatory": person("Hostile Signatory", Role.CONTRACTOR_SIGNATORY),
    "finance_bureau": person("Hostile Finance", Role.FINANCE_BUREAU),
    "enterprise": person("Hostile Enterprise", Role.ENTERPRISE, credit_code=LOCAL),
    "auditor": person("Hostile Auditor", Role.AUDITOR),
    "system": person("Hostile System", Role.SYSTEM),
}


EVERY_ROLE: Final = Principal(
    subject="u-hostile-every-role",
    name="Hostile Every Role",
    roles=frozenset(Role),  # read-only is an auditor with no other role: this one writes
    credit_code=LOCAL,
)


# ------------------------------------------------------------------------------ problem rules


def problem_violation(status: int, headers: Mapping[str, str], content: bytes) -> str | None:
    """Why a response breaks the edge's contract, or None: no 5xx, and every 4xx is an RFC 9457
    problem+json body with type/title/status/detail whose ``field`` names the first invalid
    field when there is one, and which a person can read in Chinese (:func:`chinese_violation`)."""
    if status >= 500:
        return f"server error {status}: {content[:300]!r}"
    if not 400 <= status < 500:
        return None
    media = headers.get("content-type", "")
    if not media.startswith("application/problem+json"):
        return (
            f"{status} with content-type {media!r}, not application/problem+json: {content[:200]!r}"
        )
    try:
        body = json.loads(content)
    except ValueError:
        return f"{status} problem body is not JSON: {content[:200]!r}"
    if not isinstance(body, dict):
        return f"{status} problem body is not an object: {content[:200]!r}"
    missing = [m for m in PROBLEM_MEMBERS if not body.get(m) and body.get(m) != 0]
    if missing:
        return f"{status} problem lacks {missing}: {body}"
    if body["status"] != status:
        return f"problem says status {body['status']} but the response is {status}"
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0].get("field")
        if first and body.get("field") != first:
            return f"{status} problem lists field {first!r} but its field is {body.get('field')!r}"
    return chinese_violation(body)  # every refusal a person can meet, in Chinese (issue 17)


_CJK: Final = re.compile(r"[\u3400-\u9fff]")


def chinese_violation(body: Mapping[str, Any]) -> str | None:
    """Why a refusal would leave a county clerk or an enterprise reading English, or None: it
    needs a ``title_zh`` that says which refusal it is (not the generic by-status one, "冲突"
    for every 409) and a ``detail_zh`` in Chinese (issue 17)."""
    title, detail = body.get("title_zh"), body.get("detail_zh")
    if not title or title in GENERIC_TITLES_ZH:
        return f"{body.get('status')} {body.get('code')}: title_zh {title!r} does not say which refusal this is"
    if not isinstance(detail, str) or not _CJK.search(detail):
        return f"{body.get('status')} {body.get('code')}: no Chinese detail_zh ({detail!r}); detail {body.get('detail')!r}"
    return None


def assert_chinese(r: httpx.Response) -> dict[str, Any]:
    """A problem+json refusal a person can read in Chinese: specific title_zh, detail_zh."""
    violation = problem_violation(r.status_code, r.headers, r.content) if r.status_code < 500 else None
    assert violation is None, violation
    body = r.json()
    assert (why := chinese_violation(body)) is None, why
    return body


def assert_refused(r: httpx.Response, field: str | None) -> dict[str, Any]:
    """A 4xx problem+json that names ``field`` (its dotted path, or a path starting with it)."""
    violation = problem_violation(r.status_code, r.headers, r.content)
    assert violation is None, violation
    assert 400 <= r.status_code < 500, f"accepted: {r.status_code} {r.text[:300]}"
    body = r.json()
    if field is not None:
        named = str(body.get("field") or "")
        assert named == field or named.startswith((f"{field}.", f"{field}[")), (
            f"refusal names field {named!r}, not {field!r}: {body}"
        )
    return body


# ------------------------------------------------------------------------------ money edge cases

MAX_FEN_AS_YUAN: Final = "92233720368547758.07"  # 2**63 - 1 fen: the largest bigint
# Text that is not an exact, in-range, non-negative amount of yuan (to the fen).
HOSTILE_YUAN: Final = (
    "-1.00", "-0.01", "0.001", "1.005", "1e3", "1E3", "NaN", "nan", "Infinity", "-Infinity",
    "inf", "1,0000.00", "12,34", "1.000,00", "１２３", "１2.00", "1_000", "0x10", "+-1", "¥¥1",
    "1.", ".5", "", "   ", "92233720368547758.08", "9223372036854775807", "9" * 40,
    "1" * 80,
)  # fmt: skip
# JSON values that are not yuan text at all.
HOSTILE_YUAN_JSON: Final = (100, 1.5, -1, 2**63, None, True, [], {})
# Integer fen at and past the bigint limits.
HOSTILE_FEN: Final = (-1, 2**63, 2**64, -(2**63) - 1, 1.5, "100", None, True)


# ------------------------------------------------------------------------------ seed data


def program_activated(total_fen: int = 150_000_000) -> ProgramActivated:
    """Xinping as claims announces it (what funds and notify know of a program)."""
    items = [
        ItemBudget(
            code="brand-packaging", name="公共品牌升级打造", budget_fen=100_000_000, mode="reward"
        ),
        ItemBudget(
            code="anchor-training",
            name="带货主播孵化培训",
            budget_fen=total_fen - 100_000_000,
            mode="service",
        ),
    ]
    return ProgramActivated(
        program_code="xinping-2021",
        name="新平县2021年电子商务进农村综合示范项目后续",
        county_code="530427",
        county_name="新平县",
        year=2021,
        phase="follow-up",
        total_fen=total_fen,
        lines=[
            LineBudget(
                code="brand", name="农产品品牌推广建设体系", budget_fen=total_fen, items=items
            )
        ],
        contractor_credit_code=CONTRACTOR,
        contractor_name="承办企业",
        joint_account_bank="新平县某银行",
        joint_account_no="6222000000000000",
        activated_at=MONDAY,
    )


def claim_approved(award_id: str = "award-1", *, publicity: bool = True) -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"claim-{award_id}",
        award_id=award_id,
        program_code="xinping-2021",
        line_code="brand",
        item_code="brand-packaging",
        item_name="公共品牌升级打造",
        credit_code=LOCAL,
        enterprise_name="新平礼好农业有限公司",
        payee_bank_account="6228480000000000001",
        payee_bank_name="中国农业银行新平县支行",
        amount_fen=246_900,
        rule_version="per_unit@1:abc",
        period="2021Q3",
        approved_by="u-leader",
        approved_at=MONDAY,
        requires_publicity=publicity,
    )


def award_reserved(award_id: str = "award-1") -> AwardReserved:
    """funds reserved the award: notify drafts its notice from this (issue 16)."""
    a = claim_approved(award_id)
    return AwardReserved(
        award_id=a.award_id, claim_id=a.claim_id, program_code=a.program_code, item_code=a.item_code,
        amount_fen=a.amount_fen, item_available_fen=0, reserved_at=MONDAY, line_code=a.line_code,
        item_name=a.item_name, credit_code=a.credit_code, enterprise_name=a.enterprise_name,
        requires_publicity=True, publicity_working_days=5,
    )


def enterprise_registered() -> EnterpriseRegistered:
    return EnterpriseRegistered(
        credit_code=LOCAL,
        name="新平礼好农业有限公司",
        kind="enterprise",
        county_code="530427",
        contact_name="李华",
        contact_email="lihua@example.cn",
        contact_phone="0877-7012345",
    )


def enterprise_body(
    code: str = LOCAL, name: str = "新平礼好农业有限公司", kind: str = "enterprise"
) -> dict[str, Any]:
    return {
        "credit_code": code,
        "name": name,
        "kind": kind,
        "program_code": "xinping-2021",
        "contact": {"name": "李华", "email": "lihua@example.cn", "phone": "0877-7012345"},
        "bank_account": {
            "bank_name": "中国农业银行新平县支行",
            "account_no": "6228 4800 0000 0000 017",
        },
    }


def center_body() -> dict[str, Any]:
    return {
        "county_code": "530427",
        "tier": "county_center",
        "name": "新平县电商物流仓储配送中心",
        "address": "新平县桂山街道",
        "opened_on": "2021-03-01",
        "geo": {"lat": 24.07, "lon": 101.99},
        "operator_credit_code": "91530427MA6P2W8T4C",
        "contact_name": "李经理",
        "contact_phone": "0877-7012345",
    }


# ------------------------------------------------------------------------------ served services


@dataclass
class Served:
    """One running service: its client (ASGI), app, the ids of the rows it was seeded with
    (path parameter name -> value) and the upstream producers that fed it."""

    name: str
    http: httpx.AsyncClient
    app: FastAPI
    database_url: str
    ids: dict[str, str] = field(default_factory=dict)
    upstream: dict[str, Producer] = field(default_factory=dict)

    async def call(
        self, method: str, path: str, who: Principal | None = ADMIN, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(bearer(who) if who else {}), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def sql(self, query: str, *args: Any) -> Any:
        pool = self.app.state.ctx.pool
        async with pool.acquire() as conn:
            return await conn.fetchval(query, *args)


async def _seed_claims(s: Served) -> None:
    yaml = (PROGRAMS / "xinping-2021.yaml").read_bytes()
    r = await s.call(
        "POST", "/programs", content=yaml, headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 201, r.text
    for code, name in ((LOCAL, "新平礼好农业有限公司"), (OTHER, "新平县戛洒镇电商公司")):
        r = await s.call("POST", "/enterprises", json=enterprise_body(code, name))
        assert r.status_code == 201, r.text
    body = {
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "evidence": {"quarter": "2023Q3", "units": 12_345},
    }
    r = await s.call("POST", "/claims", PEOPLE["enterprise"], json=body)
    assert r.status_code == 201, r.text
    s.ids.update(code="xinping-2021", credit_code=LOCAL, claim_id=r.json()["id"])


async def _seed_funds(s: Served) -> None:
    r = await s.call("POST", "/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"})
    assert r.status_code == 200, r.text
    claims = s.upstream["claims"]
    await claims.emit(program_activated(), "xinping-2021")
    await claims.emit(claim_approved("award-1", publicity=False), "award-1")

    async def award() -> bool:
        return (await s.call("GET", "/awards/award-1")).status_code == 200

    await eventually(award, description="funds holds the seeded award")
    s.ids.update(program_code="xinping-2021", award_id="award-1", credit_code=LOCAL)
    r = await s.call("POST", "/payments", json={"award_id": "award-1"})
    if r.status_code == 201:
        s.ids["payment_id"] = r.json()["payment_id"]


async def _seed_logistics(s: Served) -> None:
    r = await s.call("POST", "/stations", json=center_body(), headers={"Idempotency-Key": "seed-1"})
    assert r.status_code == 201, r.text
    s.ids["station_id"] = r.json()["id"]


async def _seed_notify(s: Served) -> None:
    claims = s.upstream["claims"]
    await claims.emit(program_activated(), "xinping-2021")
    await claims.emit(enterprise_registered(), LOCAL)
    await claims.emit(claim_approved("award-1"), "award-1")
    await s.upstream["funds"].emit(award_reserved("award-1"), "award-1")

    async def notice() -> str | None:
        items = (await s.call("GET", "/notices")).json().get("items") or []
        return items[0]["id"] if items else None

    s.ids["notice_id"] = await eventually(notice, description="notify drafted a notice")


SEEDS: Final[dict[str, Callable[[Served], Awaitable[None]]]] = {
    "claims": _seed_claims,
    "funds": _seed_funds,
    "logistics": _seed_logistics,
    "notify": _seed_notify,
}
UPSTREAM: Final[dict[str, tuple[str, ...]]] = {
    "claims": (),
    "funds": ("claims",),
    "logistics": (),
    "notify": ("claims", "funds"),
}


def _factory(name: str, tmp_path: Path) -> Callable[..., FastAPI]:
    if name == "claims":
        from ruralfund_claims.app import create_app as claims_app

        return claims_app
    if name == "funds":
        from ruralfund_funds.app import create_app as funds_app

        return funds_app
    if name == "logistics":
        from ruralfund_logistics.app import create_app as logistics_app
        from ruralfund_logistics.settings import LogisticsSettings

        return partial(logistics_app, logistics_settings=LogisticsSettings(sla_sweep_seconds=3600))
    from ruralfund_notify.app import create_app as notify_app
    from ruralfund_notify.settings import NotifySettings

    quiet = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nobody listens: mail stays pending, nothing leaves the machine
        public_base_url="https://portal.example.cn/ruralfund",
        mail_poll_seconds=60,
        sla_summary_poll_seconds=60,
        webhook_poll_seconds=60,
    )
    return partial(notify_app, notify_settings=quiet)


ServeFactory = Callable[..., Awaitable[Served]]


@pytest_asyncio.fixture(loop_scope="session")
async def serve(
    nats_url: str, database_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[ServeFactory]:
    """``await serve("funds")``: the service running (seeded unless ``seed=False``), stopped
    after the test. One service per test: upstream outboxes stand in for the others."""
    async with AsyncExitStack() as stack:

        async def start(name: str, *, seed: bool = True) -> Served:
            assert name in SERVICES, name
            settings = service_settings(
                name,
                nats_url=nats_url,
                database_url=database_url,
                namespace=namespace,
                dev_clock_file=tmp_path / f"{name}-clock.json",
                calendar_dir=tmp_path / "calendar",
            )
            http = await stack.enter_async_context(
                running_service(_factory(name, tmp_path), settings)
            )
            served = Served(name, http, http.app, database_url)  # type: ignore[attr-defined]
            for up in UPSTREAM[name]:
                served.upstream[up] = await stack.enter_async_context(
                    producer(up, database_url, nats_url, namespace)
                )
            if seed:
                await SEEDS[name](served)
            return served

        yield start


@pytest.fixture
def hostile() -> Any:
    """Constants and helpers for test modules (which cannot import this conftest)."""

    class Hostile:
        SERVICES = SERVICES
        LOCAL = LOCAL
        PROGRAMS = PROGRAMS
        OTHER = OTHER
        CONTRACTOR = CONTRACTOR
        ADMIN = ADMIN
        PEOPLE = PEOPLE
        problem_violation = staticmethod(problem_violation)
        assert_refused = staticmethod(assert_refused)
        assert_chinese = staticmethod(assert_chinese)
        chinese_violation = staticmethod(chinese_violation)
        MAX_FEN_AS_YUAN = MAX_FEN_AS_YUAN
        HOSTILE_YUAN = HOSTILE_YUAN
        HOSTILE_YUAN_JSON = HOSTILE_YUAN_JSON
        HOSTILE_FEN = HOSTILE_FEN
        program_activated = staticmethod(program_activated)
        claim_approved = staticmethod(claim_approved)
        enterprise_body = staticmethod(enterprise_body)
        center_body = staticmethod(center_body)
        fuzz = staticmethod(fuzz)
        DEEP = DEEP
        FUZZ_EXAMPLES = FUZZ_EXAMPLES

    return Hostile


# ------------------------------------------------------------------------------ OpenAPI fuzzing

DEEP: Final = os.environ.get("RURALFUND_HOSTILE_DEEP", "").strip() == "1"
# Examples per operation, per caller, per generation mode (and again with seeded path ids).
# Bounded so that `make test` fuzzes a service in about a minute on a 2-core machine.
FUZZ_EXAMPLES: Final = int(os.environ.get("RURALFUND_HOSTILE_EXAMPLES") or (200 if DEEP else 5))
FUZZ_REQUEST_TIMEOUT_S: Final = 30.0
_REQUEST_KEYS: Final = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
_PATH_PARAM: Final = re.compile(r"{([^}]+)}")


@dataclass
class FuzzReport:
    operations: int = 0
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    not_generated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return f"{self.operations} operations, {self.requests} requests ({codes})"


def _fuzz_settings(examples: int) -> hypothesis.settings:
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if DEEP else [])
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not DEEP,  # `make test` is repeatable; the deep run explores
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


async def fuzz(served: Served, *, skip: Mapping[str, str] | None = None) -> FuzzReport:
    """schemathesis cases for every operation of ``served``'s OpenAPI, positive and negative,
    as a bureau admin and anonymously, with generated and with seeded path ids. Each
    response is checked with :func:`problem_violation`. ``skip``: "METHOD /path" -> why."""
    loop = asyncio.get_running_loop()
    schema = schemathesis.openapi.from_dict(served.app.openapi())
    base_url = str(served.http.base_url).rstrip("/")
    report = FuzzReport()
    # bureau_admin and nobody, as the issue asks; and one person holding every role, so that
    # every use case behind a role gate is reached too (funds' writes are not the bureau's)
    callers = {"bureau_admin": bearer(ADMIN), "anonymous": {}, "every_role": bearer(EVERY_ROLE)}

    def send(case: Any) -> str | None:
        kwargs = case.as_transport_kwargs(base_url=base_url)
        prepared = requests.Request(
            **{k: kwargs[k] for k in _REQUEST_KEYS if k in kwargs}
        ).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        future = asyncio.run_coroutine_threadsafe(
            served.http.request(
                prepared.method or "GET", prepared.url or base_url,
                headers=dict(prepared.headers), content=body,
            ),
            loop,
        )  # fmt: skip
        report.requests += 1
        try:
            response = future.result(timeout=FUZZ_REQUEST_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - the app raised: a 500 in production
            report.statuses[500] = report.statuses.get(500, 0) + 1
            return f"the app raised {exc!r}"
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        return problem_violation(response.status_code, response.headers, response.content)

    def run_operation(op: Any, who: str, mode: GenerationMode, ids: dict[str, str]) -> None:
        strategy = op.as_strategy(
            generation_mode=mode, headers=callers[who] or None, path_parameters=ids or None
        )

        # nobody is mostly stopped at the gate: fewer examples buy the same assurance
        examples = FUZZ_EXAMPLES if who != "anonymous" else max(2, FUZZ_EXAMPLES // 3)

        @_fuzz_settings(examples)
        @hypothesis.given(case=strategy)
        def check(case: Any) -> None:
            problem = send(case)
            assert problem is None, f"{problem}\n    {case.as_curl_command()}"

        label = f"{op.method.upper()} {op.path} as {who}, {mode.value}{', seeded' if ids else ''}"
        try:
            check()
        except (AssertionError, hypothesis.errors.Flaky) as exc:
            # Flaky: failed once, then not (e.g. the replay of a command id): still a finding
            report.findings.append(f"{label}: {exc!r}"[:4000])
        except (hypothesis.errors.Unsatisfiable, hypothesis.errors.FailedHealthCheck) as exc:
            report.not_generated.append(f"{label}: {type(exc).__name__}")

    def run_all() -> None:
        for result in schema.get_all_operations():
            op = result.ok()
            if f"{op.method.upper()} {op.path}" in (skip or {}):
                continue
            report.operations += 1
            names = _PATH_PARAM.findall(op.path)
            seeded = {n: served.ids[n] for n in names if n in served.ids}
            for who in callers:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    run_operation(op, who, mode, {})
                    if seeded and who != "anonymous":
                        run_operation(op, who, mode, seeded)

    await asyncio.to_thread(run_all)
    return report
