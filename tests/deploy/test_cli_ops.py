"""``ruralfund deploy dlq-list | dlq-redrive | republish`` as the ops user on a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ruralfund_common.clock import SystemClock
from ruralfund_common.contracts import ClaimApproved
from ruralfund_common.messaging.inbox import Delivery, EventProcessor
from ruralfund_common.messaging.signing import SigningKey, TrustedKeys
from ruralfund_common.messaging.streams import ensure_stream
from ruralfund_common.messaging.subjects import Namespace
from ruralfund_common.testing.infra import connect_nats
from typer.testing import CliRunner

from ruralfund.cli_deploy import app

from .conftest import LockedNats

pytestmark = pytest.mark.integration
runner = CliRunner()
SUBJECT = ClaimApproved.SUBJECT
BODY = json.dumps({"id": "m-1", "type": SUBJECT, "data": {"claim_id": "c-1"}}).encode()


async def _dead_letter_one(server: LockedNats) -> None:
    """A dead letter exactly as the consumer framework writes one (as funds, its real user)."""
    ns = Namespace("")
    nc = await connect_nats(server.url_for("funds"))
    try:
        js = nc.jetstream()
        for owner in ("claims", "funds"):
            await ensure_stream(js, ns.stream(owner), ns.stream_subjects(owner))
        await ensure_stream(js, ns.dlq_stream, [ns.subject("dlq.>")])
        processor = EventProcessor(
            service="funds", consumer="funds__on_claim_approved", subject=SUBJECT,
            model=ClaimApproved, handler=None, pool=None, nc=nc, namespace=ns,  # type: ignore[arg-type]
            clock=SystemClock(), max_deliver=5)
        await processor.publish_dead_letter(
            Delivery(subject=SUBJECT, data=BODY, num_delivered=3, headers=SigningKey.dev("claims").sign(
                SUBJECT, BODY, {"Nats-Msg-Id": "m-1", "Ruralfund-Seq": "7", "Ruralfund-Producer": "claims"})),
            "CLAIM_UNKNOWN: no such claim")
    finally:
        await nc.close()


async def _stream_tail(server: LockedNats, stream: str) -> tuple[int, Any]:
    nc = await connect_nats(server.url_for("ops"))
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        return state.messages, (await js.get_msg(stream, state.last_seq) if state.messages else None)
    finally:
        await nc.close()


def test_dead_letters_are_listed_and_redriven_to_their_subject(locked_nats: LockedNats, monkeypatch) -> None:
    operator = SigningKey.generate("ops-20261125-ab12")  # what `deploy secrets` writes
    monkeypatch.setenv("RURALFUND_OPS_EVENT_SIGNING_KEY", operator.setting())
    asyncio.run(_dead_letter_one(locked_nats))
    ops = ["--nats-url", locked_nats.url_for("ops")]
    listed = runner.invoke(app, ["dlq-list", "--json", *ops])
    assert listed.exit_code == 0, listed.output
    [letter] = json.loads(listed.output.splitlines()[0])
    assert letter["consumer"] == "funds__on_claim_approved"
    assert (letter["subject"], letter["dlq_subject"]) == (SUBJECT, f"dlq.funds.{SUBJECT}")
    assert letter["reason"].startswith("CLAIM_UNKNOWN") and letter["deliveries"] == "3"

    redriven = runner.invoke(app, ["dlq-redrive", str(letter["seq"]), "--delete", *ops])
    assert redriven.exit_code == 0, redriven.output
    done = json.loads(redriven.output.splitlines()[0])
    assert (done["stream"], done["subject"], done["message_id"]) == ("RURALFUND_CLAIMS", SUBJECT, "m-1")
    assert ("DELETE FROM funds.inbox WHERE consumer = 'funds__on_claim_approved' "
            "AND message_id = 'm-1'") in redriven.output
    _count, msg = asyncio.run(_stream_tail(locked_nats, "RURALFUND_CLAIMS"))
    assert msg.subject == SUBJECT and msg.data == BODY
    # as the producer signed it: same message id and sequence; applied outside the sequence check
    assert (msg.headers["Nats-Msg-Id"], msg.headers["Ruralfund-Seq"]) == ("m-1", "7")
    assert msg.headers["Ruralfund-Redriven-From"] == f"RURALFUND_DLQ:{letter['seq']}"
    assert msg.headers["Ruralfund-Key-Id"] == "dev-claims"
    assert SigningKey.dev("claims").sign(SUBJECT, BODY, msg.headers)["Ruralfund-Signature"] == \
        msg.headers["Ruralfund-Signature"]
    # the redrive mark is the operator's, signed with the key from the environment
    assert msg.headers["Ruralfund-Redrive-Key-Id"] == operator.key_id
    trusted = TrustedKeys.parse(operator.trusted_entry("redrive.>"))
    assert trusted.verify_redrive(SUBJECT, SUBJECT, BODY, msg.headers) == operator.key_id
    assert not any(h.startswith("Ruralfund-Dlq-") for h in msg.headers)
    assert msg.headers["Ruralfund-Producer"] == "claims"
    assert asyncio.run(_stream_tail(locked_nats, "RURALFUND_DLQ"))[0] == 0  # --delete


async def test_republish_asks_the_producer_in_chunks(locked_nats: LockedNats) -> None:
    asked: list[dict[str, int]] = []

    async def relay(msg: Any) -> None:  # stands in for claims' OutboxRelay._on_republish
        asked.append(json.loads(msg.data))
        await msg.respond(json.dumps({"republished": 0, "oldest_seq": 1}).encode())

    nc = await connect_nats(locked_nats.url_for("claims"))  # as the producer's own user
    try:
        await nc.subscribe("_rf.republish.claims", cb=relay)
        await nc.flush()
        result = await asyncio.to_thread(runner.invoke, app, [
            "republish", "claims", SUBJECT, "--from-seq", "1", "--to-seq", "25000",
            "--nats-url", locked_nats.url_for("ops")])
        assert result.exit_code == 0, result.output
    finally:
        await nc.close()
    assert [(a["from_seq"], a["to_seq"]) for a in asked] == [(1, 10000), (10001, 20000), (20001, 25000)]
    assert {a["subject"] for a in asked} == {SUBJECT}
    assert len({a["nonce"] for a in asked}) == 3  # a fresh nonce per request
    printed = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(printed) == 3
    assert all(p["signed_by"] == "NOT VERIFIED (UNSIGNED)" for p in printed)  # this stand-in signs nothing


async def test_republish_as_ops_gets_the_owners_signed_answer(locked_nats: LockedNats, database_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The real outbox relay of claims, under its locked-down NATS user, answers ops' request;
    the command checks the owner's signature on the answer."""
    from ruralfund_common.db.migrate import migrate
    from ruralfund_common.db.pool import create_pool
    from ruralfund_common.messaging import OutboxRelay

    monkeypatch.delenv("RURALFUND_EVENT_TRUSTED_KEYS", raising=False)  # the dev keys
    await migrate(database_url, "claims", None)
    pool = await create_pool(database_url, "claims")
    relay = OutboxRelay(pool, locked_nats.url_for("claims"), producer="claims", namespace=Namespace(""))
    await relay.start()
    try:
        result = await asyncio.to_thread(runner.invoke, app, [
            "republish", "claims", SUBJECT, "--from-seq", "1", "--to-seq", "5",
            "--nats-url", locked_nats.url_for("ops")])
    finally:
        await relay.stop()
        await pool.close()
    assert result.exit_code == 0, result.output
    [answer] = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert (answer["signed_by"], answer["republished"], answer["pruned_below_seq"]) == ("dev-claims", 0, 1)


def test_republish_without_a_running_producer_fails_clearly(locked_nats: LockedNats) -> None:
    result = runner.invoke(app, ["republish", "funds", "funds.evt.payment_executed.v1",
                                 "--nats-url", locked_nats.url_for("ops")])
    assert result.exit_code == 2
    assert "no answer from funds" in result.output
    wrong = runner.invoke(app, ["republish", "funds", "claims.evt.claim_approved.v1",
                                "--nats-url", locked_nats.url_for("ops")])
    assert wrong.exit_code == 2


