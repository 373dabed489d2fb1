"""The enterprise registry's bank account, applied to the awards funds holds (issue 16, 9)."""

from __future__ import annotations

from datetime import datetime

from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Tx

from ..adapters import repository as repo
from ..domain.awards import Payee
from ..domain.payee_bank import RegistryAccount, apply_registry_account

__all__ = ["apply_bank_account_change", "registry_payee"]

log = get_logger("ruralfund.funds.registry")


async def apply_bank_account_change(tx: Tx, ev: EnterpriseBankAccountChanged) -> None:
    """Every unpaid award of the enterprise moves to the registry's new account (open payment
    orders lose their approvals); a change older than one already applied changes nothing."""
    account = RegistryAccount(ev.credit_code, ev.bank_name, ev.account_no, ev.changed_at)
    newest = await tx.conn.fetchval(
        "INSERT INTO registry_bank_accounts AS r (credit_code, bank_name, account_no, changed_at) "
        "VALUES ($1,$2,$3,$4) ON CONFLICT (credit_code) DO UPDATE SET bank_name=excluded.bank_name, "
        "account_no=excluded.account_no, changed_at=excluded.changed_at "
        "WHERE r.changed_at < excluded.changed_at RETURNING 1",
        ev.credit_code, ev.bank_name, ev.account_no, ev.changed_at)
    if newest is None:
        log.info("registry_bank_change_stale", credit_code=ev.credit_code)
        return
    ids = [r["award_id"] for r in await tx.conn.fetch(
        "SELECT award_id FROM awards WHERE payee_credit_code=$1 AND status IN ('reserved','in_publicity','payable') "
        "ORDER BY award_id", ev.credit_code)]
    for award_id in ids:  # in a stable order: two changes never lock the same awards crosswise
        await repo.lock_award_key(tx.conn, award_id)
    awards = await repo.load_awards(tx.conn, ids)
    changes = apply_registry_account(awards.values(), account)
    changed = [awards[c.award_id] for c in changes]
    await repo.save_awards(tx.conn, changed)
    await repo.append_audit(tx.conn, [("payee_bank_changed", {
        "award_id": c.award_id, "bank_name": ev.bank_name, "bank_account": ev.account_no,
        "previous_bank_name": c.previous_bank_name, "previous_bank_account": c.previous_account_no,
        "approvals_lapsed": c.approvals_lapsed, "by": ev.changed_by, "source": "registry"}) for c in changes],
        tx.clock.now())
    log.info("registry_bank_change_applied", credit_code=ev.credit_code, awards=len(changes),
             approvals_lapsed=sum(c.approvals_lapsed for c in changes))


async def registry_payee(tx: Tx, payee: Payee, as_of: datetime) -> Payee:
    """The payee with the registry's account if the registry changed it after ``as_of`` (the
    approval carried the account it had then: the change may overtake it on another stream)."""
    row = await tx.conn.fetchrow(
        "SELECT bank_name, account_no, changed_at FROM registry_bank_accounts WHERE credit_code=$1",
        payee.credit_code)
    if row is None or not RegistryAccount(payee.credit_code, row["bank_name"], row["account_no"],
                                          row["changed_at"]).supersedes(as_of):
        return payee
    return Payee(payee.credit_code, payee.name, row["bank_name"], row["account_no"])
