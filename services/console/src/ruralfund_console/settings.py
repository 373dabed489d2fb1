"""The console's settings (environment ``RURALFUND_CONSOLE_*``; ``RURALFUND_ENV`` and
``RURALFUND_USERS_FILE`` as the services read them).

Sign-in at the county IdP: ``RURALFUND_CONSOLE_OIDC_*`` say who the console is at the IdP
(issuer, client, redirect URL, scopes). Which IdP groups are which roles is NOT here: it is
``RURALFUND_AUTH_OIDC_ROLES_CLAIM`` / ``_ROLE_MAP`` in ``ruralfund_common.auth``, read by the
services and the console alike, so the console never shows a role the services would not grant.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_PORT", "ConsoleSettings"]

DEFAULT_PORT = 8005


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RURALFUND_CONSOLE_", extra="ignore")

    env: str = Field(default="development", validation_alias=AliasChoices("RURALFUND_ENV", "env"))
    claims_url: str = "http://127.0.0.1:8001"
    funds_url: str = "http://127.0.0.1:8002"
    logistics_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    # Signs the session cookie. Unset outside production: a random one per process (signing in
    # again after a restart is the price).
    session_secret: SecretStr | None = None
    users_file: str | None = Field(default=None, validation_alias=AliasChoices("RURALFUND_USERS_FILE", "users_file"))
    http_port: int = DEFAULT_PORT
    # OpenID Connect: authorization code + PKCE at the county IdP (services/console/README.md)
    oidc_issuer: str | None = None  # discovery at <issuer>/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # unset for a public client (PKCE alone)
    oidc_redirect_url: str | None = None  # https://console.example/oidc/callback, as registered
    oidc_scopes: str = "openid profile"
    # RFC 8707 resource indicator: the services' audience, for IdPs that need it asked for
    # (oidc-provider); others (Keycloak, Authing) put the audience in by their own mapping.
    oidc_resource: str | None = None
    # where the IdP sends the person after its sign-out (registered there); default /signin here
    oidc_post_logout_redirect_url: str | None = None

    @model_validator(mode="after")
    def _oidc_whole(self) -> ConsoleSettings:
        if not self.oidc_issuer:
            return self
        if not (self.oidc_client_id and self.oidc_redirect_url):
            raise ValueError("RURALFUND_CONSOLE_OIDC_ISSUER needs _OIDC_CLIENT_ID and _OIDC_REDIRECT_URL too")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("RURALFUND_CONSOLE_OIDC_SCOPES must include openid")
        if self.production:
            # over plain HTTP the discovery, keys or the code could be swapped or read on the way
            for name in ("oidc_issuer", "oidc_redirect_url", "oidc_post_logout_redirect_url"):
                url = getattr(self, name)
                if url and urlsplit(url).scheme != "https":
                    raise ValueError(f"RURALFUND_CONSOLE_{name.upper()} must be https in production")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    def post_logout_url(self) -> str | None:
        if self.oidc_post_logout_redirect_url:
            return self.oidc_post_logout_redirect_url
        if not self.oidc_redirect_url:
            return None
        parts = urlsplit(self.oidc_redirect_url)
        return f"{parts.scheme}://{parts.netloc}/signin"

    @property
    def production(self) -> bool:
        return self.env == "production"

    def secret_bytes(self) -> bytes:
        if self.session_secret is not None:
            return self.session_secret.get_secret_value().encode()
        if self.production:
            raise ValueError("RURALFUND_CONSOLE_SESSION_SECRET is required in production")
        return secrets.token_bytes(32)

    def service_urls(self) -> dict[str, str]:
        return {"claims": self.claims_url, "funds": self.funds_url, "logistics": self.logistics_url,
                "notify": self.notify_url}
