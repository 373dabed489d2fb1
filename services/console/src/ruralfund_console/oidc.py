"""Sign-in at the county IdP: OpenID Connect authorization code flow with PKCE (S256).

The console is an ordinary relying party. What it keeps between the redirect to the IdP and
the person's return — state, nonce and the PKCE verifier — is in a short-lived signed cookie
(``rf_oidc``), not on the server, so any console replica can finish a sign-in.

On return it checks, in this order: the flow cookie (signature, age), ``state`` (the return
belongs to the flow this browser started), ``iss`` if sent (RFC 9207, mix-up defence), then
exchanges the code (the IdP checks the PKCE verifier and that the code is unused), verifies the
ID token (signature against the IdP's JWKS from discovery, issuer, audience = our client id,
expiry, ``nonce``, ``at_hash`` when present), and finally verifies the **access token exactly as
the services will** (``ruralfund_common.auth.verify_token`` with the same settings and role
map) and that both tokens name the same person. The access token is what the session carries
and what every service call sends; the console mints no token of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import jwt
from ruralfund_common.auth import AuthSettings, Principal, Unauthenticated, verify_token
from starlette.concurrency import run_in_threadpool

from .session import SignedCookie
from .settings import ConsoleSettings

__all__ = ["FLOW_COOKIE", "FLOW_SECONDS", "Flow", "FlowCodec", "OidcClient", "SignInRefused", "SignedInPerson"]

FLOW_COOKIE: Final = "rf_oidc"
FLOW_SECONDS: Final = 600  # time to sign in at the IdP; a stale flow is refused
_ID_TOKEN_ALGORITHMS: Final = ("RS256", "ES256")  # as the services accept (never HS256/none)
_DISCOVERY_SECONDS: Final = 3600.0


class SignInRefused(Exception):
    """The sign-in is refused; ``title_zh``/``detail_zh`` are shown, ``reason`` is logged."""

    def __init__(self, reason: str, detail_zh: str, *, status: int = 403, title_zh: str = "无法登录") -> None:
        super().__init__(reason)
        self.reason, self.title_zh, self.detail_zh, self.status = reason, title_zh, detail_zh, status


_AGAIN: Final = "请回到登录页重新登录。"


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    expires_at: float

    @classmethod
    def new(cls) -> Flow:
        # 32 random bytes each; the verifier is 64 characters (RFC 7636: 43..128)
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48),
                   time.time() + FLOW_SECONDS)

    @property
    def challenge(self) -> str:
        return _b64(hashlib.sha256(self.verifier.encode()).digest())


class FlowCodec(SignedCookie[Flow]):
    """The flow cookie: signed like the session, with a key of its own (never a session)."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret, Flow, "oidc flow", max_chars=1024)


@dataclass(frozen=True)
class Provider:
    """What the IdP's discovery document says (OpenID Connect Discovery 1.0)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class SignedInPerson:
    principal: Principal
    access_token: str
    expires_at: float


class OidcClient:
    """The console as a relying party of ``settings.oidc_issuer``.

    ``auth``: the services' auth settings (role claim and map, audience). When they name no
    IdP, the discovered issuer and JWKS are filled in; when they name another issuer than the
    console's, nothing could work and sign-in refuses with a configuration error.
    """

    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient, auth: AuthSettings | None = None) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url
        self.settings = settings
        self._http = http
        self._auth_env = auth
        self._provider: Provider | None = None
        self._provider_until = 0.0
        self._auth: AuthSettings | None = None
        self._jwks: jwt.PyJWKClient | None = None

    # ------------------------------------------------------------------ discovery

    async def provider(self) -> Provider:
        if self._provider is not None and self._provider_until > time.monotonic():
            return self._provider
        issuer = self.settings.oidc_issuer or ""
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            r = await self._http.get(url)
            r.raise_for_status()
            doc = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRefused(f"discovery failed: {exc}", "统一身份认证服务暂时无法访问，请稍后再试。",
                                status=503, title_zh="认证服务不可用") from exc
        if not isinstance(doc, dict):
            raise SignInRefused("discovery document is not a JSON object",
                                "统一身份认证服务的配置不完整，请联系系统管理员。", status=502)
        if doc.get("issuer") != issuer:
            # Discovery §4.3: the document must name exactly the issuer we asked
            raise SignInRefused(f"discovery names issuer {doc.get('issuer')!r}, configured {issuer!r}",
                                "统一身份认证服务的配置与本系统不符，请联系系统管理员。", status=502)
        try:
            provider = Provider(issuer=issuer, authorization_endpoint=doc["authorization_endpoint"],
                                token_endpoint=doc["token_endpoint"], jwks_uri=doc["jwks_uri"],
                                end_session_endpoint=doc.get("end_session_endpoint"))
        except KeyError as exc:
            raise SignInRefused(f"discovery lacks {exc}", "统一身份认证服务的配置不完整，请联系系统管理员。",
                                status=502) from exc
        endpoints = (provider.authorization_endpoint, provider.token_endpoint, provider.jwks_uri)
        if self.settings.production and any(urlsplit(e).scheme != "https" for e in endpoints):
            # the keys or the code would travel in the clear, open to being swapped or read
            raise SignInRefused("discovery names a non-https endpoint",
                                "统一身份认证服务的地址不是 https，生产环境不可使用。", status=502)
        if "S256" not in (doc.get("code_challenge_methods_supported") or ["S256"]):
            raise SignInRefused("IdP does not offer PKCE S256", "统一身份认证服务不支持本系统要求的登录方式（PKCE）。",
                                status=502)
        self._auth = self._services_view(provider)
        if self._jwks is None or self._provider is None or self._provider.jwks_uri != provider.jwks_uri:
            self._jwks = jwt.PyJWKClient(provider.jwks_uri, cache_keys=True, timeout=5)
        self._provider, self._provider_until = provider, time.monotonic() + _DISCOVERY_SECONDS
        return provider

    def _services_view(self, provider: Provider) -> AuthSettings:
        env = self._auth_env or AuthSettings()
        if env.oidc_enabled:
            if env.oidc_issuer != provider.issuer:
                raise SignInRefused(
                    f"RURALFUND_AUTH_OIDC_ISSUER {env.oidc_issuer!r} is not the console's {provider.issuer!r}",
                    "本系统与各业务服务配置的统一身份认证不一致，请联系系统管理员。", status=502)
            auth = env
        else:
            auth = env.model_copy(update={"oidc_jwks_url": provider.jwks_uri, "oidc_issuer": provider.issuer})
        if (auth.oidc_audience or auth.audience) == self.settings.oidc_client_id:
            # then an ID token (aud = our client id) would pass as an access token at the services
            raise SignInRefused("services' OIDC audience equals the console's client id",
                                "各业务服务的令牌受众与本系统的客户端标识相同，请联系系统管理员。", status=502)
        return auth

    # ------------------------------------------------------------------ the flow

    async def start(self) -> tuple[str, Flow]:
        """The IdP's authorization URL for a new flow, and the flow to keep in the cookie."""
        provider = await self.provider()
        flow = Flow.new()
        params = {"response_type": "code", "client_id": self.settings.oidc_client_id,
                  "redirect_uri": self.settings.oidc_redirect_url, "scope": self.settings.oidc_scopes,
                  "state": flow.state, "nonce": flow.nonce, "code_challenge": flow.challenge,
                  "code_challenge_method": "S256"}
        if self.settings.oidc_resource:
            params["resource"] = self.settings.oidc_resource
        sep = "&" if "?" in provider.authorization_endpoint else "?"
        return f"{provider.authorization_endpoint}{sep}{urlencode(params)}", flow

    async def finish(self, params: dict[str, str], flow: Flow | None) -> SignedInPerson:
        """The person the IdP's answer proves, or :class:`SignInRefused`."""
        if flow is None:
            raise SignInRefused("no valid flow cookie", "登录已超时或不是从本页面发起的。" + _AGAIN, status=400)
        if not hmac.compare_digest(params.get("state", "").encode(), flow.state.encode()):
            raise SignInRefused("state mismatch", "登录请求与本浏览器发起的不一致，已拒绝。" + _AGAIN, status=400)
        provider = await self.provider()
        if "iss" in params and params["iss"] != provider.issuer:
            raise SignInRefused("iss parameter names another issuer", "登录应答来自其他认证服务，已拒绝。" + _AGAIN,
                                status=400)
        if "error" in params:
            cancelled = params["error"] == "access_denied"
            raise SignInRefused(f"IdP error {params['error']}: {params.get('error_description', '')}",
                                ("您在统一身份认证页面取消了登录。" if cancelled else "统一身份认证服务未能完成登录。") + _AGAIN)
        code = params.get("code")
        if not code:
            raise SignInRefused("no code", "登录应答缺少授权码。" + _AGAIN, status=400)
        tokens = await self._exchange(provider, code, flow)
        id_claims = await self.verify_id_token(provider, tokens.get("id_token"), tokens["access_token"], flow)
        principal = await self._verify_access_token(tokens["access_token"])
        if principal.subject != id_claims["sub"]:
            raise SignInRefused("access token and ID token name different people", "登录凭据不一致，已拒绝。" + _AGAIN)
        exp = jwt.decode(tokens["access_token"], options={"verify_signature": False}).get("exp")
        return SignedInPerson(principal, tokens["access_token"], float(exp))

    async def end_session_url(self) -> str | None:
        """Where sign-out sends the person (RP-initiated logout), when the IdP offers it. An IdP
        out of reach only means the person is signed out here alone (None)."""
        try:
            provider = await self.provider()  # cached; after a restart, read again
        except SignInRefused:
            return None
        if not provider.end_session_endpoint:
            return None
        params = {"client_id": self.settings.oidc_client_id}
        if after := self.settings.post_logout_url():
            params["post_logout_redirect_uri"] = after
        sep = "&" if "?" in provider.end_session_endpoint else "?"
        return f"{provider.end_session_endpoint}{sep}{urlencode(params)}"

    def form_origins(self) -> list[str]:
        """Origins a form may end up at (the sign-out redirect): for the page policy."""
        origins = {_origin(self.settings.oidc_issuer or "")}
        if self._provider and self._provider.end_session_endpoint:
            origins.add(_origin(self._provider.end_session_endpoint))
        return sorted(o for o in origins if o)

    async def _exchange(self, provider: Provider, code: str, flow: Flow) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.settings.oidc_redirect_url, "code_verifier": flow.verifier}
        if self.settings.oidc_resource:
            form["resource"] = self.settings.oidc_resource
        auth: httpx.BasicAuth | None = None
        secret = self.settings.oidc_client_secret
        if secret is not None:
            auth = httpx.BasicAuth(quote_plus(self.settings.oidc_client_id or ""),
                                   quote_plus(secret.get_secret_value()))  # RFC 6749 §2.3.1
        else:
            form["client_id"] = self.settings.oidc_client_id or ""
        try:
            r = await self._http.post(provider.token_endpoint, data=form, auth=auth,
                                      headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SignInRefused(f"token endpoint unreachable: {exc}", "统一身份认证服务暂时无法访问，请稍后再试。",
                                status=503, title_zh="认证服务不可用") from exc
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            if error == "invalid_grant":
                # a used or expired code, or a verifier that does not match its challenge
                raise SignInRefused(f"token endpoint: invalid_grant {body.get('error_description', '')}",
                                    "授权码无效、已使用或已过期。" + _AGAIN, status=400)
            raise SignInRefused(f"token endpoint answered {r.status_code} {error}",
                                "统一身份认证服务拒绝了本系统的请求，请联系系统管理员。", status=502)
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("id_token"):
            raise SignInRefused("token response lacks access_token or id_token",
                                "统一身份认证服务的应答不完整，请联系系统管理员。", status=502)
        if str(body.get("token_type", "")).lower() != "bearer":
            raise SignInRefused(f"token_type {body.get('token_type')!r}", "统一身份认证服务的令牌类型不受支持。", status=502)
        return body

    async def verify_id_token(self, provider: Provider, id_token: str, access_token: str,
                               flow: Flow) -> dict[str, Any]:
        """The ID token's claims, checked as OIDC Core §3.1.3.7 says, or :class:`SignInRefused`."""
        client_id = self.settings.oidc_client_id
        assert self._jwks is not None
        jwks = self._jwks
        try:
            key = await run_in_threadpool(jwks.get_signing_key_from_jwt, id_token)
            claims = jwt.decode(id_token, key.key, algorithms=list(_ID_TOKEN_ALGORITHMS), audience=client_id,
                                issuer=provider.issuer, leeway=30,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.PyJWKClientConnectionError as exc:
            raise SignInRefused(f"JWKS unreachable: {exc}", "统一身份认证服务暂时无法访问，请稍后再试。",
                                status=503, title_zh="认证服务不可用") from exc
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"ID token refused: {exc}", "身份令牌未通过校验（签名、签发方或有效期不符），已拒绝。"
                                + _AGAIN) from exc
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
            raise SignInRefused("ID token for several audiences without azp = us", "身份令牌不是签发给本系统的，已拒绝。")
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), flow.nonce.encode()):
            raise SignInRefused("nonce mismatch", "身份令牌与本次登录不对应（nonce 不符），已拒绝。" + _AGAIN)
        if "at_hash" in claims and claims["at_hash"] != _at_hash(access_token):
            raise SignInRefused("at_hash mismatch", "访问令牌与身份令牌不对应，已拒绝。" + _AGAIN)
        return claims

    async def _verify_access_token(self, access_token: str) -> Principal:
        assert self._auth is not None
        try:
            return await run_in_threadpool(verify_token, access_token, self._auth)
        except Unauthenticated as exc:
            if exc.code == "AUTH_NO_ROLE":
                raise SignInRefused(exc.message, exc.detail_zh or "您的账号没有本系统的角色。") from exc
            raise SignInRefused(f"access token refused: {exc.code} {exc.message}",
                                "统一身份认证签发的访问令牌未被本系统接受（" + _why_zh(exc.message) + "），请联系系统管理员。") from exc


def _why_zh(message: str) -> str:
    for needle, zh in (("credit_code", "企业账号缺少统一社会信用代码"), ("audience", "令牌受众不符"),
                       ("issuer", "签发方不符"), ("expired", "令牌已过期"), ("ignature", "签名无效")):
        if needle in message:
            return zh
    return "令牌无效"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _at_hash(access_token: str) -> str:
    # OIDC Core §3.1.3.6: left half of the hash the ID token's alg uses (SHA-256 for ours)
    digest = hashlib.sha256(access_token.encode()).digest()
    return _b64(digest[: len(digest) // 2])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
