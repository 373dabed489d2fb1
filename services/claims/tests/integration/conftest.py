"""Integration fixtures: the claims service running against real NATS JetStream and
PostgreSQL, people with tokens, a funds/logistics outbox to feed events, and a reader for
what claims put on its stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from nats.js.errors import NotFoundError
from ruralfund_claims.app import create_app
from ruralfund_common.auth import Role
from ruralfund_common.clock import SystemClock
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Event, OutboxRelay, Tx
from ruralfund_common.messaging.subjects import Namespace
from ruralfund_common.testing.services import bearer, person, running_service, service_settings

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
XINPING_YAML = (PROGRAMS / "xinping-2021.yaml").read_bytes()
ATTACHMENT2_YAML = (PROGRAMS / "examples" / "xinping-2021-attachment2.yaml").read_bytes()
YAML = {"Content-Type": "application/yaml"}

LOCAL = with_check_character("91530427MA6K5XQ21")  # a company registered in Xinping
OTHER = with_check_character("92530427MA6T00012")  # a station operator registered in Xinping
OUTSIDE = with_check_character("91530400MA6Q00031")  # registered at Yuxi city level, not the county

ADMIN = bearer(person("Wang Admin", Role.BUREAU_ADMIN))
MEMBER = bearer(person("Zhao Member", Role.LEADING_GROUP))
LINKED_MEMBER = bearer(person("Qian Linked", Role.LEADING_GROUP, linked=[LOCAL]))
AUDITOR = bearer(person("Zhou Auditor", Role.AUDITOR))
ENTERPRISE = bearer(person("Li Local", Role.ENTERPRISE, credit_code=LOCAL))
OTHER_ENTERPRISE = bearer(person("Sun Other", Role.ENTERPRISE, credit_code=OTHER))


def enterprise_body(
    code: str = LOCAL,
    *,
    name: str = "新平礼好农业有限公司",
    kind: str = "enterprise",
    program_code: str | None = "xinping-2021",
) -> dict[str, Any]:
    return {
        "credit_code": code,
        "name": name,
        "kind": kind,
        "program_code": program_code,
        "contact": {"name": "李华", "email": "lihua@example.cn", "phone": "0877-7012345"},
        "bank_account": {
            "bank_name": "中国农业银行新平县支行",
            "account_no": "6228 4800 0000 0000 017",
        },
    }


@dataclass
class Claims:
    """The running claims service and ways to look at what it did.

    Test modules cannot import this conftest (importlib mode), so the codes, people and
    documents they share hang off this object.
    """

    LOCAL = LOCAL
    OTHER = OTHER
    OUTSIDE = OUTSIDE
    ADMIN = ADMIN
    MEMBER = MEMBER
    LINKED_MEMBER = LINKED_MEMBER
    AUDITOR = AUDITOR
    ENTERPRISE = ENTERPRISE
    OTHER_ENTERPRISE = OTHER_ENTERPRISE
    XINPING_YAML = XINPING_YAML
    ATTACHMENT2_YAML = ATTACHMENT2_YAML
    YAML = YAML
    enterprise_body = staticmethod(enterprise_body)

    http: httpx.AsyncClient
    database_url: str
    namespace: str
    js: Any

    async def events(self, name: str) -> list[dict[str, Any]]:
        """Envelopes of ``claims.evt.<name>.v1`` now on the claims stream, in stream order."""
        stream = f"{self.namespace.upper()}_CLAIMS"
        subject = f"{self.namespace}.claims.evt.{name}.v1"
        try:
            state = (await self.js.stream_info(stream)).state
        except NotFoundError:
            return []
        found: list[dict[str, Any]] = []
        if state.messages == 0:
            return found
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                msg = await self.js.get_msg(stream, seq)
            except NotFoundError:  # a deleted message leaves a hole in the sequence
                continue
            if msg.subject == subject:
                found.append(json.loads(msg.data))
        return found

    async def at_least(self, name: str, count: int) -> list[dict[str, Any]]:
        """For ``eventually``: the events once there are ``count`` of them (AssertionError before)."""
        found = await self.events(name)
        assert len(found) >= count, f"{len(found)} {name} events so far, waiting for {count}"
        return found

    async def sql(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.database_url, server_settings={"search_path": "claims"})
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def load_xinping(self) -> dict[str, Any]:
        response = await self.http.post(
            "/programs", content=XINPING_YAML, headers={**ADMIN, **YAML}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def load_program_file(self, relative: str) -> dict[str, Any]:
        """Activate ``programs/<relative>`` as the bureau."""
        response = await self.http.post(
            "/programs", content=(PROGRAMS / relative).read_bytes(), headers={**ADMIN, **YAML}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def register(self, code: str = LOCAL, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/enterprises", json=enterprise_body(code, **kwargs), headers=ADMIN
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def submit(
        self,
        units: int = 12_345,
        *,
        quarter: str = "2023Q3",
        headers: dict[str, str] = ENTERPRISE,
        key: str | None = None,
    ) -> httpx.Response:
        body = {
            "program_code": "xinping-2021",
            "item_code": "brand-packaging",
            "evidence": {"quarter": quarter, "units": units},
        }
        extra = {"Idempotency-Key": key} if key else {}
        return await self.http.post("/claims", json=body, headers={**headers, **extra})

    async def approved_claim(self) -> dict[str, Any]:
        """Xinping loaded, LOCAL registered, a 12,345-box claim reviewed and approved."""
        await self.load_xinping()
        await self.register()
        claim = (await self.submit()).json()
        review = await self.http.post(
            f"/claims/{claim['id']}/review", json={"outcome": "complete"}, headers=ADMIN
        )
        assert review.status_code == 200, review.text
        decision = await self.http.post(
            f"/claims/{claim['id']}/decision", json={"decision": "approve"}, headers=MEMBER
        )
        assert decision.status_code == 200, decision.text
        return decision.json()

    async def status_of(self, claim_id: str) -> str:
        response = await self.http.get(f"/claims/{claim_id}", headers=ADMIN)
        return response.json()["status"]


@pytest_asyncio.fixture(loop_scope="session")
async def claims(
    nats_url: str, database_url: str, namespace: str, nats_client: Any
) -> AsyncIterator[Claims]:
    settings = service_settings(
        "claims", nats_url=nats_url, database_url=database_url, namespace=namespace
    )
    async with running_service(create_app, settings) as http:
        yield Claims(http, database_url, namespace, nats_client.jetstream())


@pytest_asyncio.fixture(loop_scope="session")
async def claims_factory(
    database_url: str, namespace: str, nats_client: Any
) -> Callable[[httpx.AsyncClient], Claims]:
    """For tests that run the service themselves (other settings): wraps their client."""
    return lambda http: Claims(http, database_url, namespace, nats_client.jetstream())


Emit = Callable[[Event, str], Awaitable[None]]


async def _outbox_of(
    producer: str, database_url: str, nats_url: str, namespace: str
) -> AsyncIterator[Emit]:
    """Another service's outbox and relay: events reach claims over JetStream like in production."""
    await migrate(database_url, producer, None)
    pool = await create_pool(database_url, producer)
    relay = OutboxRelay(
        pool, nats_url, producer=producer, namespace=Namespace(namespace), poll_seconds=0.05
    )
    await relay.start()

    async def emit(event: Event, aggregate_id: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await Tx(conn, producer, SystemClock()).emit(event, aggregate_id=aggregate_id)
        relay.notify()

    try:
        yield emit
    finally:
        await relay.stop()
        await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def funds(
    claims: Claims, database_url: str, nats_url: str, namespace: str
) -> AsyncIterator[Emit]:
    async for emit in _outbox_of("funds", database_url, nats_url, namespace):
        yield emit


@pytest_asyncio.fixture(loop_scope="session")
async def logistics(
    claims: Claims, database_url: str, nats_url: str, namespace: str
) -> AsyncIterator[Emit]:
    async for emit in _outbox_of("logistics", database_url, nats_url, namespace):
        yield emit
