"""The sign-in flow cookie (signed, short-lived, not a session) and the OIDC settings' rules."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError
from ruralfund_console.oidc import Flow, FlowCodec
from ruralfund_console.session import Session, SessionCodec
from ruralfund_console.settings import ConsoleSettings

SECRET = b"k" * 32
IDP = {"oidc_issuer": "https://idp.county.example/realms/ruralfund", "oidc_client_id": "console",
       "oidc_redirect_url": "https://console.county.example/oidc/callback"}


def test_a_flow_survives_its_cookie_and_its_challenge_is_s256_of_the_verifier() -> None:
    flow = Flow.new()
    assert FlowCodec(SECRET).loads(FlowCodec(SECRET).dumps(flow)) == flow
    assert 43 <= len(flow.verifier) <= 128 and len(flow.challenge) == 43
    # RFC 7636 appendix B's example
    known = Flow("s", "n", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", time.time() + 60)
    assert known.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_cookie_values_are_plain_tokens_whatever_their_length() -> None:
    # a "=" would make the server send the value quoted (RFC 6265 cookie-octets exclude it)
    codec = FlowCodec(SECRET)
    for digits in range(1, 9):
        cookie = codec.dumps(Flow("s" * digits, "n", "v" * 43, time.time() + 60 + digits / 7))
        assert "=" not in cookie and '"' not in cookie and codec.loads(cookie) is not None


def test_a_tampered_expired_or_foreign_flow_cookie_is_no_flow() -> None:
    codec = FlowCodec(SECRET)
    cookie = codec.dumps(Flow.new())
    payload, mac = cookie.rsplit(".", 1)
    assert codec.loads(payload[:-2] + "AA." + mac) is None
    assert FlowCodec(b"j" * 32).loads(cookie) is None
    assert codec.loads(codec.dumps(Flow("s", "n", "v" * 43, time.time() - 1))) is None
    assert codec.loads(None) is None and codec.loads("x" * 2000) is None
    # the same secret signs sessions, but a session cookie is never a flow, nor the other way
    assert codec.loads(SessionCodec(SECRET).dumps(Session())) is None
    assert SessionCodec(SECRET).loads(cookie) is None


def test_oidc_settings_must_be_whole_and_https_in_production() -> None:
    assert ConsoleSettings(**IDP).oidc_enabled
    assert not ConsoleSettings().oidc_enabled
    with pytest.raises(ValidationError, match="CLIENT_ID"):
        ConsoleSettings(oidc_issuer=IDP["oidc_issuer"])
    with pytest.raises(ValidationError, match="openid"):
        ConsoleSettings(**IDP, oidc_scopes="profile groups")
    ConsoleSettings(**IDP, env="production")
    with pytest.raises(ValidationError, match="https"):
        ConsoleSettings(**IDP | {"oidc_issuer": "http://idp.county.example"}, env="production")
    with pytest.raises(ValidationError, match="REDIRECT_URL must be https"):
        ConsoleSettings(**IDP | {"oidc_redirect_url": "http://console.example/oidc/callback"}, env="production")


def test_after_the_idps_sign_out_the_person_lands_on_our_sign_in_page() -> None:
    assert ConsoleSettings(**IDP).post_logout_url() == "https://console.county.example/signin"
    chosen = ConsoleSettings(**IDP, oidc_post_logout_redirect_url="https://console.county.example/bye")
    assert chosen.post_logout_url() == "https://console.county.example/bye"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RURALFUND_CONSOLE_OIDC_ISSUER", IDP["oidc_issuer"])
    monkeypatch.setenv("RURALFUND_CONSOLE_OIDC_CLIENT_ID", "console")
    monkeypatch.setenv("RURALFUND_CONSOLE_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("RURALFUND_CONSOLE_OIDC_REDIRECT_URL", IDP["oidc_redirect_url"])
    monkeypatch.setenv("RURALFUND_CONSOLE_OIDC_SCOPES", "openid profile groups")
    s = ConsoleSettings()
    assert (s.oidc_client_id, s.oidc_client_secret.get_secret_value(), s.oidc_scopes) == (
        "console", "s3cret", "openid profile groups")
