"""The console's session: a signed cookie (HttpOnly, SameSite=Lax, Secure in production) that
carries the person's bearer token and a CSRF token; nothing else is kept about them.

Signed with HMAC-SHA256 (stdlib), not encrypted: it holds only what its owner may see (their
own token). Expiry is inside the signed value, so an old cookie cannot be replayed forever.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Generic, TypeVar

__all__ = ["COOKIE_NAME", "SESSION_SECONDS", "Session", "SessionCodec", "SignedCookie", "csrf_matches"]

T = TypeVar("T", bound=Any)
COOKIE_NAME: Final = "rf_console"
SESSION_SECONDS: Final = 8 * 3600  # a working day


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = None
    name: str | None = None
    subject: str | None = None
    roles: list[str] = field(default_factory=list)
    credit_code: str | None = None
    idp: bool = False  # signed in at the county IdP (sign-out also ends the IdP's session)
    expires_at: float = field(default_factory=lambda: time.time() + SESSION_SECONDS)

    @property
    def signed_in(self) -> bool:
        return self.token is not None


class SignedCookie(Generic[T]):
    """A dataclass with an ``expires_at`` as an HMAC-SHA256-signed JSON cookie value. The key is
    derived from the secret for ``purpose``, so a cookie of one kind never passes for another
    (a session for a sign-in flow or the other way round)."""

    def __init__(self, secret: bytes, kind: type[T], purpose: str, max_chars: int = 8192) -> None:
        if len(secret) < 32:
            raise ValueError("the console's session secret needs at least 32 bytes")
        self._key = hmac.new(secret, f"ruralfund-console {purpose}".encode(), hashlib.sha256).digest()
        self._kind, self._max_chars = kind, max_chars

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, value: T) -> str:
        # unpadded: with no "=" the value is a plain cookie token, never sent quoted
        payload = base64.urlsafe_b64encode(json.dumps(asdict(value), separators=(",", ":")).encode()).rstrip(b"=")
        return f"{payload.decode()}.{self._mac(payload)}"

    def loads(self, cookie: str | None) -> T | None:
        """The value in ``cookie``; None when absent, forged, mangled or expired."""
        if not cookie or "." not in cookie or len(cookie) > self._max_chars:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            value = self._kind(**json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
        except (ValueError, TypeError):
            return None
        return value if value.expires_at > time.time() else None


class SessionCodec(SignedCookie[Session]):
    def __init__(self, secret: bytes) -> None:
        super().__init__(secret, Session, "session")


def csrf_matches(session: Session | None, sent: str | None) -> bool:
    """A form's CSRF token equals its session's (constant time)."""
    return bool(session and sent and hmac.compare_digest(session.csrf.encode(), sent.encode()))
