"""GET /.well-known/ruralfund/event-keys: the public halves of the keys a service trusts, with
their scopes, and never a private seed (issue 19). The app is built, not started."""

from __future__ import annotations

from fastapi.testclient import TestClient
from ruralfund_common.messaging.signing import SigningKey
from ruralfund_common.testing.services import service_settings
from ruralfund_funds.app import create_app


def test_event_keys_lists_public_keys_and_scopes_and_no_secret() -> None:
    own, gateway = SigningKey.generate("funds-2026a"), SigningKey.generate("gw-1")
    trusted = ",".join([own.trusted_entry("funds.>"), gateway.trusted_entry("logistics.cmd.>"),
                        gateway.trusted_entry("funds.cmd.>")])
    settings = service_settings("funds", nats_url="nats://127.0.0.1:1", database_url="postgresql://x@127.0.0.1:1/x",
                                namespace="keys", event_signing_key=own.setting(), event_trusted_keys=trusted)
    client = TestClient(create_app(settings=settings))  # no `with`: the lifespan (NATS, PostgreSQL) stays off
    r = client.get("/.well-known/ruralfund/event-keys")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["signing_key_id"] == "funds-2026a" and body["algorithm"] == "Ed25519"
    assert {k["key_id"]: (k["public_key"], k["scopes"]) for k in body["keys"]} == {
        "funds-2026a": (own.public_text(), ["funds.>"]),
        "gw-1": (gateway.public_text(), ["logistics.cmd.>", "funds.cmd.>"]),
    }
    assert own.setting().split(":", 1)[1] not in r.text  # the private seed never leaves
