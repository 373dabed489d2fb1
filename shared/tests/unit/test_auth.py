"""Auth: principals, local and OIDC tokens, and the FastAPI role dependencies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any, Self

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from ruralfund_common.auth import (
    DEV_JWT_SECRET,
    AuthConfigError,
    AuthSettings,
    Principal,
    Role,
    Unauthenticated,
    UserDirectory,
    install_auth,
    issue_token,
    public_endpoint,
    require_roles,
    require_write,
    unguarded_routes,
    verify_token,
)
from ruralfund_common.errors import Conflict, DomainError, NotFound
from ruralfund_common.http import install_problem_handlers

SECRET = "test-secret-0123456789-abcdefghijklmnop"  # >= 32 bytes
TEA_CO = "91530427MA6N0000X1"  # shape of a Xinping (530427) credit code
OTHER_CO = "91530427MA6N0000Y2"


@pytest.fixture
def settings() -> AuthSettings:
    return AuthSettings(jwt_secret=SECRET, environment="development")


def _person(*roles: Role, **kw: Any) -> Principal:
    return Principal(
        subject=kw.pop("subject", "u-1"), name=kw.pop("name", "李四"), roles=frozenset(roles), **kw
    )


# --------------------------------------------------------------------------- principal


def test_enterprise_without_credit_code_is_refused() -> None:
    with pytest.raises(ValueError, match="credit_code"):
        _person(Role.ENTERPRISE)


def test_credit_code_must_have_the_gb32100_shape() -> None:
    with pytest.raises(ValueError, match="credit code"):
        _person(Role.ENTERPRISE, credit_code="12345")
    with pytest.raises(ValueError, match="credit code"):
        _person(Role.ENTERPRISE, credit_code="91530427MA6N0000O1")  # O is not in the alphabet


def test_principal_normalises_inputs_and_answers_role_questions() -> None:
    p = Principal("u-2", "Tea Co", ["enterprise", "auditor"], credit_code=TEA_CO.lower())  # type: ignore[arg-type]
    assert p.credit_code == TEA_CO
    assert p.roles == {Role.ENTERPRISE, Role.AUDITOR}
    assert p.has("enterprise") and p.has(Role.AUDITOR) and not p.has(Role.SYSTEM)
    assert not p.is_read_only  # an auditor that is also an enterprise can write as one


def test_auditor_alone_is_read_only_and_recusal_links_are_kept() -> None:
    assert _person(Role.AUDITOR).is_read_only
    member = _person(Role.LEADING_GROUP, linked_credit_codes=frozenset({TEA_CO}))
    assert member.is_linked_to(TEA_CO.lower())
    assert not member.is_linked_to(OTHER_CO)


def test_principal_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        _person()


# --------------------------------------------------------------------------- tokens


def test_issue_verify_roundtrip_keeps_every_field(settings: AuthSettings) -> None:
    p = _person(
        Role.ENTERPRISE,
        Role.CONTRACTOR_SIGNATORY,
        credit_code=TEA_CO,
        linked_credit_codes=frozenset({OTHER_CO}),
    )
    assert verify_token(issue_token(p, settings), settings) == p


def test_token_lifetime_follows_ttl(settings: AuthSettings) -> None:
    now = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    token = issue_token(_person(Role.BUREAU_ADMIN), settings, ttl=timedelta(minutes=5), now=now)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


def test_expired_token_is_refused_with_auth_expired(settings: AuthSettings) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    token = issue_token(_person(Role.BUREAU_ADMIN), settings, ttl=3600, now=long_ago)
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, settings)
    assert (caught.value.code, caught.value.status) == ("AUTH_EXPIRED", 401)


def test_token_signed_with_another_secret_is_invalid(settings: AuthSettings) -> None:
    other = AuthSettings(jwt_secret="another-secret-0123456789-abcdefghijkl")
    token = issue_token(_person(Role.BUREAU_ADMIN), other)
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, settings)
    assert caught.value.code == "AUTH_INVALID"
    assert "Bearer" in caught.value.headers["WWW-Authenticate"]


def test_token_for_another_audience_is_invalid(settings: AuthSettings) -> None:
    other = AuthSettings(jwt_secret=SECRET, audience="provincial-reporting")
    token = issue_token(_person(Role.AUDITOR), other)
    with pytest.raises(Unauthenticated, match="(?i)audience") as caught:
        verify_token(token, settings)
    assert caught.value.code == "AUTH_INVALID"


def test_garbage_and_empty_tokens(settings: AuthSettings) -> None:
    with pytest.raises(Unauthenticated) as caught:
        verify_token("not.a.jwt", settings)
    assert caught.value.code == "AUTH_INVALID"
    with pytest.raises(Unauthenticated) as caught:
        verify_token("", settings)
    assert caught.value.code == "AUTH_MISSING"


def test_locally_signed_token_with_unknown_role_is_invalid(settings: AuthSettings) -> None:
    now = datetime.now(UTC)
    claims = {"iss": "ruralfund", "aud": "ruralfund", "sub": "x", "roles": ["superuser"],
              "iat": now, "exp": now + timedelta(minutes=5)}  # fmt: skip
    with pytest.raises(Unauthenticated, match="superuser"):
        verify_token(jwt.encode(claims, SECRET, algorithm="HS256"), settings)


def test_enterprise_token_without_credit_code_is_invalid(settings: AuthSettings) -> None:
    now = datetime.now(UTC)
    claims = {"iss": "ruralfund", "aud": "ruralfund", "sub": "x", "roles": ["enterprise"],
              "iat": now, "exp": now + timedelta(minutes=5)}  # fmt: skip
    with pytest.raises(Unauthenticated, match="credit_code"):
        verify_token(jwt.encode(claims, SECRET, algorithm="HS256"), settings)


# --------------------------------------------------------------------------- production


def test_production_refuses_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RURALFUND_ENV", "production")
    monkeypatch.delenv("RURALFUND_AUTH_JWT_SECRET", raising=False)
    settings = AuthSettings()
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    with pytest.raises(AuthConfigError, match="development default"):
        settings.check_for_production()
    with pytest.raises(AuthConfigError):
        install_auth(FastAPI(), settings)
    with pytest.raises(AuthConfigError):
        issue_token(_person(Role.SYSTEM), settings)


def test_production_refuses_a_short_secret_and_accepts_a_long_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RURALFUND_ENV", "production")
    monkeypatch.setenv("RURALFUND_AUTH_JWT_SECRET", "x" * 31)
    with pytest.raises(AuthConfigError, match="32 bytes"):
        AuthSettings().check_for_production()
    monkeypatch.setenv("RURALFUND_AUTH_JWT_SECRET", "x" * 32)
    AuthSettings().check_for_production()


def test_development_allows_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RURALFUND_ENV", raising=False)
    monkeypatch.delenv("RURALFUND_AUTH_JWT_SECRET", raising=False)
    AuthSettings().check_for_production()


def test_oidc_needs_both_url_and_issuer() -> None:
    with pytest.raises(ValueError, match="both"):
        AuthSettings(oidc_jwks_url="https://idp.example/jwks")


def test_production_refuses_plain_http_jwks() -> None:
    settings = AuthSettings(
        environment="production",
        jwt_secret=SECRET,
        oidc_jwks_url="http://idp.example/jwks",
        oidc_issuer="http://idp.example",
    )
    with pytest.raises(AuthConfigError, match="https"):
        settings.check_for_production()


# --------------------------------------------------------------------------- FastAPI


def _app(settings: AuthSettings) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, settings)

    @app.get("/claims")
    async def read(p: Annotated[Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.AUDITOR))]) -> dict[str, str]:  # fmt: skip
        return {"subject": p.subject}

    @app.post("/claims/approve")
    async def approve(p: Annotated[Principal, Depends(require_write(Role.LEADING_GROUP))]) -> dict[str, str]:  # fmt: skip
        return {"approved_by": p.subject}

    @app.post("/notes", dependencies=[Depends(require_write())])
    async def note() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/notices", dependencies=[Depends(public_endpoint)])
    async def notices() -> list[str]:
        return []

    return app


def _bearer(p: Principal, settings: AuthSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(p, settings)}"}


def test_no_token_is_401_auth_missing(settings: AuthSettings) -> None:
    response = TestClient(_app(settings)).get("/claims")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "AUTH_MISSING"


def test_basic_auth_is_not_a_bearer_token(settings: AuthSettings) -> None:
    response = TestClient(_app(settings)).get("/claims", headers={"Authorization": "Basic YTpi"})
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_MISSING")


def test_bad_token_is_401_auth_invalid(settings: AuthSettings) -> None:
    client = TestClient(_app(settings))
    response = client.get("/claims", headers={"Authorization": "Bearer nonsense"})
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_INVALID")


def test_wrong_role_is_403_role_required_naming_the_roles(settings: AuthSettings) -> None:
    client = TestClient(_app(settings))
    enterprise = _person(Role.ENTERPRISE, credit_code=TEA_CO)
    response = client.get("/claims", headers=_bearer(enterprise, settings))
    body = response.json()
    assert response.status_code == 403
    assert body["code"] == "ROLE_REQUIRED"
    assert body["details"]["required_roles"] == ["auditor", "bureau_admin"]
    assert "auditor" in body["detail"] and "bureau_admin" in body["detail"]


def test_right_role_passes_and_the_principal_reaches_the_endpoint(settings: AuthSettings) -> None:
    client = TestClient(_app(settings))
    member = _person(Role.LEADING_GROUP, subject="u-lg")
    response = client.post("/claims/approve", headers=_bearer(member, settings))
    assert (response.status_code, response.json()) == (200, {"approved_by": "u-lg"})


def test_auditor_may_read_but_is_refused_on_write(settings: AuthSettings) -> None:
    client = TestClient(_app(settings))
    auditor = _bearer(_person(Role.AUDITOR), settings)
    assert client.get("/claims", headers=auditor).status_code == 200
    for path in ("/claims/approve", "/notes"):
        response = client.post(path, headers=auditor)
        assert (response.status_code, response.json()["code"]) == (403, "READ_ONLY")


def test_require_write_without_roles_admits_any_writer(settings: AuthSettings) -> None:
    client = TestClient(_app(settings))
    response = client.post("/notes", headers=_bearer(_person(Role.FINANCE_BUREAU), settings))
    assert response.status_code == 200


def test_public_endpoint_needs_no_token(settings: AuthSettings) -> None:
    assert TestClient(_app(settings)).get("/notices").status_code == 200


def test_openapi_shows_the_bearer_lock_with_roles(settings: AuthSettings) -> None:
    spec = _app(settings).openapi()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["paths"]["/claims"]["get"]["security"] == [
        {"bearerAuth": ["auditor", "bureau_admin"]}
    ]
    assert "security" not in spec["paths"]["/notices"]["get"]


def test_unguarded_routes_lists_routes_without_an_auth_decision(settings: AuthSettings) -> None:
    app = _app(settings)
    assert unguarded_routes(app) == []

    @app.delete("/claims/{claim_id}")
    async def forgot(claim_id: str) -> None: ...

    assert unguarded_routes(app) == ["DELETE /claims/{claim_id}"]


def test_dependency_factories_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        require_roles()
    with pytest.raises(ValueError):
        require_write(Role.AUDITOR)


def test_app_without_install_auth_fails_loudly() -> None:
    app = FastAPI()

    @app.get("/x")
    async def x(p: Annotated[Principal, Depends(require_roles(Role.SYSTEM))]) -> None: ...

    with pytest.raises(RuntimeError, match="install_auth"):
        TestClient(app).get("/x", headers={"Authorization": "Bearer t"})


# --------------------------------------------------------------------------- OIDC

ISSUER = "https://idp.county.example/realms/ruralfund"


class _JwksServer:
    """A JWKS endpoint on 127.0.0.1 (loopback only) in a daemon thread."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        # A short poll interval so shutdown() at teardown takes milliseconds, not 0.5 s.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def idp(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[_JwksServer]:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    with _JwksServer({"keys": [rsa_jwk, ec_jwk]}) as server:
        yield server


def _oidc_settings(idp: _JwksServer, **kw: Any) -> AuthSettings:
    return AuthSettings(jwt_secret=SECRET, oidc_jwks_url=idp.url, oidc_issuer=ISSUER, **kw)


def _idp_token(key: Any, kid: str, alg: str, **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {"iss": ISSUER, "aud": "ruralfund", "sub": "kc-7f3a", "iat": now,
               "exp": now + timedelta(minutes=5), "name": "王五"} | claims  # fmt: skip
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def test_oidc_rs256_token_is_verified_against_the_jwks(
    idp: _JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    settings = _oidc_settings(idp)
    # Unknown roles from the shared IdP claim are ignored, ours are kept.
    token = _idp_token(rsa_key, "rsa-1", "RS256", roles=["leading_group", "portal_editor"],
                       linked_credit_codes=[TEA_CO])  # fmt: skip
    p = verify_token(token, settings)
    assert (p.subject, p.name, p.roles) == ("kc-7f3a", "王五", {Role.LEADING_GROUP})
    assert p.linked_credit_codes == {TEA_CO}
    assert idp.hits == 1
    verify_token(token, settings)
    assert idp.hits == 1  # keys are cached, not fetched per request


def test_oidc_es256_with_nested_roles_claim(
    idp: _JwksServer, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    settings = _oidc_settings(idp, oidc_roles_claim="realm_access.roles")
    token = _idp_token(ec_key, "ec-1", "ES256", realm_access={"roles": ["auditor"]})
    assert verify_token(token, settings).roles == {Role.AUDITOR}


def test_oidc_token_from_another_issuer_or_key_is_refused(
    idp: _JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    settings = _oidc_settings(idp)
    wrong_issuer = _idp_token(rsa_key, "rsa-1", "RS256", iss="https://evil.example", roles=["auditor"])  # fmt: skip
    with pytest.raises(Unauthenticated, match="issuer"):
        verify_token(wrong_issuer, settings)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _idp_token(stranger, "rsa-1", "RS256", roles=["auditor"])
    with pytest.raises(Unauthenticated, match="[Ss]ignature"):
        verify_token(forged, settings)


def test_oidc_token_without_our_roles_is_refused(
    idp: _JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = _idp_token(rsa_key, "rsa-1", "RS256", roles=["portal_editor"])
    with pytest.raises(Unauthenticated, match="no ruralfund role"):
        verify_token(token, _oidc_settings(idp))


def test_oidc_role_map_turns_idp_groups_into_our_roles(
    idp: _JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    settings = _oidc_settings(
        idp, oidc_roles_claim="groups", oidc_credit_code_claim="uscc",
        oidc_role_map={"county-bureau": "bureau_admin", "xinping-firms": ["enterprise"]},
    )  # fmt: skip
    staff = _idp_token(rsa_key, "rsa-1", "RS256", groups=["county-bureau", "county-canteen"])
    assert verify_token(staff, settings).roles == {Role.BUREAU_ADMIN}
    firm = _idp_token(rsa_key, "rsa-1", "RS256", groups=["xinping-firms"], uscc=TEA_CO)
    p = verify_token(firm, settings)
    assert (p.roles, p.credit_code) == ({Role.ENTERPRISE}, TEA_CO)
    # with a map, only mapped names count: a group named like one of our roles grants nothing
    named_like_ours = _idp_token(rsa_key, "rsa-1", "RS256", groups=["auditor"])
    with pytest.raises(Unauthenticated) as caught:
        verify_token(named_like_ours, settings)
    assert caught.value.code == "AUTH_NO_ROLE" and "岗位" in (caught.value.detail_zh or "")


def test_the_idp_never_grants_system(idp: _JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    token = _idp_token(rsa_key, "rsa-1", "RS256", roles=["system"])
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, _oidc_settings(idp))
    assert caught.value.code == "AUTH_NO_ROLE"
    with pytest.raises(ValueError, match="system"):
        _oidc_settings(idp, oidc_role_map={"ops": "system"})
    with pytest.raises(ValueError):
        _oidc_settings(idp, oidc_role_map={"ops": "root"})


def test_role_map_comes_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RURALFUND_AUTH_OIDC_ROLE_MAP",
                       '{"county-bureau": "bureau_admin", "leaders": ["leading_group", "auditor"]}')
    settings = AuthSettings()
    assert settings.oidc_role_map == {"county-bureau": {Role.BUREAU_ADMIN},
                                      "leaders": {Role.LEADING_GROUP, Role.AUDITOR}}


def test_public_key_used_as_hs256_secret_is_refused(
    idp: _JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    # Algorithm confusion: an attacker signs HS256 with the published public key.
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "aud": "ruralfund", "sub": "x", "roles": ["system"], "iat": now,
              "exp": now + timedelta(minutes=5)}  # fmt: skip

    # Hand-signed: PyJWT itself refuses a PEM key for HS256.
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims, default=lambda d: int(d.timestamp())).encode())
    signature = b64(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    token = (header + b"." + payload + b"." + signature).decode()
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, _oidc_settings(idp))
    assert caught.value.code == "AUTH_INVALID"


def test_oidc_through_the_fastapi_dependency(idp: _JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    client = TestClient(_app(_oidc_settings(idp)))
    token = _idp_token(rsa_key, "rsa-1", "RS256", roles=["bureau_admin"])
    response = client.get("/claims", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()) == (200, {"subject": "kc-7f3a"})


def test_unreachable_jwks_is_503_not_a_verdict_on_the_token(rsa_key: rsa.RSAPrivateKey) -> None:
    # Port 9 on loopback (discard) is closed on test machines: connection refused at once.
    settings = AuthSettings(jwt_secret=SECRET, oidc_jwks_url="http://127.0.0.1:9/jwks", oidc_issuer=ISSUER)  # fmt: skip
    token = _idp_token(rsa_key, "rsa-1", "RS256", roles=["auditor"])
    with pytest.raises(DomainError) as caught:
        verify_token(token, settings)
    assert (caught.value.code, caught.value.status) == ("AUTH_UNAVAILABLE", 503)


def test_local_tokens_still_work_when_oidc_is_on(idp: _JwksServer) -> None:
    settings = _oidc_settings(idp)
    p = _person(Role.SYSTEM, subject="svc-funds", name="funds service")
    assert verify_token(issue_token(p, settings), settings) == p


def test_in_production_with_the_idp_local_tokens_are_for_automation_only() -> None:
    secret = "p" * 40
    # the JWKS is never fetched for a local (HS256) token
    settings = AuthSettings(environment="production", jwt_secret=secret,
                            oidc_jwks_url="https://idp.invalid/jwks", oidc_issuer=ISSUER)  # fmt: skip
    signer = AuthSettings(jwt_secret=secret)  # the same secret, as `ruralfund users token` has it
    bot = _person(Role.SYSTEM, subject="svc-funds", name="funds service")
    assert verify_token(issue_token(bot, signer), settings) == bot
    for roles in ({Role.BUREAU_ADMIN}, {Role.SYSTEM, Role.LEADING_GROUP}):
        person = Principal(subject="u-wang", name="王科长", roles=frozenset(roles))
        with pytest.raises(Unauthenticated) as caught:
            verify_token(issue_token(person, signer), settings)
        assert caught.value.code == "AUTH_PERSON_NOT_FROM_IDP" and caught.value.detail_zh
    # without the IdP the local directory is how people get tokens
    plain = AuthSettings(environment="production", jwt_secret=secret)
    admin = _person(Role.BUREAU_ADMIN)
    assert verify_token(issue_token(admin, signer), plain) == admin


# --------------------------------------------------------------------------- user directory


def test_user_directory_create_get_list_and_token(tmp_path: Any, settings: AuthSettings) -> None:
    users = UserDirectory(tmp_path / "var" / "users.json")
    member = users.create("张三", [Role.LEADING_GROUP], linked_credit_codes=[TEA_CO])
    tea = users.create("Xinping Tea Co", ["enterprise"], credit_code=TEA_CO)
    assert member.subject.startswith("u-") and len(member.subject) <= 16
    assert users.get(member.subject) == member
    assert users.get("xinping tea co") == tea  # names are case-insensitive
    assert [p.name for p in users.list()] == ["Xinping Tea Co", "张三"]
    assert verify_token(users.token_for("张三", settings), settings) == member
    # Stable: a fresh directory gives the same person the same subject.
    again = UserDirectory(tmp_path / "other.json").create("张三", [Role.LEADING_GROUP])
    assert again.subject == member.subject


def test_user_directory_refuses_duplicates_and_reports_unknowns(tmp_path: Any) -> None:
    users = UserDirectory(tmp_path / "users.json")
    users.create("Alice", [Role.BUREAU_ADMIN])
    with pytest.raises(Conflict):
        users.create("alice", [Role.AUDITOR])
    with pytest.raises(NotFound):
        users.get("bob")
    with pytest.raises(DomainError) as caught:
        users.create("Tea", [Role.ENTERPRISE])
    assert caught.value.status == 422


def test_user_directory_default_path_from_env(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RURALFUND_USERS_FILE", str(tmp_path / "u.json"))
    assert UserDirectory().path == tmp_path / "u.json"
    monkeypatch.delenv("RURALFUND_USERS_FILE")
    assert str(UserDirectory().path) == "var/users.json"


def test_user_directory_reports_a_corrupt_file(tmp_path: Any) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"version": 1, "users": [{"name": "no subject"}]}')
    with pytest.raises(DomainError) as caught:
        UserDirectory(path).list()
    assert caught.value.code == "USERS_FILE_INVALID" and str(path) in caught.value.message


def test_unguarded_routes_sees_routes_of_included_routers_in_every_service():
    from ruralfund_claims.app import create_app as claims_app
    from ruralfund_common.auth import unguarded_routes
    from ruralfund_funds.app import create_app as funds_app
    from ruralfund_logistics.app import create_app as logistics_app
    from ruralfund_notify.app import create_app as notify_app

    for create in (claims_app, funds_app, logistics_app, notify_app):
        app = create()
        assert unguarded_routes(app) == [], f"{app.title}: routes without declared auth"

    from fastapi import APIRouter, FastAPI

    naked = FastAPI()
    router = APIRouter()

    @router.get("/open")
    async def open_route() -> dict:
        return {}

    naked.include_router(router)
    assert unguarded_routes(naked) == ["GET /open"]


def test_verified_tokens_are_cached_but_never_past_their_expiry(monkeypatch):
    import time as _time

    import ruralfund_common.auth as auth_mod

    settings = AuthSettings()
    p = Principal(subject="u-cache", name="Cache", roles=frozenset({Role.AUDITOR}))
    token = issue_token(p, settings, ttl=60)
    calls = []
    real = auth_mod.verify_token
    monkeypatch.setattr(auth_mod, "verify_token", lambda t, s: calls.append(t) or real(t, s))
    assert auth_mod.verify_token_cached(token, settings) == p
    assert auth_mod.verify_token_cached(token, settings) == p
    assert len(calls) == 1
    later = _time.time() + 61  # past the token's exp: the cache must not answer any more
    monkeypatch.setattr(auth_mod.time, "time", lambda: later)
    auth_mod.verify_token_cached(token, settings)
    assert len(calls) == 2, "an expired cache entry must be verified again"
