"""Each service's AsyncAPI document, judged by `@asyncapi/cli validate` (issue 19), pinned in
package.json and installed by `make test` (`make node-tools`). A missing node or CLI FAILS here on
purpose: a validation that silently does not run proves nothing. The apps are built, not started.

Beyond the CLI: every message declares its NATS headers and finds its correlation id in the
payload, where the relay really puts it (tests/e2e/test_event_documents.py checks real messages).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.testing.services import service_settings
from ruralfund_funds.app import create_app as funds_app
from ruralfund_logistics.app import create_app as logistics_app
from ruralfund_notify.app import create_app as notify_app

ROOT = Path(__file__).resolve().parents[1]
ASYNCAPI = ROOT / "node_modules" / ".bin" / "asyncapi"
SERVICES: dict[str, Callable[..., FastAPI]] = {
    "claims": claims_app, "funds": funds_app, "logistics": logistics_app, "notify": notify_app,
}
VALIDATE_TIMEOUT_SECONDS = 180
RELAY_HEADERS = {"content-type", "Nats-Msg-Id", "Ruralfund-Seq", "Ruralfund-Producer", "Ruralfund-Key-Id",
                 "Ruralfund-Signature", "traceparent"}


def _document(service: str) -> dict[str, Any]:
    settings = service_settings(service, nats_url="nats://127.0.0.1:1",
                                database_url="postgresql://x@127.0.0.1:1/x", namespace="lint")
    return SERVICES[service](settings=settings).state.ctx.messaging.asyncapi()


def _validate(document: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which("node"), "node is missing: run `make node-tools` (installs Debian's nodejs)"
    assert ASYNCAPI.exists(), f"{ASYNCAPI} is missing: run `make node-tools` (npm ci from package-lock.json)"
    # the CLI reports usage to a metrics service unless its config file says no
    metrics = tmp_path / "asyncapi-analytics.json"
    metrics.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "test"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(metrics), "SUPPRESS_NO_CONFIG_WARNING": "1",
           "NO_COLOR": "1", "CI": "true"}
    return subprocess.run([str(ASYNCAPI), "validate", str(document), "--fail-severity", "error"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=VALIDATE_TIMEOUT_SECONDS, check=False)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_asyncapi_document_is_valid_for_the_asyncapi_cli(service: str, tmp_path: Path) -> None:
    document = tmp_path / f"{service}.asyncapi.json"
    document.write_text(json.dumps(_document(service), ensure_ascii=False), encoding="utf-8")
    done = _validate(document, tmp_path)
    print(done.stdout)
    assert done.returncode == 0 and "is valid" in done.stdout, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_the_cli_refuses_a_broken_document(tmp_path: Path) -> None:
    """The check above can fail: a message whose headers point at a schema that is not there."""
    broken = _document("claims")
    message = next(iter(broken["components"]["messages"].values()))
    message["headers"] = {"$ref": "#/components/schemas/NoSuchHeaders"}
    document = tmp_path / "broken.json"
    document.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    done = _validate(document, tmp_path)
    assert done.returncode != 0, done.stdout


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_message_declares_the_headers_and_the_correlation_id_in_the_payload(service: str) -> None:
    document = _document(service)
    schemas = document["components"]["schemas"]
    messages = document["components"]["messages"]
    assert messages
    for name, message in messages.items():
        assert message["correlationId"]["location"] == "$message.payload#/correlationid", name
        headers = schemas[message["headers"]["$ref"].rsplit("/", 1)[1]]
        assert RELAY_HEADERS <= set(headers["properties"]), name
        assert {"Nats-Msg-Id", "Ruralfund-Key-Id", "Ruralfund-Signature"} <= set(headers["required"]), name
        if ".evt." in name:
            assert {"Ruralfund-Seq", "content-type"} <= set(headers["required"]), name
        payload = schemas[message["payload"]["$ref"].rsplit("/", 1)[1].replace("%5B", "[").replace("%5D", "]")]
        assert "specversion" in payload["required"] and "correlationid" in payload["required"], name
