"""Funds' clawback as claims keeps it for the execution report (issue 16, 8; Xinping §六
"收回全部项目建设资金"): a contractor's default (what went back to the finance bureau, what is
receivable from the defaulter) and its repayments. Stored as funds said it; a re-delivered
fact changes nothing (its key is the default's program and payee, the repayment's id)."""

from __future__ import annotations

from ruralfund_common.contracts.funds.clawback_repaid import ClawbackRepaid
from ruralfund_common.contracts.funds.contractor_defaulted import ContractorDefaulted
from ruralfund_common.messaging import Envelope, Tx

__all__ = ["record_clawback_repaid", "record_contractor_defaulted"]


async def record_contractor_defaulted(tx: Tx, env: Envelope[ContractorDefaulted]) -> None:
    ev = env.data
    await tx.conn.execute(
        "INSERT INTO contractor_defaults (program_code, credit_code, receivable_fen, returned_fen, "
        "joint_account_frozen, resolution_no, resolution_date, declared_at, message_id) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (program_code, credit_code) DO NOTHING",
        ev.program_code, ev.credit_code, ev.receivable_fen, ev.returned_fen, ev.joint_account_frozen,
        ev.resolution_no, ev.resolution_date, ev.declared_at, env.id,
    )  # fmt: skip


async def record_clawback_repaid(tx: Tx, env: Envelope[ClawbackRepaid]) -> None:
    ev = env.data
    await tx.conn.execute(
        "INSERT INTO clawback_repayments (repayment_id, program_code, credit_code, amount_fen, "
        "outstanding_fen, paid_to, recorded_at, message_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
        "ON CONFLICT (repayment_id) DO NOTHING",
        ev.repayment_id, ev.program_code, ev.credit_code, ev.amount_fen, ev.outstanding_fen,
        ev.paid_to, ev.recorded_at, env.id,
    )  # fmt: skip
