"""The public side of notify: a listener with the 公示 pages, feed, open data and objection form
only (no admin routes, /metrics or /docs); security headers on every public answer; a form
post another site made a browser send is refused by Origin / Referer when the browser does not
say Sec-Fetch-Site."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.processes import ServiceProcess
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually
from ruralfund_notify.app import create_public_app

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
ADMIN = bearer(person("Public Site Admin", Role.BUREAU_ADMIN))


async def _notice(h: Any, samples: Any) -> str:
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.claims.emit(samples.approval("award-1"), "claim-of-award-1")
    await h.funds.emit(samples.reserved("award-1"), "award-1")  # the notice follows the reservation

    async def published() -> str | None:
        items = (await h.client.get("/publicity/notices.json")).json()["items"]
        return items[0]["id"] if items else None

    return await eventually(published, description="notice published")


@asynccontextmanager
async def _public(h: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the public listener's app, built from the running notify app."""
    app = create_public_app(h.client.app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://public.test") as client:
        yield client


async def _form(client: httpx.AsyncClient, notice_id: str) -> dict[str, str]:
    page = await client.get(f"/publicity/notices/{notice_id}")
    token = TOKEN.search(page.text)
    assert page.status_code == 200 and token, page.text[:300]
    return {"form_token": token.group(1), "name": "李四", "contact": "13987654321",
            "email": "", "reason": REASON}  # fmt: skip


def _has_public_headers(r: httpx.Response) -> bool:
    csp = r.headers.get("content-security-policy", "")
    return (
        "frame-ancestors 'none'" in csp
        and "default-src 'none'" in csp
        and r.headers.get("referrer-policy") == "same-origin"
        and r.headers.get("x-content-type-options") == "nosniff"
    )


async def test_the_public_listener_serves_public_pages_only(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    async with _public(h) as public:
        pages = [
            "/publicity",
            f"/publicity/notices/{notice_id}",
            "/publicity/notices.json",
            "/publicity/feed.atom",
            "/open-data/paid-awards.json",
            "/open-data/paid-awards.csv",
        ]
        for path in pages:
            r = await public.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            assert _has_public_headers(r), (path, r.headers)
        assert "公示" in (await public.get("/publicity")).text

        filed = await public.post(
            f"/publicity/notices/{notice_id}/objections",
            data=await _form(public, notice_id),
            headers={"Accept": "text/html", "Origin": "http://public.test"},
        )
        assert filed.status_code == 201, filed.text[:500]
        assert _has_public_headers(filed)

        hidden = [
            ("GET", "/notices"), ("GET", "/objections"), ("GET", "/webhooks/subscriptions"),
            ("POST", "/webhooks/subscriptions"), ("GET", "/admin/clock"), ("POST", "/admin/clock"),
            ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"),
            ("GET", "/asyncapi.json"), ("GET", "/readyz"), ("GET", f"/notices/{notice_id}"),
        ]  # fmt: skip
        for method, path in hidden:
            r = await public.request(method, path, headers=ADMIN, json={})
            assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("application/problem+json")
    # the same routes on the admin listener are there (the public one is a subset)
    assert (await h.client.get("/notices", headers=ADMIN)).status_code == 200
    assert (await h.client.get("/metrics")).status_code == 200
    assert await h.fetchval("SELECT count(*) FROM objections") == 1


async def test_public_pages_carry_the_headers_on_the_admin_listener_too(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    for path in ("/publicity", f"/publicity/notices/{notice_id}", "/open-data/paid-awards.csv"):
        r = await h.client.get(path)
        assert r.status_code == 200 and _has_public_headers(r), (path, r.headers)
    missing = await h.client.get("/publicity/notices/not-a-notice")
    assert missing.status_code == 404 and _has_public_headers(missing)
    docs = await h.client.get("/docs")  # Swagger UI loads its scripts: no page policy there
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),  # a sandboxed frame or a page that hides its origin
        ({"Origin": "https://portal.example.cn.evil.example"}, True),
        ({"Origin": "http://portal.example.cn"}, True),  # not the https site
        ({"Referer": "https://evil.example/publicity/notices/x"}, True),
        ({"Referer": "not a url"}, True),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://portal.example.cn"}, True),
        ({"Origin": "https://portal.example.cn"}, False),  # the configured public address
        ({"Referer": "https://portal.example.cn/ruralfund/publicity"}, False),
        ({"Origin": "http://notify.test"}, False),  # the host it was sent to
        ({"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, False),
        ({}, False),  # not a browser page: the form token decides
    ],
)
async def test_a_form_posted_from_another_site_is_refused(
    harness, samples, headers: dict[str, str], refused: bool
) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    r = await h.client.post(
        f"/publicity/notices/{notice_id}/objections",
        data=await _form(h.client, notice_id),
        headers={"Accept": "*/*", **headers},
    )
    if refused:
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "CROSS_SITE_FORM"
        assert await h.fetchval("SELECT count(*) FROM objections") == 0
    else:
        assert r.status_code == 201, r.text
        assert await h.fetchval("SELECT count(*) FROM objections") == 1


async def test_ruralfund_serve_notify_opens_the_public_listener(
    nats_url: str, database_url: str, namespace: str, tmp_path: Path
) -> None:
    """``ruralfund serve notify`` with RURALFUND_NOTIFY_PUBLIC_PORT (or --public-port): the
    admin listener as before, the public pages on the other port, both closed by SIGTERM."""
    public_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    env.update({
        "NATS_URL": nats_url, "DATABASE_URL": database_url, "RURALFUND_NAMESPACE": namespace,
        "RURALFUND_ENV": "test", "RURALFUND_CALENDAR_DIR": str(tmp_path / "calendar"),
        "RURALFUND_NOTIFY_PUBLIC_PORT": str(public_port),
    })  # fmt: skip
    notify = ServiceProcess("notify", env, tmp_path / "notify.log")
    notify.start()
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def public_up() -> bool:
                assert notify.running, notify.log_tail()
                try:
                    r = await client.get(f"http://127.0.0.1:{public_port}/publicity")
                except httpx.TransportError:
                    return False
                return r.status_code == 200

            await eventually(public_up, timeout=90, description="the public listener answers")
            public = f"http://127.0.0.1:{public_port}"
            page = await client.get(f"{public}/publicity")
            assert "公示" in page.text and _has_public_headers(page)
            for path in ("/metrics", "/docs", "/openapi.json", "/notices", "/healthz"):
                assert (await client.get(f"{public}{path}")).status_code == 404, path
            assert (await client.get(f"{notify.url}/metrics")).status_code == 200
            assert (await client.get(f"{notify.url}/readyz")).status_code == 200
        assert notify.proc is not None
        proc = notify.proc
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal it handled once it has shut down: a clean stop by SIGTERM
        assert proc.wait(30) in (0, -signal.SIGTERM), notify.log_tail()
        assert '"event": "service_stopped"' in notify.log_text()
        for port in (notify.port, public_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    finally:
        notify.stop()
