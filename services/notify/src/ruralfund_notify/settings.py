"""Notify's own settings (``RURALFUND_NOTIFY_*``): SMTP, the public page, mail retries.

The settings every service shares (NATS, database, clock, calendar) are
:class:`ruralfund_common.settings.ServiceSettings`; these are only what notify adds.
"""

from __future__ import annotations

from email.utils import parseaddr

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["MAX_MAIL_ATTEMPTS_LIMIT", "NotifySettings"]

# More attempts than this only delays the "failed" an operator has to act on.
MAX_MAIL_ATTEMPTS_LIMIT = 50


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RURALFUND_NOTIFY_", env_ignore_empty=True, extra="ignore"
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    mail_from: str = "ruralfund <noreply@ruralfund.local>"

    public_base_url: str = "http://127.0.0.1:8004"
    county_portal_name: str = "县政府门户网站 电子商务进农村综合示范专栏"
    # Where and how the public files an objection (异议) during publicity; shown on every notice.
    objection_office: str = "县电子商务进农村综合示范工作领导小组办公室（县商务局）"
    objection_address: str | None = None
    objection_phone: str | None = None

    mail_max_attempts: int = Field(default=8, ge=1, le=MAX_MAIL_ATTEMPTS_LIMIT)
    mail_retry_base_seconds: float = Field(default=30.0, gt=0)
    mail_retry_max_seconds: float = Field(default=3600.0, gt=0)
    # A fallback only: committed mail wakes the sender at once (PostgreSQL NOTIFY).
    mail_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("public_base_url must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _has_address(cls, v: str) -> str:
        if "@" not in parseaddr(v)[1]:
            raise ValueError(f"mail_from {v!r} has no e-mail address")
        return v

    @model_validator(mode="after")
    def _one_tls_mode(self) -> NotifySettings:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("choose smtp_ssl (implicit TLS, port 465) or smtp_starttls, not both")
        if (self.smtp_user is None) != (self.smtp_password is None):
            raise ValueError("set both smtp_user and smtp_password, or neither")
        if self.mail_retry_max_seconds < self.mail_retry_base_seconds:
            raise ValueError("mail_retry_max_seconds must be at least mail_retry_base_seconds")
        return self

    @property
    def mail_from_address(self) -> str:
        return parseaddr(self.mail_from)[1]
