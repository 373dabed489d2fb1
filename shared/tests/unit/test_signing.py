"""Event signatures: what is covered, who may sign what, and the production rules."""

from __future__ import annotations

import pytest
from ruralfund_common.clock import SystemClock
from ruralfund_common.errors import InvalidInput
from ruralfund_common.messaging import Event, Messaging
from ruralfund_common.messaging.envelope import make_envelope
from ruralfund_common.messaging.outbox import check_size
from ruralfund_common.messaging.signing import (
    DEV_GATEWAY,
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    MAX_EVENT_BYTES,
    EventKeyError,
    EventKeys,
    SignatureRejected,
    SigningKey,
    TrustedKeys,
)
from ruralfund_common.settings import load_settings

SUBJECT = "claims.evt.claim_approved.v1"
PHYSICAL = "xinping.claims.evt.claim_approved.v1"
DATA = b'{"id":"m-1","type":"claims.evt.claim_approved.v1","data":{"amount_fen":246900}}'
HEADERS = {"Nats-Msg-Id": "m-1", "Ruralfund-Seq": "7", "Ruralfund-Producer": "claims"}


def _rejected(trusted: TrustedKeys, headers: dict[str, str], *, subject: str = PHYSICAL, logical: str = SUBJECT,
              data: bytes = DATA) -> str:
    with pytest.raises(SignatureRejected) as err:
        trusted.verify(subject, logical, data, headers)
    return err.value.code


def test_the_owner_dev_key_is_accepted_and_everything_it_covers_is_bound() -> None:
    trusted = TrustedKeys.dev()
    signed = SigningKey.dev("claims").sign(PHYSICAL, DATA, HEADERS)
    assert signed[HEADER_KEY_ID] == "dev-claims" and len(signed[HEADER_SIGNATURE]) == 86  # 64 bytes base64url
    assert trusted.verify(PHYSICAL, SUBJECT, DATA, signed) == "dev-claims"
    assert _rejected(trusted, signed, data=DATA.replace(b"246900", b"946900")) == "BAD_SIGNATURE"
    assert _rejected(trusted, {**signed, "Nats-Msg-Id": "m-2"}) == "BAD_SIGNATURE"
    assert _rejected(trusted, {**signed, "Ruralfund-Seq": "1000000"}) == "BAD_SIGNATURE"
    assert _rejected(trusted, {k: v for k, v in signed.items() if k != "Ruralfund-Seq"}) == "BAD_SIGNATURE"
    # another namespace's subject (same dev keys) is another subject
    assert _rejected(trusted, signed, subject="ruyuan.claims.evt.claim_approved.v1") == "BAD_SIGNATURE"
    assert _rejected(trusted, {**signed, HEADER_SIGNATURE: "not-base64!"}) == "BAD_SIGNATURE"
    # headers outside the signature (trace context) may change
    assert trusted.verify(PHYSICAL, SUBJECT, DATA, {**signed, "traceparent": "00-x"}) == "dev-claims"


def test_unsigned_unknown_and_wrong_owner_keys_are_refused() -> None:
    trusted = TrustedKeys.dev()
    assert _rejected(trusted, HEADERS) == "UNSIGNED"
    assert _rejected(trusted, {**HEADERS, HEADER_KEY_ID: "dev-claims"}) == "UNSIGNED"
    assert _rejected(trusted, SigningKey.generate("claims-2026").sign(PHYSICAL, DATA, HEADERS)) == "UNKNOWN_SIGNING_KEY"
    assert _rejected(trusted, SigningKey.dev("funds").sign(PHYSICAL, DATA, HEADERS)) == "WRONG_SIGNER"
    # the dev gateway may send commands, never events
    assert _rejected(trusted, SigningKey.dev(DEV_GATEWAY).sign(PHYSICAL, DATA, HEADERS)) == "WRONG_SIGNER"
    cmd = "logistics.cmd.record_scans.v1"
    assert trusted.verify(cmd, cmd, DATA, SigningKey.dev(DEV_GATEWAY).sign(cmd, DATA, {})) == "dev-gateway"


def test_rotation_several_keys_per_owner_and_scoped_command_senders() -> None:
    old, new, sorter = SigningKey.generate("claims-2025"), SigningKey.generate("claims-2026"), SigningKey.generate("sorter-1")
    text = (f"{old.trusted_entry('claims.>')}, {new.trusted_entry('claims.>')}\n"
            f"{sorter.trusted_entry('logistics.cmd.record_scans.v1')}")
    trusted = TrustedKeys.parse(text)
    assert trusted.key_ids == ["claims-2025", "claims-2026", "sorter-1"]
    for key in (old, new):
        assert trusted.verify(SUBJECT, SUBJECT, DATA, key.sign(SUBJECT, DATA, HEADERS)) == key.key_id
    cmd = "logistics.cmd.record_scans.v1"
    assert trusted.verify(cmd, cmd, DATA, sorter.sign(cmd, DATA, {})) == "sorter-1"
    other = "logistics.cmd.register_station.v1"
    assert _rejected(trusted, sorter.sign(other, DATA, {}), subject=other, logical=other) == "WRONG_SIGNER"
    # a key given two scopes by repeating its entry
    both = TrustedKeys.parse(f"{new.trusted_entry('claims.>')} {new.trusted_entry('funds.evt.*.v1')}")
    funds = "funds.evt.payment_executed.v1"
    assert both.verify(funds, funds, DATA, new.sign(funds, DATA, {})) == "claims-2026"


def test_keys_round_trip_through_their_settings_text() -> None:
    key = SigningKey.generate("funds-2026a")
    again = SigningKey.parse(key.setting())
    assert again.key_id == "funds-2026a" and again.public_text() == key.public_text()
    assert SigningKey.dev("claims").public_text() == SigningKey.dev("claims").public_text()  # deterministic
    assert SigningKey.dev("claims").public_text() != SigningKey.dev("funds").public_text()


@pytest.mark.parametrize("text", [
    "no-colon", "bad id:AAAA", "k1:tooshort", "k1:" + "A" * 43 + ":extra",
])
def test_malformed_signing_keys_are_refused(text: str) -> None:
    with pytest.raises(EventKeyError):
        SigningKey.parse(text)


@pytest.mark.parametrize("text", [
    "", "k1:claims.>", "k1:Claims.>:" + "A" * 43, "k1:claims.>.x:" + "A" * 43, "k1:claims.>:short",
])
def test_malformed_trusted_keys_are_refused(text: str) -> None:
    with pytest.raises(EventKeyError):
        TrustedKeys.parse(text)


def test_one_key_id_with_two_public_keys_is_refused() -> None:
    a, b = SigningKey.generate("k1"), SigningKey.generate("k1")
    with pytest.raises(EventKeyError, match="two different public keys"):
        TrustedKeys.parse(f"{a.trusted_entry('claims.>')},{b.trusted_entry('claims.>')}")


def test_production_requires_real_keys_and_refuses_dev_keys() -> None:
    real = SigningKey.generate("claims-2026")
    trusted = real.trusted_entry("claims.>")
    with pytest.raises(EventKeyError, match="required"):
        EventKeys.load("claims", env="production", signing_key=None, trusted_keys=trusted)
    with pytest.raises(EventKeyError, match="required"):
        EventKeys.load("claims", env="production", signing_key=real.setting(), trusted_keys=None)
    with pytest.raises(EventKeyError, match="development"):
        EventKeys.load("claims", env="production", signing_key=SigningKey.dev("claims").setting(), trusted_keys=trusted)
    with pytest.raises(EventKeyError, match="development"):
        EventKeys.load("claims", env="production", signing_key=real.setting(),
                       trusted_keys=f"{trusted},{SigningKey.dev('funds').trusted_entry('funds.>')}")
    keys = EventKeys.load("claims", env="production", signing_key=real.setting(), trusted_keys=trusted)
    assert keys.signing.key_id == "claims-2026" and keys.trusted.key_ids == ["claims-2026"]
    dev = EventKeys.load("claims", env="test", signing_key=None, trusted_keys=None)
    assert dev.signing.key_id == "dev-claims" and "dev-funds" in dev.trusted.key_ids


def test_settings_carry_the_keys_and_a_production_service_refuses_to_start_without_them() -> None:
    real = SigningKey.generate("funds-2026")
    environ = {"RURALFUND_ENV": "production", "RURALFUND_FUNDS_EVENT_SIGNING_KEY": real.setting(),
               "RURALFUND_EVENT_TRUSTED_KEYS": real.trusted_entry("funds.>")}
    settings = load_settings("funds", environ=environ)
    assert real.setting() not in repr(settings)  # a secret: never in logs
    assert EventKeys.from_settings(settings).signing.key_id == "funds-2026"

    class Ctx:
        def __init__(self, s: object) -> None:
            self.settings = s

    m = Messaging(service="funds", nats_url="nats://unused", namespace="", clock=SystemClock(),
                  ctx=Ctx(load_settings("funds", environ={"RURALFUND_ENV": "production"})))
    with pytest.raises(EventKeyError, match="required"):
        m._event_keys()
    m = Messaging(service="funds", nats_url="nats://unused", namespace="", clock=SystemClock(), ctx=Ctx(settings))
    assert m._event_keys().signing.key_id == "funds-2026"


class Big(Event):
    SUBJECT = "claims.evt.big_thing.v1"
    text: str


def test_the_producer_refuses_an_event_above_the_limit() -> None:
    def envelope(chars: int) -> dict:
        return make_envelope(Big(text="x" * chars), source="claims", aggregate_id="a", time=SystemClock().now())

    check_size(envelope(MAX_EVENT_BYTES - 1000))
    with pytest.raises(InvalidInput) as err:
        check_size(envelope(MAX_EVENT_BYTES))
    assert err.value.code == "EVENT_TOO_LARGE"
    with pytest.raises(InvalidInput):  # measured in UTF-8 bytes, not characters
        check_size(make_envelope(Big(text="农" * (MAX_EVENT_BYTES // 3)), source="claims", aggregate_id="a",
                                 time=SystemClock().now()))


def test_the_largest_legitimate_message_fits_a_full_scan_batch() -> None:
    from ruralfund_common.contracts.logistics.record_scans import (
        MAX_SCANS_PER_COMMAND,
        RecordScans,
        ScanRecord,
    )

    station = "0195a1d2-0000-7000-8000-000000000001"
    scans = [ScanRecord(scan_id=f"0195a1d2-{i:04d}-7000-8000-000000000001", parcel_id=f"ZT{10**12 + i}",
                        station_id=station, kind="arrived_at_village", scanned_at="2021-07-03T09:30:00+08:00",
                        destination_station_id=station) for i in range(MAX_SCANS_PER_COMMAND)]
    check_size(make_envelope(RecordScans(source="sorting-line-01", scans=scans), source="gateway",
                             aggregate_id="sorting-line-01", time=SystemClock().now()))


# --------------------------------------------------------------------------- repair answers


def test_a_repair_answer_needs_the_owners_key_for_the_subject_and_its_events() -> None:
    channel, body = "_rf.republish.logistics", b'{"nonce":"n"}'
    trusted = TrustedKeys.dev()
    owner = SigningKey.dev("logistics")
    assert trusted.verify_answer(channel, "logistics.cmd.record_scans.v1", body,
                                 owner.sign_answer(channel, body)) == "dev-logistics"
    # the gateway may sign logistics' commands, not vouch for logistics' outbox
    gateway = SigningKey.dev(DEV_GATEWAY)
    with pytest.raises(SignatureRejected) as r:
        trusted.verify_answer(channel, "logistics.cmd.record_scans.v1", body, gateway.sign_answer(channel, body))
    assert r.value.code == "WRONG_SIGNER"
    # an answer signature is no event signature, and the reverse
    event_headers = owner.sign(channel, body, {})
    with pytest.raises(SignatureRejected) as r:
        trusted.verify_answer(channel, "logistics.evt.x.v1", body, event_headers)
    assert r.value.code == "BAD_SIGNATURE"
    with pytest.raises(SignatureRejected):
        trusted.verify(channel, "logistics.evt.x.v1", body, owner.sign_answer(channel, body))
    # bound to the channel it was sent on
    with pytest.raises(SignatureRejected):
        trusted.verify_answer("_rf.republish.x", "logistics.evt.x.v1", body, owner.sign_answer(channel, body))
