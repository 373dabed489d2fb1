"""Who may read what, and the small helpers every aggregate's use cases share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.errors import Conflict, Forbidden

from ..domain.refusals import TITLES_ZH

__all__ = [
    "FUNDS_ACTOR",
    "READ_ALL_ROLES",
    "conflict_on_duplicate",
    "is_uuid",
    "own_credit_code_only",
]

# Roles that see every enterprise's data; an enterprise principal sees only its own.
READ_ALL_ROLES: Final = frozenset(
    {
        Role.BUREAU_ADMIN,
        Role.LEADING_GROUP,
        Role.AUDITOR,
        Role.SYSTEM,
        Role.FINANCE_BUREAU,
        Role.CONTRACTOR_SIGNATORY,
    }
)
FUNDS_ACTOR: Final = "funds"


def own_credit_code_only(principal: Principal) -> str | None:
    """The credit code a principal is confined to, or None when it may read everything."""
    if principal.roles & READ_ALL_ROLES:
        return None
    if principal.credit_code is None:
        raise Forbidden(
            "ROLE_REQUIRED",
            "no access to enterprise data",
            detail_zh="您的账号未关联企业，不能查看企业数据。",
        )
    return principal.credit_code


@asynccontextmanager
async def conflict_on_duplicate(code: str, message: str, detail_zh: str) -> AsyncIterator[None]:
    """A concurrent request that inserted the same key first wins; this one gets 409.
    (The explicit existence checks before the insert give the same answer without the race.)"""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(code, message, title_zh=TITLES_ZH.get(code), detail_zh=detail_zh) from exc


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
