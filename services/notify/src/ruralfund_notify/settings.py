"""Notify's own settings (``RURALFUND_NOTIFY_*``): SMTP, the public page, mail retries.

The settings every service shares (NATS, database, clock, calendar) are
:class:`ruralfund_common.settings.ServiceSettings`; these are only what notify adds.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Final

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain.form_tokens import MIN_SECRET_BYTES
from .domain.rate_limit import IPNetwork, parse_networks
from .domain.sla import PERIOD_HOURS

__all__ = ["DEV_FORM_SECRET", "MAX_MAIL_ATTEMPTS_LIMIT", "NotifySettings", "UnsafeSettings"]

# More attempts than this only delays the "failed" an operator has to act on.
MAX_MAIL_ATTEMPTS_LIMIT = 50
# Signs the public form's tokens on a developer's machine; refused in production, where
# anyone who read this file could forge tokens.
DEV_FORM_SECRET: Final = "ruralfund-dev-only-form-secret-do-not-use-in-production"


class UnsafeSettings(RuntimeError):
    """A development-only setting in production: the service refuses to start."""


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

    # The public objection form: posts per client address per fixed window; the reverse
    # proxies (CIDRs) whose X-Forwarded-For is believed; the token's secret and lifetime.
    objection_rate_limit: int = Field(default=5, ge=1, le=10_000)
    objection_rate_window_seconds: int = Field(default=3600, ge=1, le=7 * 86400)
    trusted_proxies: list[str] = Field(default_factory=list)
    form_secret: SecretStr | None = None
    form_token_max_age_seconds: int = Field(default=2 * 3600, ge=60, le=7 * 86400)

    # The competent bureau's mailbox: the delivery-SLA summary, and milestone reminders for a
    # responsible unit without an address. Unset: those mails are recorded failed, not sent.
    bureau_email: str | None = None
    sla_summary_hours: int = 24
    # How often the summariser looks for ended periods (it reads the injected clock).
    sla_summary_poll_seconds: float = Field(default=60.0, gt=0, le=3600)

    # Webhooks: attempts before a delivery is dead-lettered, exponential backoff between them
    # (10 s, 20 s, 40 s, … ≤ 6 h), the receiver's time to answer, and the development-only
    # acceptance of http and loopback receivers (refused in production: SSRF).
    webhook_max_attempts: int = Field(default=12, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_allow_loopback: bool = False

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

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        parse_networks(v)  # a typo must stop the start, not silently trust nobody
        return v

    @field_validator("form_secret")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"form_secret must be at least {MIN_SECRET_BYTES} bytes")
        return v

    @field_validator("sla_summary_hours")
    @classmethod
    def _divides_the_day(cls, v: int) -> int:
        if v not in PERIOD_HOURS:
            raise ValueError(f"sla_summary_hours must be one of {PERIOD_HOURS}")
        return v

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
        if self.webhook_retry_max_seconds < self.webhook_retry_base_seconds:
            raise ValueError(
                "webhook_retry_max_seconds must be at least webhook_retry_base_seconds"
            )
        return self

    @property
    def mail_from_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    @property
    def form_secret_bytes(self) -> bytes:
        secret = self.form_secret.get_secret_value() if self.form_secret else DEV_FORM_SECRET
        return secret.encode()

    @property
    def trusted_proxy_networks(self) -> list[IPNetwork]:
        return parse_networks(self.trusted_proxies)

    def check_for(self, env: str) -> None:
        """Refuse development-only settings in production (called before the service starts)."""
        if env != "production":
            return
        if self.webhook_allow_loopback:
            raise UnsafeSettings(
                "RURALFUND_NOTIFY_WEBHOOK_ALLOW_LOOPBACK is for development and tests only: in "
                "production webhooks go to https URLs on public addresses"
            )
        if self.form_secret is None:
            raise UnsafeSettings(
                "RURALFUND_NOTIFY_FORM_SECRET must be set in production "
                f"(at least {MIN_SECRET_BYTES} random bytes): the development secret is public"
            )
