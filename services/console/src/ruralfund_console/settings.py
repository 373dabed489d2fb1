"""The console's settings (environment ``RURALFUND_CONSOLE_*``; ``RURALFUND_ENV`` and
``RURALFUND_USERS_FILE`` as the services read them)."""

from __future__ import annotations

import secrets

from pydantic import AliasChoices, Field, SecretStr
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
