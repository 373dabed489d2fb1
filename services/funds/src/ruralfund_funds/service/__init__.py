"""Funds use cases: load → domain decision → save + outbox, inside the caller's transaction."""

from .commands import run_command
from .inbound import (
    ProgramNotOpenYet,
    objection_filed,
    objection_resolved,
    open_program,
    record_publication,
    reserve_award,
    reserve_contract_payment,
)
from .ledger import (
    checkpoint_view,
    daily_checkpoint,
    make_checkpoint,
    prove_consistency,
    prove_inclusion,
    seal,
    seal_migrated_rows,
    seal_schema_changes,
)
from .payments import (
    MAX_BATCH_APPROVALS,
    ApprovalItem,
    approve_payments,
    change_payee_bank,
    fail_payment,
    import_statement,
    request_payment,
    settle_payment,
)
from .program import (
    adjust_budget,
    declare_default,
    preallocate,
    record_repayment,
    release_funds,
    resolution_of,
)
from .reads import (
    adjustments_report,
    award_view,
    balances,
    payee_statement,
    payment_view,
    postings,
    reconciliation,
)
from .registry import apply_bank_account_change
from .shares import import_history, spending

__all__ = [
    "MAX_BATCH_APPROVALS",
    "ApprovalItem",
    "ProgramNotOpenYet",
    "adjust_budget",
    "adjustments_report",
    "apply_bank_account_change",
    "approve_payments",
    "award_view",
    "balances",
    "change_payee_bank",
    "checkpoint_view",
    "daily_checkpoint",
    "declare_default",
    "fail_payment",
    "import_history",
    "import_statement",
    "make_checkpoint",
    "objection_filed",
    "objection_resolved",
    "open_program",
    "payee_statement",
    "payment_view",
    "postings",
    "preallocate",
    "prove_consistency",
    "prove_inclusion",
    "reconciliation",
    "record_publication",
    "record_repayment",
    "release_funds",
    "request_payment",
    "reserve_award",
    "reserve_contract_payment",
    "resolution_of",
    "run_command",
    "seal",
    "seal_migrated_rows",
    "seal_schema_changes",
    "settle_payment",
    "spending",
]
