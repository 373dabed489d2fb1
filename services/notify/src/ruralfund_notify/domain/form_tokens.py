"""Signed form tokens: the public objection form's protection against forged and replayed posts.

The form needs no login, so there is no session to bind a CSRF token to. Instead each page
view gets a token ``v1.<notice id>.<issued at>.<nonce>.<signature>`` signed with the
service's secret (HMAC-SHA256): a post must carry one this service issued, for this notice,
recently. The nonce is stored with the objection (unique), so a token files one objection:
a re-sent form (reload, double click) answers with the objection it already filed.

Ages are measured on the wall clock (seconds since the epoch, given by the caller): they are
about how long a person had the page open, not about the business calendar.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "MIN_SECRET_BYTES",
    "FormToken",
    "FormTokenInvalid",
    "TokenProblem",
    "issue_form_token",
    "verify_form_token",
]

VERSION: Final = "v1"
MIN_SECRET_BYTES: Final = 32
MAX_TOKEN_CHARS: Final = 300
# A token may be used a little "before" it was issued: replicas' clocks differ slightly.
CLOCK_SKEW_SECONDS: Final = 60
_NONCE: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NOTICE_ID: Final = re.compile(r"^[0-9a-f-]{36}$")


class TokenProblem(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    WRONG_NOTICE = "wrong_notice"
    EXPIRED = "expired"


class FormTokenInvalid(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class FormToken:
    notice_id: str
    issued_at_s: int
    nonce: str


def _signature(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_form_token(secret: bytes, notice_id: str, issued_at_s: int, nonce: str) -> str:
    assert len(secret) >= MIN_SECRET_BYTES, "form secret too short"
    assert _NOTICE_ID.fullmatch(notice_id) and _NONCE.fullmatch(nonce)
    payload = f"{VERSION}.{notice_id}.{issued_at_s}.{nonce}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_form_token(
    secret: bytes, token: str, *, notice_id: str, now_s: int, max_age_s: int
) -> FormToken:
    """The token's contents if this service signed it for ``notice_id`` within ``max_age_s``;
    raises FormTokenInvalid saying why not."""
    parts = token.split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if len(parts) != 5 or parts[0] != VERSION or not parts[2].isdigit():
        raise FormTokenInvalid(TokenProblem.MALFORMED)
    _, token_notice, issued, nonce, signature = parts
    expected = _signature(secret, ".".join(parts[:4]))
    # Compared in constant time: a timing difference would let a forger find it byte by byte.
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise FormTokenInvalid(TokenProblem.BAD_SIGNATURE)
    if token_notice != notice_id:
        raise FormTokenInvalid(TokenProblem.WRONG_NOTICE)
    age = now_s - int(issued)
    if age > max_age_s or age < -CLOCK_SKEW_SECONDS:
        raise FormTokenInvalid(TokenProblem.EXPIRED)
    return FormToken(token_notice, int(issued), nonce)
