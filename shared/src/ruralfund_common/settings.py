"""Settings shared by every service.

Each value is looked up as ``RURALFUND_<SVC>_<NAME>`` first (so one host can run services
against different databases), then ``RURALFUND_<NAME>``, then the conventional bare names
``NATS_URL`` / ``DATABASE_URL`` that operators and test fixtures set.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from .tls import nats_tls_options

__all__ = ["SERVICES", "ServiceSettings", "load_settings", "nats_servers"]

SERVICES = ("claims", "funds", "logistics", "notify")

_BARE_ALIASES = {"nats_url": "NATS_URL", "database_url": "DATABASE_URL"}


class ServiceSettings(BaseModel):
    service: str
    env: Literal["development", "test", "production"] = "development"
    # One URL, or the servers of a cluster separated by commas ("nats://n1:4222,nats://n2:4222"):
    # the client tries them all at connect and on every reconnect (nats_servers).
    nats_url: str = "nats://127.0.0.1:4222"
    # Copies JetStream keeps of each of our streams: 1 on a single server, 3 on a three-node
    # cluster (a stream then survives the loss of one node). Existing streams are scaled to it.
    nats_replicas: int = Field(default=1, ge=1, le=5)
    # TLS to NATS (ruralfund_common.tls): the CA the server's certificate must chain to, and
    # this service's client certificate and key for a server that verifies clients.
    nats_tls_ca_file: str | None = None
    nats_tls_cert_file: str | None = None
    nats_tls_key_file: str | None = None
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # The schema owner's login, used only to migrate (ruralfund_common.db.access): with it,
    # DATABASE_URL is the runtime role, which may change rows but no table, rule or trigger.
    migration_database_url: SecretStr | None = None
    # false: migrations are run beforehand (`ruralfund db migrate`); the service only checks.
    migrate_on_start: bool = True
    # Prefix for NATS subjects and stream names, so several deployments (or tests) can share
    # one NATS server without seeing each other's messages. Empty in normal deployments.
    namespace: str = ""
    clock: Literal["system", "dev"] = "system"
    dev_clock_file: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1, le=5000)
    outbox_retention_days: int = Field(default=30, ge=1)
    consumer_max_deliver: int = Field(default=20, ge=2, le=1000)
    calendar_dir: str | None = None
    public_base_url: str | None = None
    # Where integrators reach this service's HTTP API (behind a gateway, say), listed first in
    # the OpenAPI document's `servers`; unset: only "/" (the address the document came from).
    api_base_url: str | None = None
    # Event signatures (ruralfund_common.messaging.signing): this service's Ed25519 key
    # "<key id>:<base64url seed>" and the public keys it trusts, "<key id>:<scope>:<public key>"
    # entries. Both required in production; unset elsewhere means the deterministic dev keys.
    event_signing_key: SecretStr | None = None
    event_trusted_keys: str | None = None

    @field_validator("namespace")
    @classmethod
    def _namespace_is_token(cls, v: str) -> str:
        if v and not v.replace("_", "").isalnum():
            raise ValueError("namespace must be letters, digits and underscores")
        return v.lower()

    @field_validator("nats_url")
    @classmethod
    def _nats_url_lists_servers(cls, v: str) -> str:
        if not nats_servers(v):
            raise ValueError("NATS_URL names no server")
        return v

    @model_validator(mode="after")
    def _nats_tls_files_go_together(self) -> ServiceSettings:
        # at start, not at the first connect: a half-configured TLS is a deployment mistake
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            raise ValueError("RURALFUND_NATS_TLS_CERT_FILE and RURALFUND_NATS_TLS_KEY_FILE go together")
        if self.nats_tls_cert_file is not None and self.nats_tls_ca_file is None:
            raise ValueError("RURALFUND_NATS_TLS_CERT_FILE needs RURALFUND_NATS_TLS_CA_FILE")
        return self

    @property
    def nats_tls(self) -> dict[str, object]:
        """Keyword arguments for ``nats.connect``: the TLS context, or nothing."""
        return nats_tls_options(self.nats_tls_ca_file, self.nats_tls_cert_file, self.nats_tls_key_file)

    @property
    def schema(self) -> str:
        return self.service


def load_settings(service: str, environ: dict[str, str] | None = None, **overrides) -> ServiceSettings:
    """Build settings for ``service`` from the environment, with explicit overrides winning."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {"service": service}
    svc = service.upper()
    for name in ServiceSettings.model_fields:
        if name == "service":
            continue
        for key in (f"RURALFUND_{svc}_{name.upper()}", f"RURALFUND_{name.upper()}", _BARE_ALIASES.get(name)):
            if key and key in env and env[key] != "":
                values[name] = env[key]
                break
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ServiceSettings.model_validate(values)


def nats_servers(url: str) -> list[str]:
    """The server URLs in a NATS_URL: one, or a cluster's separated by commas (nats-py takes a
    list, not the comma-separated form the Go client and the nats CLI accept)."""
    return [u.strip() for u in url.split(",") if u.strip()]
