"""The bodies funds' HTTP API answers with, as models for its OpenAPI document (issue 17, 19).

The use cases return plain dicts (a command's first outcome is stored and replayed as JSON),
so these models document the answers (``responses=``) rather than re-validate them; a test
checks real answers against them (tests/integration/test_response_models.py). Open-ended
parts (rolled-up balances per account family, a row of the awards table) allow extra keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """A body whose listed keys are always there and which may carry more."""

    model_config = ConfigDict(extra="allow")


class Money(BaseModel):
    fen: int
    yuan: str = Field(description='the same amount in yuan, e.g. "97,531.00"')


class ReleaseOut(BaseModel):
    release_id: str
    amount_fen: int
    released_total_fen: int = Field(description="everything released into the joint account so far")


class ApprovalOut(BaseModel):
    person: str
    name: str | None = None
    role: str
    content_sha256: str
    approved_at: str
    valid: bool = Field(description="false once the order's content changed after this approval")


class PaymentOut(BaseModel):
    payment_id: str
    award_id: str
    status: str
    amount_fen: int
    content: dict[str, Any] = Field(description="the canonical payment content the approvers sign")
    content_sha256: str
    bank_reference: str | None = None
    approvals: list[ApprovalOut]
    executed_at: str | None = None
    settled_at: str | None = None
    failed_at: str | None = None
    outcome_code: str | None = None
    ratio_justifications: Any = Field(default=None, description="reasons recorded for departing from "
                                      "'in principle' share rules")
    ratio_checks: Any = Field(default=None, description="the share rules' last verdict on this order")


class BatchApprovalResult(_Open):
    payment_id: str
    status: str = Field(description="the order's status after the approval, or refused")
    code: str | None = Field(default=None, description="a refusal's code")
    message: str | None = None


class BatchApprovalOut(BaseModel):
    results: list[BatchApprovalResult]


class StatementImportOut(BaseModel):
    import_id: str
    lines: int
    matches: dict[str, int] = Field(description="how many lines matched in each way")


class PayeeBankOut(BaseModel):
    award_id: str
    content_sha256: str = Field(description="the new payment content's hash (earlier approvals lapse)")
    status: str


class AdjustmentOut(BaseModel):
    adjustment_id: str
    override: bool
    from_available_fen: int
    to_available_fen: int


class PreallocationOut(BaseModel):
    preallocation_id: str
    award_id: str
    status: str
    amount_fen: int


class VoidedAward(BaseModel):
    award_id: str
    amount_fen: int


class DefaultOut(BaseModel):
    program_code: str
    credit_code: str
    receivable_fen: int
    returned_fen: int
    joint_account_frozen: bool
    voided: list[VoidedAward]


class RepaymentOut(BaseModel):
    repayment_id: str
    outstanding_fen: int
    paid_to: str


class HistoryImportOut(BaseModel):
    import_id: str
    program_code: str
    phase: str
    lines: dict[str, int] = Field(description="the phase's spend by line code, in fen")
    measures: dict[str, int] = Field(description="the phase's spend by measure, in fen")


class SpendingOut(BaseModel):
    program_code: str
    total: Money
    cumulative_fund: Money
    spent: Money
    history: list[dict[str, Any]] = Field(description="earlier phases' spend by line and measure")
    lines: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    rules: Any = Field(description="each share rule's status on this spend")


class AwardOut(_Open):
    award_id: str
    kind: str
    program_code: str
    status: str
    amount_fen: int
    amount_yuan: str
    parts: list[dict[str, Any]] = Field(description="its share on each item")
    objections: list[dict[str, Any]]
    held: bool = Field(description="an open objection holds the payment")
    tranche: dict[str, Any] | None = Field(description="the contract tranche, for a contract payment")
    payments: list[dict[str, Any]]


class AccountBalance(BaseModel):
    account: str
    normal_side: str
    debits_fen: int
    credits_fen: int
    balance_fen: int
    balance_yuan: str
    name_zh: str = Field(description="the account's Chinese name as the journal's chart of accounts gives it, "
                                     "e.g. 银行存款-共管账户")


class TrialBalance(BaseModel):
    debits_fen: int
    credits_fen: int
    balanced: bool


class BalancesOut(BaseModel):
    program_code: str
    accounts: list[AccountBalance]
    items: list[dict[str, Any]] = Field(description="per item: <account family>_fen and total_fen")
    lines: list[dict[str, Any]] = Field(description="per line: <account family>_fen and total_fen")
    payees: list[dict[str, Any]] = Field(description="per payee: <account family>_fen")
    trial_balance: TrialBalance


class PayeeStatementOut(BaseModel):
    program_code: str
    credit_code: str
    lines: list[dict[str, Any]] = Field(description="each posting on the payee's accounts, oldest "
                                        "first, with the running <account family>_balance_fen")
    paid_fen: int
    payable_fen: int
    clawback_receivable_fen: int
    in_default: bool
    awards: list[dict[str, Any]]


class AdjustmentsReportOut(BaseModel):
    program_code: str
    adjustments: list[dict[str, Any]]
    overrides: list[dict[str, Any]] = Field(description="service items adjusted by explicit override")
    preallocations: list[dict[str, Any]]


class ReconciliationOut(BaseModel):
    program_code: str
    as_of: str
    statement_lines: int
    payments: int
    awards: int
    mismatches: list[dict[str, Any]]
    clean: bool


def ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting a success body."""
    return {status: {"model": model}}


CSV_BODY: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV, UTF-8", "content": {"text/csv": {"schema": {"type": "string"}}}},
}
