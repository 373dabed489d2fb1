"""The spoofed-reply attack of issue 15, replayed on funds' real consumers and notify's real
outbox relay over real NATS JetStream and PostgreSQL.

An outsider connects to NATS, subscribes to ``_rf.republish.notify`` and answers every request
with the figures that silenced funds before: ``{"high_water_seq": 1000000}`` to the idle tail
check and ``{"republished": 0, "oldest_seq": null}`` to re-publish requests (plus the new
fields, with the request's own nonce echoed, unsigned). funds then logged
``sequence_gap_accepted``, moved its cursor for ``notify.evt.objection_filed.v1`` to 1,000,000
and dropped the next genuine objection as a duplicate; after the window the payment executed.

Now: funds ignores (and counts) every forged answer, applies the genuine objection, repairs a
real gap from the genuine relay's answer even while the outsider answers too, and refuses the
payment with OBJECTION_PENDING; the cursor never passes what was applied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from ruralfund_common.clock import SystemClock
from ruralfund_common.contracts import PublicityPublished
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.messaging import Namespace, Tx
from ruralfund_common.testing.infra import connect_nats
from ruralfund_common.testing.wait import eventually

from .conftest import ADMIN, FINANCE, MONDAY, World, approved

pytestmark = pytest.mark.integration

OBJECTIONS = ObjectionFiled.SUBJECT
FORGED = 1_000_000


def published(award_id: str) -> PublicityPublished:
    return PublicityPublished(notice_id=f"n-{award_id}", award_id=award_id, claim_id=f"claim-{award_id}",
                              program_code="xinping-2021", item_code="brand-packaging", published_at=MONDAY,
                              starts_on="2026-03-02",
                              ends_on="2026-03-06", url=f"http://notify/publicity/n-{award_id}")


def filed(award_id: str, objection: str) -> ObjectionFiled:
    return ObjectionFiled(objection_id=objection, notice_id=f"n-{award_id}", award_id=award_id,
                          claim_id=f"claim-{award_id}", program_code="xinping-2021",
                          filed_at=datetime(2026, 3, 3, 2, tzinfo=UTC))


@asynccontextmanager
async def outsider(nats_url: str, namespace: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Anyone who can reach NATS, answering notify's repair channel with forged figures."""
    asked: list[dict[str, Any]] = []
    nc = await connect_nats(nats_url)

    async def answer(msg: Any) -> None:
        req = json.loads(msg.data)
        asked.append(req)
        if req.get("high_water"):
            body: dict[str, Any] = {"high_water_seq": FORGED}
        else:
            body = {"republished": 0, "oldest_seq": None}
        body |= {"v": 1, "kind": "high_water" if req.get("high_water") else "republish", "owner": "notify",
                 "subject": req.get("subject"), "nonce": req.get("nonce"), "high_water_seq": FORGED,
                 "pruned_below_seq": FORGED + 1, "answered_at_ms": int(datetime.now(UTC).timestamp() * 1000)}
        await nc.publish(msg.reply, json.dumps(body).encode())

    await nc.subscribe(Namespace(namespace).republish_subject("notify"), cb=answer)
    await nc.flush()
    try:
        yield asked
    finally:
        await nc.close()


async def _cursor(w: World) -> int:
    async with w.funds.app.state.ctx.pool.acquire() as c:
        return int(await c.fetchval("SELECT coalesce(max(last_seq), 0) FROM inbox_cursor WHERE subject = $1",
                                    OBJECTIONS))


def _rejected_unsigned() -> float:
    return REGISTRY.get_sample_value("ruralfund_repair_answers_rejected_total",
                                     {"service": "funds", "subject": OBJECTIONS, "reason": "UNSIGNED"}) or 0.0


async def _lost_in_jetstream(w: World, event: ObjectionFiled, aggregate_id: str) -> None:
    """notify's outbox gives the objection its sequence and marks it sent, but JetStream never
    stores it (JetStream may lose acknowledged messages): only a re-publish can bring it."""
    async with w.notify.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ruralfund.outbox.seq'))")  # the relay's
        env = await Tx(conn, "notify", SystemClock()).emit(event, aggregate_id=aggregate_id)
        seq = await conn.fetchval(
            "INSERT INTO outbox_sequence AS s (subject, last_seq) VALUES ($1, 1) ON CONFLICT (subject) "
            "DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq", OBJECTIONS)
        await conn.execute("UPDATE outbox SET seq = $1, sent_at = now() WHERE id = $2", seq, env["id"])


async def _held(w: World, award_id: str) -> bool:
    award = await w.get(f"/awards/{award_id}")
    return bool(award and award["held"])


async def test_an_outsider_answering_the_repair_channel_cannot_let_a_payment_through(world: World, nats_url: str):
    w = world
    w.funds.app.state.ctx.messaging.tail_check_seconds = 0.2  # idle checks every pull timeout
    for award in ("award-x", "award-y"):
        await w.claims.emit(approved(award), award)
        await w.notify.emit(published(award), award)
    await eventually(lambda: w.get("/awards/award-x"), description="award reserved")
    await eventually(lambda: _window_open(w, "award-x"))
    await eventually(lambda: _window_open(w, "award-y"))
    rejected_before = _rejected_unsigned()

    async with outsider(nats_url, w.namespace) as asked:
        # 1. the idle tail check is answered with high_water_seq 1,000,000 (and the genuine 0)
        await eventually(lambda: _asked(asked, high_water=True) >= 3, timeout=30,
                         description="funds' tail checks on objection_filed answered by the outsider")
        assert await _cursor(w) == 0
        await eventually(lambda: _rejected_unsigned() >= rejected_before + 3, description="forged answers counted")
        # 2. a genuine objection: applied, not dropped as a duplicate
        await w.notify.emit(filed("award-x", "o-1"), "award-x")
        await eventually(lambda: _held(w, "award-x"), timeout=20, description="objection on award-x applied")
        assert await _cursor(w) == 1
        # 3. a real gap (objection 2 lost in JetStream, 3 arrives): the outsider answers the
        #    re-publish request too, but only notify's signed answer counts and brings 2 back
        await _lost_in_jetstream(w, filed("award-y", "o-2"), "award-y")
        await w.notify.emit(filed("award-x", "o-3"), "award-x")
        await eventually(lambda: _held(w, "award-y"), timeout=30, description="lost objection re-published")
        assert _asked(asked, high_water=False) >= 1, "the outsider answered a re-publish request"
        await eventually(lambda: _cursor(w), expect=3)

    # 4. the window is over: the payment is refused while the objection is pending
    await w.clock("2026-03-09T02:00:00Z")
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "10,000.00", "approval_reference": "r"}, FINANCE)
    for award in ("award-x", "award-y"):
        r = await w.post("/payments", {"award_id": award}, ADMIN)
        assert r.status_code == 409 and r.json()["code"] == "OBJECTION_PENDING", r.text
    assert await _cursor(w) == 3
    metrics = (await w.funds.get("/metrics")).text  # what an operator's alert sees
    assert 'ruralfund_repair_answers_rejected_total{reason="UNSIGNED",service="funds",' \
           f'subject="{OBJECTIONS}"}}' in metrics
    async with w.funds.app.state.ctx.pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM inbox_gaps") == 0
        cursors = await c.fetch("SELECT subject, last_seq FROM inbox_cursor")
    assert all(r["last_seq"] < 100 for r in cursors), cursors


def _asked(asked: list[dict[str, Any]], *, high_water: bool) -> int:
    return sum(1 for a in asked if a.get("subject") == OBJECTIONS and bool(a.get("high_water")) == high_water)


async def _window_open(w: World, award_id: str) -> bool:
    award = await w.get(f"/awards/{award_id}")
    return bool(award and award.get("payable_from"))
