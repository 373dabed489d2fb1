"""The logistics service running in-process against real NATS JetStream and PostgreSQL.

``logistics`` starts the app (migrations, outbox relay) in a fresh database and namespace, sets
its dev clock to 2022-01-10 in the county, so that every month of 2021 has ended, and hands
the test a small client that can also read the service's events back from JetStream.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from ruralfund_common.auth import Principal, Role
from ruralfund_common.contracts.logistics.record_scans import RecordScans, ScanRecord
from ruralfund_common.db.pool import connect
from ruralfund_common.messaging.envelope import encode, make_envelope
from ruralfund_common.testing.services import bearer, person, running_service, service_settings
from ruralfund_common.testing.wait import eventually
from ruralfund_logistics.app import create_app
from ruralfund_logistics.settings import LogisticsSettings

try:  # outside systems' commands are signed once event signatures exist (#10)
    from ruralfund_common.messaging.signing import DEV_GATEWAY, SigningKey

    GATEWAY_KEY: Any = SigningKey.dev(DEV_GATEWAY)
except ImportError:
    GATEWAY_KEY = None

XINPING = "530427"
OPERATOR = "91530427MA6K7QXR3Y"
OTHER_OPERATOR = "91530427MA6N0B1X2L"
COUNTY_NOW = "2022-01-10T10:00:00+08:00"

BUREAU = person("Bureau Li", Role.BUREAU_ADMIN)
AUDITOR = person("Auditor Wang", Role.AUDITOR)
OPERATOR_ZHANG = person("Operator Zhang", Role.ENTERPRISE, credit_code=OPERATOR)
OTHER_ENTERPRISE = person("Other Zhao", Role.ENTERPRISE, credit_code=OTHER_OPERATOR)
SORTING_LINE = person("Sorting Line", Role.SYSTEM)
# The background sweep runs once at start, then never during a test: tests sweep on purpose.
QUIET_SWEEP = LogisticsSettings(sla_sweep_seconds=3600)


class Logistics:
    """The running service's HTTP client plus read access to its stream and schema.

    Test modules cannot import this conftest (importlib mode), so the people, codes and body
    builders they share hang off this object.
    """

    XINPING = XINPING
    OPERATOR = OPERATOR
    OTHER_OPERATOR = OTHER_OPERATOR
    BUREAU = BUREAU
    AUDITOR = AUDITOR
    OPERATOR_ZHANG = OPERATOR_ZHANG
    OTHER_ENTERPRISE = OTHER_ENTERPRISE
    SORTING_LINE = SORTING_LINE

    def __init__(
        self, client: httpx.AsyncClient, nc: NatsClient, namespace: str, database_url: str
    ) -> None:
        self.http = client
        self.nc = nc
        self.namespace = namespace
        self.database_url = database_url

    async def post(
        self, who: Principal | None, path: str, body: dict[str, Any], *, key: str | None = None
    ) -> httpx.Response:
        headers = bearer(who) if who else {}
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
        return await self.http.post(path, json=body, headers=headers)

    async def get(self, who: Principal | None, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=bearer(who) if who else {})

    async def station(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register as the bureau, asserting success."""
        r = await self.post(BUREAU, "/stations", body)
        assert r.status_code == 201, r.text
        return r.json()

    async def tree(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """A Xinping center, a town under it and a village under the town, run by OPERATOR."""
        center = await self.station(self.center_body())
        town = await self.station(self.station_body("town", center["id"], "戛洒镇站"))
        village = await self.station(
            self.station_body("village", town["id"], "南碱村站", operator=OPERATOR)
        )
        return center, town, village

    async def events(self, name: str) -> list[dict[str, Any]]:
        """Envelopes of ``logistics.evt.<name>.v1`` on the stream, in stream order."""
        js = self.nc.jetstream()
        stream = f"{self.namespace.upper()}_LOGISTICS"
        subject = f"{self.namespace}.logistics.evt.{name}.v1"
        try:
            state = (await js.stream_info(stream)).state
        except NotFoundError:
            return []
        found = []
        for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
            msg = await js.get_msg(stream, seq)
            if msg.subject == subject:
                found.append(json.loads(msg.data))
        return found

    async def wait_for_events(self, name: str, at_least: int) -> list[dict[str, Any]]:
        """Poll the stream until ``at_least`` such events are there; returns all of them."""

        async def enough() -> list[dict[str, Any]]:
            found = await self.events(name)
            assert len(found) >= at_least, f"{len(found)} of {at_least} {name} events so far"
            return found

        return await eventually(enough, description=f"{at_least} {name} events")

    @staticmethod
    def center_body(**kw: Any) -> dict[str, Any]:
        body = {
            "county_code": XINPING,
            "tier": "county_center",
            "name": "新平县电商物流仓储配送中心",
            "address": "新平县桂山街道",
            "opened_on": "2021-03-01",
            "geo": {"lat": 24.07, "lon": 101.99},
            "operator_credit_code": "91530427MA6P2W8T4C",
            "contact_name": "李经理",
            "contact_phone": "0877-7012345",
        }
        return body | kw

    @staticmethod
    def station_body(
        tier: str, parent_id: str | None, name: str, *, operator: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        body = {
            "county_code": XINPING,
            "tier": tier,
            "parent_id": parent_id,
            "name": name,
            "address": f"新平县{name}",
            "opened_on": "2021-06-01",
            "operator_credit_code": operator,
            "contact_name": "张站长",
            "contact_phone": "13800000000",
        }
        return body | kw

    @staticmethod
    def assert_problem(
        r: httpx.Response, status: int, code: str, field: str | None = None
    ) -> dict[str, Any]:
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers
        body = r.json()
        assert body["code"] == code, body
        if field is not None:
            assert body.get("field") == field, body
        return body

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.fetchval(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await connect(self.database_url, "logistics")
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        conn = await connect(self.database_url, "logistics")
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    # -- scans and the clock ---------------------------------------------------------------
    async def set_clock(self, iso: str) -> None:
        r = await self.http.post("/admin/clock", json={"set_to": iso}, headers=bearer(BUREAU))
        assert r.status_code == 200, r.text

    async def post_scans(
        self, scans: list[dict[str, Any]], *, who: Principal | None = None, key: str | None = None
    ) -> httpx.Response:
        return await self.post(
            who or SORTING_LINE, "/scans", {"source": "test", "scans": scans}, key=key
        )

    async def publish_scans(
        self,
        scans: list[dict[str, Any]],
        *,
        envelope_id: str | None = None,
        msg_id: str | None = None,
        source: str = "sorting-line",
    ) -> str:
        """Publish a RecordScans command as an outside system would: straight to JetStream,
        a Nats-Msg-Id, no producer sequence. Returns the envelope id."""
        command = RecordScans(source=source, scans=[ScanRecord(**s) for s in scans])
        env = make_envelope(
            command,
            source="sorting-line",
            aggregate_id=source,
            time=datetime.now(UTC),
            message_id=envelope_id or str(uuid.uuid4()),
        )
        await self.publish_raw(encode(env), msg_id=msg_id or env["id"])
        return env["id"]

    async def publish_raw(self, data: bytes, *, msg_id: str) -> None:
        """Publish as the sorting line's gateway does: signed with its (dev) key when event
        signatures are in force."""
        js = self.nc.jetstream()
        subject = f"{self.namespace}.logistics.cmd.record_scans.v1"
        headers = {"Nats-Msg-Id": msg_id}
        if GATEWAY_KEY is not None:
            headers = GATEWAY_KEY.sign(subject, data, headers)
        ack = await js.publish(
            subject, data, stream=f"{self.namespace.upper()}_LOGISTICS", headers=headers
        )
        assert ack.stream == f"{self.namespace.upper()}_LOGISTICS"

    async def sweep(self) -> int:
        r = await self.post(BUREAU, "/admin/sla/sweep", {})
        assert r.status_code == 200, r.text
        return int(r.json()["breaches_reported"])

    async def parcel(self, parcel_id: str) -> dict[str, Any]:
        r = await self.get(AUDITOR, f"/parcels/{parcel_id}")
        assert r.status_code == 200, r.text
        return r.json()


@asynccontextmanager
async def logistics_service(
    nats_url: str,
    database_url: str,
    namespace: str,
    nc: NatsClient,
    *,
    own: LogisticsSettings = QUIET_SWEEP,
    now: str = COUNTY_NOW,
) -> AsyncIterator[Logistics]:
    """The service on its own database and namespace (a test may run two side by side)."""
    settings = service_settings(
        "logistics", nats_url=nats_url, database_url=database_url, namespace=namespace
    )
    make: Callable[..., Any] = functools.partial(create_app, logistics_settings=own)
    async with running_service(make, settings) as client:
        lx = Logistics(client, nc, namespace, database_url)
        await lx.set_clock(now)
        yield lx


@pytest_asyncio.fixture(loop_scope="session")
async def logistics(
    nats_url: str, database_url: str, namespace: str, nats_client: NatsClient
) -> AsyncIterator[Logistics]:
    async with logistics_service(nats_url, database_url, namespace, nats_client) as lx:
        yield lx


@pytest_asyncio.fixture(loop_scope="session")
async def start_logistics(nats_url: str, nats_client: NatsClient) -> Callable[..., Any]:
    """``async with start_logistics(database_url, namespace, ...)`` for a second instance or
    other settings."""

    def start(database_url: str, namespace: str, **kw: Any) -> Any:
        return logistics_service(nats_url, database_url, namespace, nats_client, **kw)

    return start
