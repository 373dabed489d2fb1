"""The app's wiring and settings, without servers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from ruralfund_common.auth import unguarded_routes
from ruralfund_common.settings import load_settings
from ruralfund_notify.adapters.smtp import OutgoingMessage, build_message, message_id_for
from ruralfund_notify.app import create_app
from ruralfund_notify.settings import NotifySettings


def test_every_route_authenticates_or_is_declared_public() -> None:
    app = create_app(load_settings("notify", environ={}), NotifySettings())
    assert unguarded_routes(app) == []


def test_settings_refuse_two_tls_modes_and_half_credentials() -> None:
    with pytest.raises(ValidationError, match="not both"):
        NotifySettings(smtp_ssl=True, smtp_starttls=True)
    with pytest.raises(ValidationError, match="smtp_user and smtp_password"):
        NotifySettings(smtp_user="mailer")


def test_public_base_url_is_normalised() -> None:
    assert (
        NotifySettings(public_base_url="https://portal.example.cn/rf/").public_base_url
        == "https://portal.example.cn/rf"
    )


def test_message_id_is_derived_from_the_row_and_the_sender_domain() -> None:
    assert (
        message_id_for("0195f0", "县商务局 <noreply@xinping.gov.cn>") == "<0195f0@xinping.gov.cn>"
    )
    from datetime import UTC, datetime

    msg = build_message(
        OutgoingMessage("0195f0", "wang@example.cn", "王经理", "奖补资金已拨付", "正文\n"),
        mail_from="ruralfund <noreply@ruralfund.local>",
        now=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert msg["Message-ID"] == "<0195f0@ruralfund.local>"
    assert msg["Subject"] == "奖补资金已拨付"
    assert msg.get_content() == "正文\n"


def test_production_refuses_the_development_form_secret() -> None:
    from ruralfund_notify.settings import UnsafeSettings

    production = load_settings(
        "notify", environ={}, env="production", clock="system", calendar_dir=None
    )
    with pytest.raises(UnsafeSettings, match="FORM_SECRET"):
        NotifySettings().check_for(production.env)
    NotifySettings(form_secret="x" * 32).check_for("production")
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        NotifySettings(form_secret="short")
    with pytest.raises(ValidationError):
        NotifySettings(trusted_proxies=["10.0.0.0/33"])


def test_production_refuses_loopback_webhooks() -> None:
    from ruralfund_notify.settings import UnsafeSettings

    with pytest.raises(UnsafeSettings, match="WEBHOOK_ALLOW_LOOPBACK"):
        NotifySettings(form_secret="x" * 32, webhook_allow_loopback=True).check_for("production")
    NotifySettings(webhook_allow_loopback=True).check_for("test")
