"""Funds use cases: load → domain decision → save + outbox, inside the caller's transaction."""

from .commands import run_command
from .inbound import (
    ProgramNotOpenYet, objection_filed, objection_resolved, open_program, record_publication, reserve_award,
    reserve_contract_payment,
)
from .payments import (
    MAX_BATCH_APPROVALS, ApprovalItem, approve_payments, change_payee_bank, fail_payment, import_statement,
    request_payment, settle_payment,
)
from .registry import apply_bank_account_change
from .program import adjust_budget, declare_default, preallocate, record_repayment, release_funds, resolution_of
from .shares import import_history, spending
from .ledger import (
    checkpoint_view, daily_checkpoint, make_checkpoint, prove_consistency, prove_inclusion, seal, seal_migrated_rows,
    seal_schema_changes,
)
from .reads import (
    adjustments_report, award_view, balances, payee_statement, payment_view, postings, reconciliation,
)

__all__ = [
    "run_command", "ProgramNotOpenYet", "objection_filed", "objection_resolved", "open_program",
    "record_publication", "reserve_award", "MAX_BATCH_APPROVALS", "ApprovalItem", "approve_payments",
    "change_payee_bank", "fail_payment", "import_statement", "request_payment", "settle_payment", "adjust_budget",
    "declare_default", "preallocate", "record_repayment", "release_funds", "resolution_of", "adjustments_report",
    "award_view", "balances", "payee_statement", "payment_view", "postings", "reconciliation",
    "reserve_contract_payment", "import_history", "spending", "seal", "seal_migrated_rows", "seal_schema_changes", "make_checkpoint",
    "daily_checkpoint", "checkpoint_view", "prove_consistency", "prove_inclusion",
    "apply_bank_account_change",
]
