"""Webhooks to a real HTTP receiver in this process: signed per Standard Webhooks (checked here
with an independent verifier), retried with backoff, dead-lettered, replayed, SSRF-checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from ruralfund_common.testing.wait import eventually
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
APPROVED = "claims.evt.claim_approved.v1"
PUBLISHED = "notify.evt.publicity_published.v1"
FILED = "notify.evt.objection_filed.v1"


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does, written from the specification (not with notify's code)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")
    ]
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    by_hand = fresh and any(hmac.compare_digest(expected, s) for s in offered)
    # and what an integrator's receiver most likely runs: the Standard Webhooks reference library
    try:
        Webhook(secret).verify(body, dict(headers))
        by_library = True
    except WebhookVerificationError:
        by_library = False
    assert by_hand == by_library, f"the specification says {by_hand}, the reference library {by_library}"
    return by_hand


async def _subscribe(h: Any, samples: Any, url: str, *types: str, **extra: Any) -> Any:
    return await h.client.post(
        "/webhooks/subscriptions",
        json={"url": url, "event_types": list(types), **extra},
        headers=samples.ADMIN,
    )


async def _approve(h: Any, samples: Any, award_id: str = "award-1") -> dict[str, Any]:
    """The approval (claims) and its reservation (funds): notify publishes on the latter."""
    await h.set_clock(MONDAY_10_SHANGHAI)
    approval = await h.claims.emit(samples.approval(award_id), f"claim-of-{award_id}")
    await h.funds.emit(samples.reserved(award_id), award_id)
    return approval


async def _log(h: Any, samples: Any, subscription_id: str, **params: str) -> list[dict[str, Any]]:
    r = await h.client.get(
        f"/webhooks/subscriptions/{subscription_id}/deliveries",
        params=params,
        headers=samples.AUDITOR,
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_deliveries_are_signed_and_retried_until_the_receiver_accepts(
    harness, samples, receiver
) -> None:
    h = harness
    receiver.fail_first_per_id = 2  # the receiver answers 500 twice, then 200
    r = await _subscribe(h, samples, receiver.url, APPROVED, PUBLISHED, description="县门户网站")
    assert r.status_code == 201, r.text
    subscription = r.json()
    secret = subscription["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

    await _approve(h, samples)
    delivered = await eventually(
        lambda: _delivered(h, samples, subscription["id"], 2), description="both delivered"
    )
    assert len(receiver.hooks) == 6  # 2 deliveries x (500, 500, 200)
    for hook in receiver.hooks:
        assert hook.path == "/ruralfund/hooks"
        assert hook.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
        assert verify(secret, hook.headers, hook.body), hook.headers
        # the body is a CloudEvent the official SDK validates (structured mode)
        event = from_http(HTTPMessage(headers=dict(hook.headers), body=hook.body), JSONFormat(), CloudEvent)
        assert event.get_specversion() == "1.0" and event.get_extension("correlationid")
        assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), hook.headers, hook.body)

    by_type = {json.loads(hk.body)["type"]: hk for hk in receiver.hooks if hk.status == 200}
    approval = json.loads(by_type[APPROVED].body)
    assert approval["data"]["award_id"] == "award-1" and approval["data"]["amount_fen"] == 246_900
    assert approval["source"] == "ruralfund/claims" and approval["timestamp"].endswith("Z")
    published = json.loads(by_type[PUBLISHED].body)  # notify's own event, fanned out on emit
    assert (published["data"]["starts_on"], published["data"]["ends_on"]) == (
        "2026-03-02",
        "2026-03-06",
    )

    for delivery in delivered:
        same_id = [hk for hk in receiver.hooks if hk.headers["webhook-id"] == delivery["id"]]
        assert [hk.status for hk in same_id] == [500, 500, 200]  # one webhook-id across retries
        assert len({hk.body for hk in same_id}) == 1  # the same bytes every time
        assert (delivery["attempts"], delivery["last_status_code"]) == (3, 200)
        assert [a["status_code"] for a in delivery["log"]] == [500, 500, 200]
        assert [a["attempt"] for a in delivery["log"]] == [1, 2, 3]
        assert delivery["log"][0]["error"] == "HTTP 500"
        assert delivery["log"][2]["response_excerpt"] == "accepted"
        assert delivery["log"][0]["address"] == "127.0.0.1"
        stamps = [a["attempted_at"] for a in delivery["log"]]
        assert stamps == sorted(stamps)


async def _delivered(h: Any, samples: Any, subscription_id: str, count: int) -> Any:
    items = await _log(h, samples, subscription_id, status="delivered")
    return items if len(items) == count else None


async def test_a_redelivered_event_is_sent_once(harness, samples, receiver) -> None:
    h = harness
    subscription = (await _subscribe(h, samples, receiver.url, APPROVED)).json()
    first = await _approve(h, samples)
    await h.claims.republish(first["id"])  # past JetStream's dedup: the inbox must catch it
    await eventually(lambda: h.stream_messages("claims"), expect=2)
    await h.settled()
    await eventually(lambda: _delivered(h, samples, subscription["id"], 1))
    assert await h.fetchval("SELECT count(*) FROM webhook_deliveries") == 1
    assert len(receiver.hooks) == 1


async def test_a_delivery_that_keeps_failing_is_dead_lettered_then_replayed(
    make_harness, samples, receiver
) -> None:
    async with make_harness(webhook_max_attempts=3) as h:
        receiver.answers.extend([503, 503, 503])
        subscription = (await _subscribe(h, samples, receiver.url, APPROVED)).json()
        await _approve(h, samples)
        [dead] = await eventually(lambda: _log(h, samples, subscription["id"], status="dead"))
        assert (dead["dead_reason"], dead["attempts"], dead["last_status_code"]) == (
            "MAX_ATTEMPTS",
            3,
            503,
        )
        assert (
            dead["last_error"] == "MAX_ATTEMPTS: gave up after 3 attempt(s); last error: HTTP 503"
        )
        assert dead["next_attempt_at"] is None and len(receiver.hooks) == 3

        path = f"/webhooks/deliveries/{dead['id']}/replay"
        assert (await h.client.post(path, headers=samples.AUDITOR)).status_code == 403
        replayed = await h.client.post(path, headers={**samples.ADMIN, "Idempotency-Key": "r-1"})
        assert replayed.status_code == 202, replayed.text
        assert (replayed.json()["status"], replayed.json()["replays"]) == ("pending", 1)
        [ok] = await eventually(lambda: _delivered(h, samples, subscription["id"], 1))
        assert ok["id"] == dead["id"] and ok["replays"] == 1 and ok["dead_reason"] is None
        assert [a["status_code"] for a in ok["log"]] == [503, 503, 503, 200]
        assert [a["replay"] for a in ok["log"]] == [0, 0, 0, 1]
        assert receiver.hooks[-1].headers["webhook-id"] == dead["id"]  # same id on replay
        again = await h.client.post(path, headers={**samples.ADMIN, "Idempotency-Key": "r-1"})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert len(receiver.hooks) == 4
        one = await h.client.get(f"/webhooks/deliveries/{dead['id']}", headers=samples.AUDITOR)
        assert one.json()["status"] == "delivered" and len(one.json()["log"]) == 4
        missing = "/webhooks/deliveries/0195f000-0000-7000-8000-000000000099/replay"
        assert (await h.client.post(missing, headers=samples.ADMIN)).status_code == 404


async def test_own_events_reach_subscribers_objection_filed(harness, samples, receiver) -> None:
    import re

    h = harness
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()  # an admin-chosen secret
    r = await _subscribe(h, samples, receiver.url, FILED, secret=secret)
    assert r.status_code == 201 and r.json()["secret"] == secret
    await _approve(h, samples)

    async def notice_id() -> str | None:
        items = (await h.client.get("/publicity/notices.json")).json()["items"]
        return items[0]["id"] if items else None

    nid = await eventually(notice_id)
    page = (await h.client.get(f"/publicity/notices/{nid}")).text
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {
        "form_token": token,
        "name": "李四",
        "contact": "13987654321",
        "reason": "申报数量不实，请核查。",
    }
    assert (
        await h.client.post(f"/publicity/notices/{nid}/objections", data=form)
    ).status_code == 201
    hook = await eventually(lambda: receiver.hooks[0] if receiver.hooks else None)
    body = json.loads(hook.body)
    assert body["type"] == FILED and body["data"]["notice_id"] == nid
    assert verify(secret, hook.headers, hook.body)
    assert "李四" not in hook.body.decode()


@pytest.mark.parametrize("address", ["10.20.30.40", "::ffff:0:7f00:1"])
async def test_a_host_that_now_resolves_privately_is_not_called(
    harness, samples, receiver, monkeypatch, address
) -> None:
    """Checked after resolution at delivery time too: "::ffff:0:7f00:1" (IPv4-translated
    127.0.0.1) is a global address to Python's ``is_global``."""
    import ruralfund_notify.service.webhooks as webhooks_service

    h = harness
    subscription = (await _subscribe(h, samples, receiver.url, APPROVED)).json()

    async def rebound(target: Any) -> list[str]:  # DNS changed after the subscription
        return [address]

    monkeypatch.setattr(webhooks_service, "resolve", rebound)
    await _approve(h, samples)
    [dead] = await eventually(lambda: _log(h, samples, subscription["id"], status="dead"))
    assert dead["dead_reason"] == "TARGET_FORBIDDEN"
    assert f"resolves to {address}, which is not a public address" in dead["last_error"]
    assert receiver.hooks == []


async def test_production_setting_refuses_loopback_private_and_plain_http(
    make_harness, samples
) -> None:
    async with make_harness(webhook_allow_loopback=False) as h:
        for url in (
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://10.0.0.7/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:192.168.1.1]/hook",
            "https://[::127.0.0.1]/hook",  # IPv4-compatible
            "https://[::ffff:0:7f00:1]/hook",  # IPv4-translated
            "https://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
            "https://[64:ff9b::7f00:1]/hook",  # well-known NAT64 of 127.0.0.1
            "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
            "https://[fec0::1]/hook",  # site-local
            "http://8.8.8.8/hook",
        ):
            r = await _subscribe(h, samples, url, APPROVED)
            assert r.status_code == 422, (url, r.text)
            assert (r.json()["code"], r.json()["field"]) == ("WEBHOOK_TARGET_FORBIDDEN", "url"), url
        assert await h.fetchval("SELECT count(*) FROM webhook_subscriptions") == 0


async def test_subscriptions_check_types_roles_and_can_be_disabled(
    harness, samples, receiver
) -> None:
    h = harness
    offered = (await h.client.get("/webhooks/event-types", headers=samples.AUDITOR)).json()
    assert APPROVED in offered and FILED in offered
    unknown = await _subscribe(h, samples, receiver.url, "funds.evt.funds_released.v1")
    assert unknown.status_code == 422 and unknown.json()["code"] == "UNKNOWN_EVENT_TYPE"
    bad_secret = await _subscribe(h, samples, receiver.url, APPROVED, secret="plain")
    assert bad_secret.status_code == 422 and bad_secret.json()["code"] == "INVALID_SECRET"
    by_auditor = await h.client.post(
        "/webhooks/subscriptions",
        json={"url": receiver.url, "event_types": [APPROVED]},
        headers=samples.AUDITOR,
    )
    assert by_auditor.status_code == 403

    made = (await _subscribe(h, samples, receiver.url, APPROVED)).json()
    listed = (await h.client.get("/webhooks/subscriptions", headers=samples.AUDITOR)).json()
    assert [s["id"] for s in listed] == [made["id"]] and "secret" not in listed[0]
    off = await h.client.delete(f"/webhooks/subscriptions/{made['id']}", headers=samples.ADMIN)
    assert off.status_code == 200 and off.json()["active"] is False
    await _approve(h, samples)
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
    assert receiver.hooks == []
