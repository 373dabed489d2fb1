"""Who is calling, and may they do this: roles, principals, tokens, FastAPI dependencies.

Tokens are JWTs. Two kinds are accepted:

* **local** HS256 tokens signed with ``RURALFUND_AUTH_JWT_SECRET`` — issued by
  :func:`issue_token` (dev user directory, service-to-service ``system`` tokens);
* **OIDC** RS256/ES256 access tokens from the county's identity provider, when
  ``RURALFUND_AUTH_OIDC_JWKS_URL`` and ``RURALFUND_AUTH_OIDC_ISSUER`` are set; keys come
  from the provider's JWKS, roles from a configurable claim through the operator's role map
  (``RURALFUND_AUTH_OIDC_ROLE_MAP``, e.g. ``{"county-bureau": "bureau_admin"}``). The console
  signs people in at the same IdP and reads these same settings, so the roles it shows are the
  roles the services grant (one mapping, one place). A token that maps to no role is refused.

The token's ``alg`` header only chooses *which* of the two verifications runs; each passes
its own fixed algorithm list and key to PyJWT, so a token can never pick its own key
(the classic HS256-with-the-public-key confusion).

Typical wiring in a service's bootstrap::

    install_auth(app, AuthSettings())

    @router.post("/claims/{id}/approve")
    async def approve(p: Annotated[Principal, Depends(require_write(Role.LEADING_GROUP))]): ...

    @router.get("/notices", dependencies=[Depends(public_endpoint)])
    async def notices(): ...
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

import jwt
import structlog
from fastapi import FastAPI, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from ruralfund_common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.routes import all_routes

__all__ = [
    "DEFAULT_USERS_FILE",
    "DEV_JWT_SECRET",
    "MAX_TOKEN_BYTES",
    "MIN_SECRET_BYTES",
    "AuthConfigError",
    "AuthSettings",
    "AuthUnavailable",
    "Principal",
    "Role",
    "Unauthenticated",
    "UserDirectory",
    "auth_settings",
    "bearer_scheme",
    "current_principal",
    "install_auth",
    "issue_token",
    "public_endpoint",
    "require_roles",
    "require_write",
    "roles_from_claims",
    "unguarded_routes",
    "verify_token",
]

log = structlog.get_logger(__name__)


class Role(StrEnum):
    """What a person may do. A principal may hold several roles.

    ``system`` is for service-to-service calls and dev/ops automation (seeding, replays).
    It is *not* a wildcard: an endpoint accepts automation only if it names ``Role.SYSTEM``
    in :func:`require_roles` / :func:`require_write` like any other role.
    """

    BUREAU_ADMIN = "bureau_admin"  # 县商务局/工信局 staff: programs, enterprises, reviews, notices
    LEADING_GROUP = (
        "leading_group"  # 领导小组 member: approves claims/adjustments, co-signs payments
    )
    CONTRACTOR_SIGNATORY = "contractor_signatory"  # 承办企业 signatory of the joint account
    FINANCE_BUREAU = "finance_bureau"  # 县财政局: releases the central fund (预拨)
    ENTERPRISE = "enterprise"  # a company, bound to its 18-char credit code; sees only its own data
    AUDITOR = "auditor"  # reads everything, changes nothing
    SYSTEM = "system"  # service-to-service and automation; see class docstring


# GB 32100-2015 alphabet: digits and capitals without I, O, S, V, Z (avoid look-alikes).
_CREDIT_CODE_RE: Final = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
MAX_NAME_CHARS: Final = 100
MAX_SUBJECT_CHARS: Final = 255
MAX_LINKED_CREDIT_CODES: Final = 200  # keeps tokens well under MAX_TOKEN_BYTES


def _normalise_credit_code(value: str, *, what: str) -> str:
    code = value.strip().upper()
    if not _CREDIT_CODE_RE.fullmatch(code):
        raise ValueError(f"{what} {value!r} is not an 18-character unified social credit code")
    return code


@dataclass(frozen=True)
class Principal:
    """An authenticated person (or automation) and what they may do.

    ``linked_credit_codes`` are enterprises a person is linked to (relative, former employer,
    shareholder). With ``credit_code`` they are what :mod:`ruralfund_common.recusal` makes the
    person recuse from (``must_recuse``): the one conflict-of-interest rule of every service.
    """

    subject: str
    name: str
    roles: frozenset[Role]
    credit_code: str | None = None
    linked_credit_codes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Coerce friendly inputs (lists, plain strings) so every Principal is canonical;
        # object.__setattr__ because the dataclass is frozen.
        roles = frozenset(Role(r) for r in self.roles)
        object.__setattr__(self, "roles", roles)
        linked = frozenset(
            _normalise_credit_code(c, what="linked credit code") for c in self.linked_credit_codes
        )
        object.__setattr__(self, "linked_credit_codes", linked)
        if self.credit_code is not None:
            code = _normalise_credit_code(self.credit_code, what="credit code")
            object.__setattr__(self, "credit_code", code)
        self._check()

    def _check(self) -> None:
        if not self.subject or len(self.subject) > MAX_SUBJECT_CHARS:
            raise ValueError("subject must be 1..255 characters")
        if not self.name.strip() or len(self.name) > MAX_NAME_CHARS:
            raise ValueError(f"name must be 1..{MAX_NAME_CHARS} characters")
        if not self.roles:
            raise ValueError("a principal needs at least one role")
        if Role.ENTERPRISE in self.roles and self.credit_code is None:
            # An enterprise user without its code could not be scoped to its own data.
            raise ValueError("role enterprise requires a credit_code")
        if len(self.linked_credit_codes) > MAX_LINKED_CREDIT_CODES:
            raise ValueError(f"at most {MAX_LINKED_CREDIT_CODES} linked credit codes")

    def has(self, role: Role | str) -> bool:
        return Role(role) in self.roles

    @property
    def is_read_only(self) -> bool:
        """An auditor with no other role: may read everything, change nothing."""
        return self.roles == frozenset({Role.AUDITOR})

    def is_linked_to(self, credit_code: str) -> bool:
        """True when this person is linked to that enterprise. Whether they must recuse also
        depends on their own code: ask :func:`ruralfund_common.recusal.must_recuse`."""
        return credit_code.strip().upper() in self.linked_credit_codes


# --------------------------------------------------------------------------- errors


# The roles as the county names them, for refusals people read.
ROLE_ZH: Final[Mapping[str, str]] = {
    "bureau_admin": "县商务局工作人员", "leading_group": "领导小组成员", "contractor_signatory": "承办企业签字人",
    "finance_bureau": "县财政局", "enterprise": "企业", "auditor": "审计人员", "system": "系统",
}  # fmt: skip


def roles_zh(roles: Iterable[str]) -> str:
    """``["bureau_admin", "system"]`` → ``县商务局工作人员、系统``."""
    return "、".join(ROLE_ZH.get(str(r), str(r)) for r in roles)


class Unauthenticated(DomainError):
    """401: no usable credentials. ``headers`` is sent back as-is by the problem handler."""

    status = 401

    def __init__(
        self, code: str, message: str, *, error: str | None = None, detail_zh: str | None = None
    ) -> None:
        super().__init__(code, message, detail_zh=detail_zh)
        # RFC 6750 §3: tell the client which scheme to use and, if a token was sent, why it failed.
        challenge = 'Bearer realm="ruralfund"'
        if error:
            challenge += f', error="{error}"'
        self.headers = {"WWW-Authenticate": challenge}


class AuthUnavailable(DomainError):
    """503: the identity provider's keys could not be fetched; the token was not judged."""

    status = 503


class AuthConfigError(RuntimeError):
    """The auth settings are unsafe or inconsistent; the service must not start."""


_SIGN_IN_ZH: Final = "请先登录：请求中没有身份凭证（Authorization: Bearer）。"


# --------------------------------------------------------------------------- settings

DEV_JWT_SECRET: Final = "ruralfund-dev-only-secret-do-not-use-in-production"
MIN_SECRET_BYTES: Final = 32  # HS256 key of at least the hash size (RFC 7518 §3.2)
MAX_TOKEN_BYTES: Final = 8192  # refuse before parsing; real tokens are < 2 KiB
DEFAULT_TOKEN_TTL_SECONDS: Final = 8 * 3600  # one working day
MAX_TOKEN_TTL_SECONDS: Final = 366 * 24 * 3600
_LOCAL_ALGORITHMS: Final = ("HS256",)
_OIDC_ALGORITHMS: Final = ("RS256", "ES256")


class AuthSettings(BaseSettings):
    """Auth configuration, from ``RURALFUND_AUTH_*`` environment variables.

    ``environment`` is read from ``RURALFUND_ENV`` (shared by all settings of the project).
    """

    model_config = SettingsConfigDict(
        env_prefix="RURALFUND_AUTH_",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,  # AuthSettings(environment="production") in tests
        validate_by_alias=True,
    )

    environment: str = Field(default="development", validation_alias="RURALFUND_ENV")
    # The dev default lets `ruralfund users token alice` work out of the box;
    # check_for_production() refuses it.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    issuer: str = "ruralfund"
    audience: str = "ruralfund"
    token_ttl_seconds: int = Field(
        default=DEFAULT_TOKEN_TTL_SECONDS, ge=60, le=MAX_TOKEN_TTL_SECONDS
    )
    leeway_seconds: int = Field(default=30, ge=0, le=300)  # clock skew between hosts
    oidc_jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None  # defaults to `audience`
    oidc_roles_claim: str = "roles"  # dotted path allowed, e.g. realm_access.roles (Keycloak)
    # The IdP's group (or role) names -> ours, JSON in the environment:
    # {"county-bureau": "bureau_admin", "fund-auditors": ["auditor"]}. Empty: the claim must
    # carry our role names themselves. Set: ONLY mapped names count - an IdP group that happens
    # to be called "auditor" grants nothing unless the operator mapped it.
    oidc_role_map: dict[str, frozenset[Role]] = Field(default_factory=dict)
    oidc_name_claim: str = "name"
    oidc_credit_code_claim: str = "credit_code"
    oidc_linked_credit_codes_claim: str = "linked_credit_codes"

    _jwks_client: jwt.PyJWKClient | None = PrivateAttr(default=None)

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _one_role_or_several(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _oidc_both_or_neither(self) -> AuthSettings:
        if bool(self.oidc_jwks_url) != bool(self.oidc_issuer):
            raise ValueError("set both oidc_jwks_url and oidc_issuer, or neither")
        for group, roles in self.oidc_role_map.items():
            if Role.SYSTEM in roles:
                # automation has its own local tokens; a person's IdP group must never be it
                raise ValueError(f"oidc_role_map: {group!r} maps to 'system', which no person may hold")
            if not roles:
                raise ValueError(f"oidc_role_map: {group!r} maps to no role")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment.strip().lower() == "production"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_jwks_url and self.oidc_issuer)

    def check_for_production(self) -> None:
        """Raise :class:`AuthConfigError` if these settings are unsafe for production."""
        if not self.is_production:
            return
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET:
            raise AuthConfigError(
                "RURALFUND_AUTH_JWT_SECRET is the published development default; "
                "set a random secret in production"
            )
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthConfigError(
                f"RURALFUND_AUTH_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes in production"
            )
        if self.oidc_jwks_url and not self.oidc_jwks_url.startswith("https://"):
            # A JWKS fetched over plain HTTP could be swapped for an attacker's keys.
            raise AuthConfigError("RURALFUND_AUTH_OIDC_JWKS_URL must be https in production")

    def jwks_client(self) -> jwt.PyJWKClient:
        """One cached JWKS client per settings object (keys are refetched on unknown kid)."""
        if self._jwks_client is None:
            assert self.oidc_jwks_url, "jwks_client() needs oidc_jwks_url"
            self._jwks_client = jwt.PyJWKClient(self.oidc_jwks_url, cache_keys=True, timeout=5)
        return self._jwks_client


# --------------------------------------------------------------------------- tokens


def _ttl_seconds(ttl: int | timedelta | None, settings: AuthSettings) -> int:
    seconds = settings.token_ttl_seconds if ttl is None else ttl
    if isinstance(seconds, timedelta):
        seconds = int(seconds.total_seconds())
    if not 0 < seconds <= MAX_TOKEN_TTL_SECONDS:
        raise ValueError(f"ttl must be 1..{MAX_TOKEN_TTL_SECONDS} seconds, got {seconds}")
    return seconds


def issue_token(
    principal: Principal,
    settings: AuthSettings,
    ttl: int | timedelta | None = None,
    *,
    now: datetime | None = None,
) -> str:
    """A local HS256 token for ``principal``. ``ttl`` in seconds or a timedelta."""
    settings.check_for_production()
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": principal.subject,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + timedelta(seconds=_ttl_seconds(ttl, settings)),
        "jti": new_id(),
    }
    if principal.credit_code:
        claims["credit_code"] = principal.credit_code
    if principal.linked_credit_codes:
        claims["linked_credit_codes"] = sorted(principal.linked_credit_codes)
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(token: str, settings: AuthSettings) -> Principal:
    """The principal a token proves, or :class:`Unauthenticated` (401).

    Blocking when OIDC is on and the JWKS is not cached yet; call it from a thread
    (the FastAPI dependency does).
    """
    if not token:
        raise Unauthenticated("AUTH_MISSING", "no bearer token was sent", detail_zh=_SIGN_IN_ZH)
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("AUTH_INVALID", "token is too long", error="invalid_token",
                              detail_zh=f"身份凭证过长（超过 {MAX_TOKEN_BYTES} 字节），不是本系统签发的凭证，请重新登录。")
    try:
        alg = jwt.get_unverified_header(token).get("alg")
        if alg in _OIDC_ALGORITHMS and settings.oidc_enabled:
            return _principal_from_oidc(_decode_oidc(token, settings), settings)
        principal = _principal_from_local(_decode_local(token, settings))
        if settings.is_production and settings.oidc_enabled and principal.roles != {Role.SYSTEM}:
            # People sign in at the county IdP; the shared HS256 secret signs automation only,
            # so whoever holds it (a host, a CI job) cannot act as a person.
            raise Unauthenticated(
                "AUTH_PERSON_NOT_FROM_IDP",
                "with the county IdP configured, a person's token must come from the IdP; "
                "local tokens are for system automation only",
                error="invalid_token",
                detail_zh="请通过县统一身份认证登录；本地签发的令牌只供系统自动化使用。",
            )
        return principal
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("AUTH_EXPIRED", "token has expired", error="invalid_token",
                              detail_zh="您的登录已过期，请重新登录后再操作。") from exc
    except NoRole as exc:
        raise Unauthenticated(
            "AUTH_NO_ROLE", str(exc), error="invalid_token",
            detail_zh="您在统一身份认证中的岗位没有对应本系统的任何角色，请联系县商务局开通。",
        ) from exc
    except jwt.PyJWKClientConnectionError as exc:
        log.warning("auth_jwks_unreachable", url=settings.oidc_jwks_url, error=str(exc))
        raise AuthUnavailable("AUTH_UNAVAILABLE", "identity provider keys unavailable",
                              detail_zh="暂时无法连接统一身份认证服务核验您的身份，请稍后重试。") from exc
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        # PyJWT's message names the failed check (signature, audience, …) without secrets.
        raise Unauthenticated(
            "AUTH_INVALID", f"token is not valid: {exc}", error="invalid_token",
            detail_zh="身份凭证无效（签名、签发方或有效期核验未通过），请重新登录。",
        ) from exc


# Verified tokens, so a client's every request does not pay for signature checking again
# (about a fifth of a write request's CPU). Bounded, and never past the token's own expiry nor
# VERIFIED_TOKEN_TTL_SECONDS, so a rotated key takes effect within that time.
MAX_VERIFIED_TOKENS: Final = 4096
VERIFIED_TOKEN_TTL_SECONDS: Final = 300.0
_verified: OrderedDict[tuple[int, str], tuple[Principal, float]] = OrderedDict()


def verify_token_cached(token: str, settings: AuthSettings) -> Principal:
    key = (id(settings), token)
    now = time.time()
    hit = _verified.get(key)
    if hit is not None and hit[1] > now:
        _verified.move_to_end(key)
        return hit[0]
    principal = verify_token(token, settings)
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    until = min(float(exp), now + VERIFIED_TOKEN_TTL_SECONDS) if exp is not None else now + VERIFIED_TOKEN_TTL_SECONDS
    _verified[key] = (principal, until)
    while len(_verified) > MAX_VERIFIED_TOKENS:
        _verified.popitem(last=False)
    return principal


def _decode_local(token: str, settings: AuthSettings) -> dict[str, Any]:
    return jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=list(_LOCAL_ALGORITHMS),
        audience=settings.audience,
        issuer=settings.issuer,
        leeway=settings.leeway_seconds,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )


def _decode_oidc(token: str, settings: AuthSettings) -> dict[str, Any]:
    signing_key = settings.jwks_client().get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        signing_key.key,
        algorithms=list(_OIDC_ALGORITHMS),
        audience=settings.oidc_audience or settings.audience,
        issuer=settings.oidc_issuer,
        leeway=settings.leeway_seconds,
        options={"require": ["exp", "sub", "iss", "aud"]},
    )


def _principal_from_local(claims: Mapping[str, Any]) -> Principal:
    # We issued these: an unknown role is a bug or forgery, so Role(...) raising is right.
    return Principal(
        subject=str(claims["sub"]),
        name=str(claims.get("name") or claims["sub"]),
        roles=frozenset(Role(r) for r in _str_list(claims.get("roles"))),
        credit_code=claims.get("credit_code"),
        linked_credit_codes=frozenset(_str_list(claims.get("linked_credit_codes"))),
    )


class NoRole(ValueError):
    """A genuine IdP token whose claim maps to none of our roles."""


def roles_from_claims(claims: Mapping[str, Any], settings: AuthSettings) -> frozenset[Role]:
    """Our roles for an IdP token's claims, through the operator's role map (empty when none
    apply). Never ``system``: automation uses local tokens, not a person's IdP account."""
    raw = _str_list(_claim_at(claims, settings.oidc_roles_claim))
    if settings.oidc_role_map:
        roles = frozenset(r for name in raw for r in settings.oidc_role_map.get(name, ()))
    else:
        # The IdP's role claim is shared with other county systems: keep only our roles.
        known = {r.value for r in Role} - {Role.SYSTEM.value}
        roles = frozenset(Role(r) for r in raw if r in known)
    return roles


def _principal_from_oidc(claims: Mapping[str, Any], settings: AuthSettings) -> Principal:
    roles = roles_from_claims(claims, settings)
    if not roles:
        raise NoRole(f"token carries no ruralfund role in claim {settings.oidc_roles_claim!r}")
    name = claims.get(settings.oidc_name_claim) or claims.get("preferred_username") or claims["sub"]
    return Principal(
        subject=str(claims["sub"]),
        name=str(name),
        roles=roles,
        credit_code=_claim_at(claims, settings.oidc_credit_code_claim),
        linked_credit_codes=frozenset(
            _str_list(_claim_at(claims, settings.oidc_linked_credit_codes_claim))
        ),
    )


def _claim_at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # some IdPs send a space-separated string
        return value.split()
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("expected a list of strings in token claim")


# --------------------------------------------------------------------------- FastAPI

bearer_scheme: Final = HTTPBearer(
    auto_error=False,  # we raise our own problem+json 401 with a stable code
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="`Authorization: Bearer <token>`; get a dev token with `ruralfund users token NAME`.",
)


def install_auth(app: FastAPI, settings: AuthSettings | None = None) -> AuthSettings:
    """Attach auth settings to ``app`` (refusing unsafe production settings) and return them."""
    settings = settings or AuthSettings()
    settings.check_for_production()
    app.state.auth_settings = settings
    return settings


def auth_settings(request: Request) -> AuthSettings:
    settings = getattr(request.app.state, "auth_settings", None)
    if settings is None:
        # A programming error, not the caller's: fail loudly instead of guessing from env.
        raise RuntimeError("install_auth(app, settings) was not called for this app")
    return settings


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The caller, from ``Authorization: Bearer``; 401 problem if absent or invalid."""
    settings = auth_settings(request)
    if credentials is None:
        raise Unauthenticated("AUTH_MISSING", "send Authorization: Bearer <token>", detail_zh=_SIGN_IN_ZH)
    if settings.oidc_enabled:
        # PyJWKClient may fetch keys over the network: keep it off the event loop.
        principal = await run_in_threadpool(verify_token_cached, credentials.credentials, settings)
    else:
        principal = verify_token_cached(credentials.credentials, settings)
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(subject=principal.subject)
    return principal


PrincipalDependency = Callable[..., Awaitable[Principal]]


def require_roles(*roles: Role) -> PrincipalDependency:
    """A dependency returning the caller if they hold *any* of ``roles``, else 403 ROLE_REQUIRED."""
    if not roles:
        raise ValueError("require_roles() needs at least one role")
    return _role_dependency(frozenset(Role(r) for r in roles), write=False)


def require_write(*roles: Role) -> PrincipalDependency:
    """Like :func:`require_roles` for endpoints that change state: read-only principals
    (auditors) are refused with 403 READ_ONLY. With no roles, any writer may call."""
    wanted = frozenset(Role(r) for r in roles)
    if Role.AUDITOR in wanted:
        raise ValueError("auditors never write; do not list Role.AUDITOR in require_write")
    return _role_dependency(wanted, write=True)


def _role_dependency(wanted: frozenset[Role], *, write: bool) -> PrincipalDependency:
    names = sorted(wanted)

    async def dependency(
        # Default-value form on purpose: with postponed annotations FastAPI resolves
        # annotations in module globals, where the local `names` does not exist.
        principal: Principal = Security(current_principal, scopes=names),  # noqa: B008
    ) -> Principal:
        if write and principal.is_read_only:
            raise Forbidden("READ_ONLY", "auditors can read but not change anything",
                            detail_zh="审计人员只能查阅，不能新增或修改任何内容。")
        if wanted and not (principal.roles & wanted):
            raise Forbidden(
                "ROLE_REQUIRED",
                f"this action needs one of the roles: {', '.join(names)}",
                details={"required_roles": names, "roles": sorted(principal.roles)},
                detail_zh=f"此操作须由{roles_zh(names)}办理；您的角色（{roles_zh(sorted(principal.roles))}）不能办理。",
            )
        return principal

    # Introspectable, e.g. for a test listing each route's roles.
    dependency.required_roles = wanted  # type: ignore[attr-defined]
    dependency.write = write  # type: ignore[attr-defined]
    return dependency


async def public_endpoint() -> None:
    """Marker dependency: this endpoint deliberately needs no authentication."""


# Swagger UI, ReDoc and Swagger's OAuth2 redirect: public pages that only show the OpenAPI
# document (which is public too); FastAPIOffline registers them as API routes.
API_DOCS_PATHS: Final = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def unguarded_routes(app: FastAPI) -> list[str]:
    """``"METHOD /path"`` of API routes that neither authenticate nor declare
    :func:`public_endpoint` — a service test should assert this list is empty."""
    from fastapi.routing import APIRoute  # local: only needed by this check

    # the API documentation pages are public by design (FastAPIOffline serves them, and their
    # bundled assets, as API routes where plain FastAPI used bare Starlette routes)
    docs = API_DOCS_PATHS | {app.openapi_url}
    found: list[str] = []
    for route in all_routes(app.routes):
        if getattr(route, "path", None) in docs:
            continue
        if isinstance(route, APIRoute) and not _declares_auth(route.dependant):
            found.extend(f"{method} {route.path}" for method in sorted(route.methods))
    return found


def _declares_auth(dependant: Any) -> bool:
    if dependant.call in (current_principal, public_endpoint):
        return True
    return any(_declares_auth(d) for d in dependant.dependencies)


# --------------------------------------------------------------------------- dev users

DEFAULT_USERS_FILE: Final = Path("var/users.json")
_USERS_FILE_VERSION: Final = 1


def _default_users_path() -> Path:
    return Path(os.environ.get("RURALFUND_USERS_FILE") or DEFAULT_USERS_FILE)


class UserDirectory:
    """Development people directory kept in a JSON file, so developers can create people
    and get tokens without an identity provider. Production uses OIDC instead.

    Names are unique (case-insensitive) so ``token_for("alice")`` is unambiguous; the subject
    is derived from the name, so re-creating a directory gives everyone the same id again.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else _default_users_path()

    def create(
        self,
        name: str,
        roles: Iterable[Role | str],
        credit_code: str | None = None,
        linked_credit_codes: Iterable[str] = (),
    ) -> Principal:
        name = name.strip()
        try:
            principal = Principal(
                subject=_subject_for(name),
                name=name,
                roles=frozenset(Role(r) for r in roles),
                credit_code=credit_code,
                linked_credit_codes=frozenset(linked_credit_codes),
            )
        except ValueError as exc:
            raise InvalidInput("USER_INVALID", str(exc), title_zh="人员信息有误",
                               detail_zh=f"人员“{name}”的信息有误（姓名、角色或统一社会信用代码），未能创建。") from exc
        people = self._load()
        if any(_same_name(p.name, name) or p.subject == principal.subject for p in people):
            raise Conflict("USER_EXISTS", f"a person named {name!r} already exists", field="name",
                           title_zh="人员已存在", detail_zh=f"已有名为“{name}”的人员，请换一个姓名。")
        self._save([*people, principal])
        return principal

    def get(self, subject_or_name: str) -> Principal:
        key = subject_or_name.strip()
        for person in self._load():
            if person.subject == key or _same_name(person.name, key):
                return person
        raise NotFound("USER_NOT_FOUND", f"no person with id or name {key!r} in {self.path}", title_zh="未找到该人员",
                       detail_zh=f"人员名册 {self.path} 中没有编号或姓名为“{key}”的人员。")

    def token_for(
        self, subject_or_name: str, settings: AuthSettings, ttl: int | timedelta | None = None
    ) -> str:
        return issue_token(self.get(subject_or_name), settings, ttl)

    def _load(self) -> list[Principal]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != _USERS_FILE_VERSION:
                raise ValueError(f"unsupported users file version {data.get('version')!r}")
            return [_principal_from_json(p) for p in data["users"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Hand-edited files are expected in development: say which file, not a traceback.
            raise InvalidInput("USERS_FILE_INVALID", f"{self.path}: {exc}", title_zh="人员名册文件有误",
                               detail_zh=f"人员名册文件 {self.path} 无法读取，请检查其内容格式。") from exc

    def _save(self, people: Iterable[Principal]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": _USERS_FILE_VERSION, "users": [_principal_to_json(p) for p in people]}
        text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
        # Write-then-rename so a crash never leaves a half-written directory.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # Last in the class body: once defined, `list` here names this method, not the builtin.
    def list(self) -> list[Principal]:
        return sorted(self._load(), key=lambda p: p.name.casefold())


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _subject_for(name: str) -> str:
    digest = hashlib.sha256(name.strip().casefold().encode("utf-8")).hexdigest()
    return f"u-{digest[:10]}"


def _principal_to_json(p: Principal) -> dict[str, Any]:
    return {
        "subject": p.subject,
        "name": p.name,
        "roles": sorted(p.roles),
        "credit_code": p.credit_code,
        "linked_credit_codes": sorted(p.linked_credit_codes),
    }


def _principal_from_json(data: Mapping[str, Any]) -> Principal:
    return Principal(
        subject=data["subject"],
        name=data["name"],
        roles=frozenset(Role(r) for r in data["roles"]),
        credit_code=data.get("credit_code"),
        linked_credit_codes=frozenset(data.get("linked_credit_codes") or ()),
    )
