"""Each service's OpenAPI document, judged by tools other people wrote (issue 19).

`@redocly/cli lint` with its recommended rules (redocly.yaml) and `@stoplight/spectral-cli`
with `spectral:oas` (.spectral.yaml), both pinned in package.json and installed by `make test`
(`make node-tools`): no errors on any of the four documents. Warnings are printed, not failed.
A missing node or tool FAILS here on purpose: a lint that silently does not run proves nothing.
The apps are built with the dev clock (its routes are documented too) but not started.
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
BIN = ROOT / "node_modules" / ".bin"
SERVICES: dict[str, Callable[..., FastAPI]] = {
    "claims": claims_app, "funds": funds_app, "logistics": logistics_app, "notify": notify_app,
}
# The linters' answers for a document of ~100 operations take a few seconds each.
LINT_TIMEOUT_SECONDS = 120


def _document(service: str, **overrides: Any) -> dict[str, Any]:
    settings = service_settings(service, nats_url="nats://127.0.0.1:1",
                                database_url="postgresql://x@127.0.0.1:1/x", namespace="lint",
                                **overrides)
    return SERVICES[service](settings=settings).openapi()


def _tool(name: str) -> str:
    path = BIN / name
    assert shutil.which("node"), "node is missing: run `make node-tools` (installs Debian's nodejs)"
    assert path.exists(), f"{path} is missing: run `make node-tools` (npm ci from package-lock.json)"
    return str(path)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
           "NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=LINT_TIMEOUT_SECONDS, check=False)


def _redocly(document: Path) -> list[dict[str, Any]]:
    done = _run([_tool("redocly"), "lint", str(document), "--config", str(ROOT / "redocly.yaml"),
                 "--format", "json"])
    start = done.stdout.find("{")  # the JSON report follows any banner
    assert start >= 0, f"redocly gave no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    report, _ = json.JSONDecoder().raw_decode(done.stdout[start:])
    problems = report["problems"]
    # a non-zero exit must come from the problems we read, not from a crash
    assert done.returncode == 0 or any(p["severity"] == "error" for p in problems), done.stderr
    return [{"severity": p["severity"], "rule": p["ruleId"], "message": p["message"],
             "where": [loc.get("pointer") for loc in p.get("location", [])]} for p in problems]


# Spectral's numeric severities
_SPECTRAL_SEVERITY = {0: "error", 1: "warn", 2: "info", 3: "hint"}


def _spectral(document: Path) -> list[dict[str, Any]]:
    done = _run([_tool("spectral"), "lint", str(document), "--ruleset",
                 str(ROOT / ".spectral.yaml"), "--format", "json", "--quiet"])
    start = done.stdout.find("[")
    assert start >= 0, f"spectral gave no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    problems, _ = json.JSONDecoder().raw_decode(done.stdout[start:])
    assert done.returncode == 0 or any(p["severity"] == 0 for p in problems), done.stderr
    return [{"severity": _SPECTRAL_SEVERITY[p["severity"]], "rule": p["code"],
             "message": p["message"], "where": "/".join(map(str, p.get("path", [])))}
            for p in problems]


def _report(tool: str, service: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = [p for p in problems if p["severity"] == "error"]
    counts: dict[str, int] = {}
    for p in problems:
        counts[f"{p['severity']} {p['rule']}"] = counts.get(f"{p['severity']} {p['rule']}", 0) + 1
    print(f"{tool} {service}: {counts or 'clean'}")
    return errors


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_openapi_document_has_no_lint_errors(service: str, tmp_path: Path) -> None:
    document = tmp_path / f"{service}.openapi.json"
    document.write_text(json.dumps(_document(service), ensure_ascii=False), encoding="utf-8")
    errors = {
        "redocly": _report("redocly", service, _redocly(document)),
        "spectral": _report("spectral", service, _spectral(document)),
    }
    assert not any(errors.values()), json.dumps(errors, ensure_ascii=False, indent=1)


def test_the_linters_find_errors_in_a_document_that_has_them(tmp_path: Path) -> None:
    """The checks above can fail: a public operation without `security`, no `servers`, and an
    example that does not match its schema are reported as errors."""
    document = _document("claims")
    del document["servers"]
    del document["paths"]["/healthz"]["get"]["security"]
    body = document["paths"]["/programs"]["post"]["requestBody"]
    body["content"]["application/yaml"]["example"] = "# see programs/xinping-2021.yaml"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    redocly = {p["rule"] for p in _redocly(broken) if p["severity"] == "error"}
    spectral = {p["rule"] for p in _spectral(broken) if p["severity"] == "error"}
    assert {"security-defined", "no-empty-servers"} <= redocly
    assert "oas3-valid-media-example" in spectral


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_public_operations_say_so_and_the_others_need_a_bearer_token(service: str) -> None:
    document = _document(service)
    assert "bearerAuth" in document["components"]["securitySchemes"]
    public: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            assert security is not None, f"{method.upper()} {path} says nothing about security"
            if security == []:
                public.append(f"{method.upper()} {path}")
            else:
                assert all(set(s) == {"bearerAuth"} for s in security), (path, security)
    # the health and event documents are public in every service
    assert {"GET /healthz", "GET /readyz", "GET /asyncapi.json"} <= set(public)


def test_servers_come_from_the_settings() -> None:
    assert _document("funds")["servers"] == [
        {"url": "/", "description": "this service, where this document is served"}]
    servers = _document("funds", api_base_url="https://funds.example.gov.cn/api/")["servers"]
    assert servers[0]["url"] == "https://funds.example.gov.cn/api"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_success_answer_documents_its_body(service: str) -> None:
    """funds documented no response body at all (issue 17): each 2xx answer names a schema
    (a file download's is a binary string)."""
    missing: set[str] = set()
    for path, operations in _document(service)["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                content = response.get("content") or {"": {}}
                if status.startswith("2") and any(not c.get("schema") for c in content.values()):
                    missing.add(f"{method.upper()} {path} {status}")
    assert not missing, sorted(missing)
