"""Facts other services report about claims: funds' reservation, publicity, payment, failed
payment and revocation of an award, logistics' station volumes."""

from __future__ import annotations

from typing import Any

from ruralfund_common.contracts import (
    AwardReserved,
    PaymentExecuted,
    PublicityWindowOpened,
    ReservationRefused,
    StationVolumeReported,
)
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.errors import Conflict
from ruralfund_common.messaging import Envelope, Tx
from ruralfund_common.money import format_yuan

from ..adapters import repository as repo
from ..domain.claim import (
    ClaimAction,
    ClaimStatus,
    transition,
)
from .claims import claim_row, history_entry

__all__ = [
    "apply_funds_event",
    "apply_payment_failed",
    "record_station_volume",
]


FundsEvent = (
    AwardReserved | ReservationRefused | PublicityWindowOpened | PaymentExecuted | AwardRevoked
)


def _funds_fact(event: FundsEvent) -> tuple[ClaimAction, dict[str, Any]]:
    if isinstance(event, AwardReserved):
        return ClaimAction.RESERVE, {
            "reserved_at": event.reserved_at,
            "item_available_fen": event.item_available_fen,
        }
    if isinstance(event, ReservationRefused):
        return ClaimAction.REFUSE_RESERVATION, {
            "refusal_code": event.code,
            # the Chinese words with figures when funds gives them (the claim's pages show it)
            "refusal_reason": event.reason_zh or event.reason,
        }
    if isinstance(event, PublicityWindowOpened):
        return ClaimAction.OPEN_PUBLICITY, {
            "publicity_starts_on": event.starts_on,
            "publicity_ends_on": event.ends_on,
            "payable_from": event.payable_from,
        }
    if isinstance(event, AwardRevoked):
        return ClaimAction.REVOKE, {
            "revoked_at": event.revoked_at,
            "revocation_code": event.code,
            "revocation_reason": event.reason,
        }
    return ClaimAction.PAY, {"payment_id": event.payment_id, "paid_at": event.executed_at}


async def apply_funds_event(tx: Tx, env: Envelope[Any]) -> None:
    """Mirror funds' progress on the claim. A DomainError here dead-letters the message."""
    event: FundsEvent = env.data
    row = await claim_row(tx.conn, None, event.claim_id, for_update=True)
    if row["award_id"] is None or str(row["award_id"]) != event.award_id:
        raise Conflict(
            "AWARD_MISMATCH",
            f"claim {event.claim_id} has award {row['award_id']}, funds reported {event.award_id}",
            detail_zh=f"申报 {event.claim_id} 的奖补编号为 {row['award_id']}，资金服务报告的是 {event.award_id}。",
        )
    action, facts = _funds_fact(event)
    if isinstance(event, PaymentExecuted) and event.payment_id in (row["failed_payment_ids"] or []):
        # the execution report of a payment the bank already failed: history only
        await repo.add_history(tx.conn, history_entry(event.claim_id, tx.clock.now(), None, "late_payment_report",
                                                 row["status"], row["status"], "payment already failed",
                                                 {"payment_id": event.payment_id, "message_id": env.id}))
        return
    after = transition(row["status"], action)
    note = None
    if isinstance(event, PaymentExecuted) and event.amount_fen != row["amount_fen"]:
        note = f"AMOUNT_MISMATCH: paid {format_yuan(event.amount_fen)}, approved {format_yuan(row['amount_fen'])}"
    now = tx.clock.now()
    await repo.record_funds_fact(tx.conn, event.claim_id, after, now, facts)
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in facts.items()}
    await repo.add_history(
        tx.conn,
        history_entry(
            event.claim_id,
            now,
            None,
            action.value,
            row["status"],
            after,
            note,
            {**data, "message_id": env.id},
        ),
    )


async def apply_payment_failed(tx: Tx, env: Envelope[PaymentFailed]) -> None:
    """The bank failed or returned a payment: funds made the award payable again. The claim
    leaves ``paid`` only if that payment is the one it records (a later payment may already have
    succeeded: subjects arrive in any order), and the failed id is kept so its own late
    execution report cannot mark the claim paid."""
    event = env.data
    row = await claim_row(tx.conn, None, event.claim_id, for_update=True) if event.claim_id else None
    if row is None:
        return  # a contract tranche's payment: see contracts.apply_tranche_payment_failed
    if row["award_id"] is None or str(row["award_id"]) != event.award_id:
        raise Conflict("AWARD_MISMATCH", f"claim {event.claim_id} has award {row['award_id']}, funds reported {event.award_id}",
            detail_zh=f"申报 {event.claim_id} 的奖补编号为 {row['award_id']}，资金服务报告的是 {event.award_id}。")
    current = row["status"] == ClaimStatus.PAID and str(row["payment_id"]) == event.payment_id
    after = ClaimStatus.IN_PUBLICITY if current else ClaimStatus(row["status"])
    now = tx.clock.now()
    await tx.conn.execute(
        "UPDATE claims SET failed_payment_ids = array_append(failed_payment_ids, $2), status = $3, "
        "payment_id = CASE WHEN $4 THEN NULL ELSE payment_id END, paid_at = CASE WHEN $4 THEN NULL ELSE paid_at END, "
        "updated_at = $5, version = version + 1 WHERE id = $1::uuid",
        event.claim_id, event.payment_id, after.value, current, now,
    )
    await repo.add_history(tx.conn, history_entry(
        event.claim_id, now, None, "payment_failed", row["status"], after,
        f"{event.code}: {event.reason}", {"payment_id": event.payment_id, "message_id": env.id},
    ))


async def record_station_volume(tx: Tx, event: StationVolumeReported) -> None:
    await repo.upsert_station_volume(
        tx.conn,
        {
            "station_id": event.station_id,
            "year": event.year,
            "station_name": event.station_name,
            "operator_credit_code": event.operator_credit_code,
            "annual_volume_fen": event.annual_volume_fen,
            "annual_parcels": event.annual_parcels,
            "last_month": event.month,
            "updated_at": tx.clock.now(),
        },
    )
