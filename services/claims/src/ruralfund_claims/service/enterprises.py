"""Enterprises: register, change, read; an enterprise reads only its own record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.contracts import EnterpriseRegistered
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ruralfund_common.messaging import Tx

from ..adapters import repository as repo
from ..domain.enterprise import Enterprise, EnterpriseChange, check_registered_in_county
from ..views import EnterpriseOut, enterprise_out
from .common import conflict_on_duplicate, own_credit_code_only
from .programs import load_program

__all__ = [
    "change_enterprise",
    "enterprise_for_claims",
    "enterprise_from_row",
    "get_enterprise",
    "list_enterprises",
    "register_enterprise",
    "registered_enterprise",
]


SELF_REGISTERED_KINDS: Final = ("enterprise", "station_operator")


def check_may_register(principal: Principal, enterprise: Enterprise) -> None:
    """The bureau registers anyone; an enterprise only itself (the credit code its sign-in
    carries) and only as what it may declare itself: providers and contractors are the
    bureau's to register."""
    if principal.has(Role.BUREAU_ADMIN):
        return
    if principal.credit_code != enterprise.credit_code:
        raise Forbidden(
            "NOT_YOUR_CREDIT_CODE",
            "an enterprise registers only its own credit code",
            field="credit_code",
            title_zh="只能登记本企业",
            detail_zh=f"您登录所用的统一社会信用代码是 {principal.credit_code}，"
            f"不能登记 {enterprise.credit_code}。",
        )
    if enterprise.kind not in SELF_REGISTERED_KINDS:
        raise Forbidden(
            "KIND_REGISTERED_BY_BUREAU",
            f"a {enterprise.kind} is registered by the bureau",
            field="kind",
            title_zh="此类主体由主管部门登记",
            detail_zh="服务商和承办企业由主管部门登记；企业自行登记时请选择“企业”或“站点运营者”。",
        )


async def register_enterprise(
    tx: Tx, principal: Principal, enterprise: Enterprise, program_code: str | None
) -> EnterpriseOut:
    check_may_register(principal, enterprise)
    if await repo.get_enterprise(tx.conn, enterprise.credit_code) is not None:
        raise Conflict(
            "ENTERPRISE_EXISTS",
            f"{enterprise.credit_code} is already registered; change it with PATCH",
            field="credit_code",
            title_zh="企业已登记",
            detail_zh=f"统一社会信用代码 {enterprise.credit_code} 的企业已经登记，请修改原登记信息。",
        )
    now = tx.clock.now()
    if program_code is not None:
        program = await load_program(tx.conn, program_code)
        check_registered_in_county(enterprise, program.county_code, program_code=program.code)
    message = f"{enterprise.credit_code} is already registered"
    message_zh = f"统一社会信用代码 {enterprise.credit_code} 的企业已经登记，请修改原登记信息。"
    async with conflict_on_duplicate("ENTERPRISE_EXISTS", message, message_zh):
        row = {**_enterprise_row(enterprise), "by": principal.subject, "at": now}
        await repo.insert_enterprise(tx.conn, row)
    if program_code is not None:
        await repo.link_enterprise_program(tx.conn, enterprise.credit_code, program_code, now)
    await tx.emit(_enterprise_registered(enterprise), aggregate_id=enterprise.credit_code)
    return await get_enterprise(tx.conn, principal, enterprise.credit_code)


def _enterprise_row(e: Enterprise) -> dict[str, Any]:
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "kind": e.kind,
        "county_code": e.county_code,
        "contact": e.contact.model_dump(),
        "bank_name": e.bank_account.bank_name,
        "bank_account_no": e.bank_account.account_no,
    }


def _bank_account_changed(
    before: Enterprise, after: Enterprise, by: str, at: Any
) -> EnterpriseBankAccountChanged:
    """The registry's account is where every unpaid award goes (funds); the contact on record
    before the change is told (notify), even if this same change replaced the contact."""
    return EnterpriseBankAccountChanged(
        credit_code=after.credit_code,
        enterprise_name=after.name,
        bank_name=after.bank_account.bank_name,
        account_no=after.bank_account.account_no,
        previous_bank_name=before.bank_account.bank_name,
        previous_account_no=before.bank_account.account_no,
        previous_contact_name=before.contact.name,
        previous_contact_email=before.contact.email,
        previous_contact_phone=before.contact.phone,
        changed_by=by,
        changed_at=at,
    )


def _enterprise_registered(e: Enterprise) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        credit_code=e.credit_code,
        name=e.name,
        kind=e.kind,
        county_code=e.county_code,
        contact_name=e.contact.name,
        contact_email=e.contact.email,
        contact_phone=e.contact.phone,
    )


def enterprise_from_row(row: asyncpg.Record) -> Enterprise:
    return Enterprise.model_validate(
        {
            "credit_code": row["credit_code"],
            "name": row["name"],
            "kind": row["kind"],
            "contact": row["contact"],
            "bank_account": {"bank_name": row["bank_name"], "account_no": row["bank_account_no"]},
        }
    )


async def _enterprise_row_or_404(
    conn: asyncpg.Connection, principal: Principal, credit_code: str, *, for_update: bool = False
) -> asyncpg.Record:
    own = own_credit_code_only(principal)
    row = await repo.get_enterprise(conn, credit_code, for_update=for_update)
    # Another enterprise's data answers like a missing one: existence is not disclosed.
    if row is None or (own is not None and own != credit_code):
        raise NotFound(
            "ENTERPRISE_NOT_FOUND", f"no enterprise {credit_code!r}", field="credit_code",
            detail_zh=f"没有统一社会信用代码为 {credit_code} 的企业。",
        )
    return row


async def change_enterprise(
    tx: Tx,
    principal: Principal,
    credit_code: str,
    change: EnterpriseChange,
    program_code: str | None,
) -> EnterpriseOut:
    row = await _enterprise_row_or_404(tx.conn, principal, credit_code, for_update=True)
    current = enterprise_from_row(row)
    now = tx.clock.now()
    if program_code is not None:
        program = await load_program(tx.conn, program_code)
        check_registered_in_county(current, program.county_code, program_code=program.code)
        await repo.link_enterprise_program(tx.conn, credit_code, program_code, now)
    if change.name or change.contact or change.bank_account:
        updated = change.apply(current)
        await repo.update_enterprise(
            tx.conn, {**_enterprise_row(updated), "by": principal.subject, "at": now}
        )
        if updated.bank_account != current.bank_account:
            # first: notify mails the contact on record before this change (current.contact)
            changed = _bank_account_changed(current, updated, principal.subject, now)
            await tx.emit(changed, aggregate_id=credit_code)
        await tx.emit(_enterprise_registered(updated), aggregate_id=credit_code)
    elif program_code is None:
        change.apply(current)  # raises NOTHING_TO_CHANGE
    return await get_enterprise(tx.conn, principal, credit_code)


async def get_enterprise(
    conn: asyncpg.Connection, principal: Principal, credit_code: str
) -> EnterpriseOut:
    return enterprise_out(await _enterprise_row_or_404(conn, principal, credit_code))


async def list_enterprises(
    conn: asyncpg.Connection, principal: Principal, *, after: str | None, limit: int,
    search: str | None = None,
) -> list[EnterpriseOut]:  # fmt: skip
    rows = await repo.list_enterprises(
        conn, after=after, limit=limit, credit_code=own_credit_code_only(principal), search=search
    )
    return [enterprise_out(r) for r in rows]


async def enterprise_for_claims(conn: asyncpg.Connection, credit_code: str) -> Enterprise:
    return registered_enterprise(await repo.get_enterprise_only(conn, credit_code), credit_code)


def registered_enterprise(row: Mapping[str, Any] | None, credit_code: str) -> Enterprise:
    if row is None:
        raise InvalidInput(
            "ENTERPRISE_NOT_REGISTERED",
            f"{credit_code} is not registered: ask the bureau to register it first",
            field="credit_code",
            title_zh="企业尚未登记",
            detail_zh=f"统一社会信用代码 {credit_code} 的企业尚未登记，请先登记本企业（或请主管部门登记）。",
        )
    return enterprise_from_row(row)
