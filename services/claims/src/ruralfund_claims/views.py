"""What the API answers: response models and their construction from stored rows.

Shared by the service layer (which returns them) and the HTTP entrypoints (which document
them), so neither has to know the other's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from ruralfund_common.money import format_yuan

from .domain.claim import allowed_actions
from .domain.refusals import reason_zh
from .domain.rules import Reason

__all__ = [
    "ClaimHistoryOut",
    "ClaimOut",
    "ContractFileOut",
    "ContractOut",
    "DeliverableOut",
    "EnterpriseOut",
    "EvidenceFileOut",
    "MilestoneOut",
    "PackageOut",
    "ProgramOut",
    "ProgramTargetsOut",
    "TargetOut",
    "claim_out",
    "contract_file_out",
    "contract_out",
    "enterprise_out",
    "evidence_file_out",
    "history_out",
    "milestone_out",
    "package_out",
    "program_out",
]


class ItemOut(BaseModel):
    code: str
    name: str
    line_code: str
    budget_fen: int
    budget_yuan: str
    mode: str
    rule_version: str | None


class ProgramOut(BaseModel):
    code: str
    name: str
    county_code: str
    county_name: str
    year: int
    phase: str
    status: str
    total_fen: int
    total_yuan: str
    publicity_working_days: int
    contractor_name: str | None
    contractor_credit_code: str | None
    items: list[ItemOut]
    warnings: list[dict[str, Any]]
    document_sha256: str
    activated_by: str
    activated_at: datetime
    document: dict[str, Any] | None = None


def program_out(
    row: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, with_document: bool
) -> ProgramOut:
    return ProgramOut(
        code=row["code"],
        name=row["name"],
        county_code=row["county_code"],
        county_name=row["county_name"],
        year=row["year"],
        phase=row["phase"],
        status=row["status"],
        total_fen=row["total_fen"],
        total_yuan=format_yuan(row["total_fen"]),
        publicity_working_days=row["publicity_working_days"],
        contractor_name=row["contractor_name"],
        contractor_credit_code=row["contractor_credit_code"],
        items=[
            ItemOut(
                code=i["code"],
                name=i["name"],
                line_code=i["line_code"],
                budget_fen=i["budget_fen"],
                budget_yuan=format_yuan(i["budget_fen"]),
                mode=i["mode"],
                rule_version=i["rule_version"],
            )
            for i in items
        ],
        warnings=row["warnings"],
        document_sha256=row["document_sha256"],
        activated_by=row["activated_by"],
        activated_at=row["activated_at"],
        document=row["document"] if with_document else None,
    )


class EnterpriseOut(BaseModel):
    credit_code: str
    name: str
    kind: str
    county_code: str
    contact: dict[str, Any]
    bank_name: str
    bank_account_no: str
    programs: list[str]
    registered_at: datetime
    updated_at: datetime
    version: int


def enterprise_out(row: Mapping[str, Any]) -> EnterpriseOut:
    return EnterpriseOut(
        credit_code=row["credit_code"],
        name=row["name"],
        kind=row["kind"],
        county_code=row["county_code"],
        contact=row["contact"],
        bank_name=row["bank_name"],
        bank_account_no=row["bank_account_no"],
        programs=list(row["programs"] or []),
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


class ClaimHistoryOut(BaseModel):
    at: datetime
    actor: str
    actor_name: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None
    data: dict[str, Any]


def history_out(row: Mapping[str, Any]) -> ClaimHistoryOut:
    return ClaimHistoryOut(
        at=row["at"],
        actor=row["actor"],
        actor_name=row["actor_name"],
        action=row["action"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        note=row["note"],
        data=row["data"],
    )


class ClaimOut(BaseModel):
    id: str
    program_code: str
    line_code: str
    item_code: str
    item_name: str
    credit_code: str
    enterprise_name: str
    period: str
    evidence: dict[str, Any]
    amount_fen: int
    amount_yuan: str
    rule_version: str
    reasons: list[dict[str, Any]]
    calculation: str
    status: str
    allowed_actions: list[str]
    submitted_by: str
    submitted_at: datetime
    review_note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    decision_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    award_id: str | None
    reserved_at: datetime | None
    refusal_code: str | None
    refusal_reason: str | None
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    payable_from: date | None
    payment_id: str | None
    paid_at: datetime | None
    revoked_at: datetime | None = None
    revocation_code: str | None = None
    revocation_reason: str | None = None
    # For the bureau's review: facts that do not refuse the claim (an unlisted platform, 等).
    flags: list[str] = []
    recusal_required: bool = Field(
        default=False,
        description="the caller must recuse from reviewing or deciding this claim: the "
        "enterprise is their own or one they are linked to (回避; the review and decision "
        "endpoints refuse them with 403 RECUSAL_REQUIRED)",
    )
    updated_at: datetime
    version: int
    history: list[ClaimHistoryOut] | None = None


_CLAIM_COLUMNS = (
    "program_code",
    "line_code",
    "item_code",
    "item_name",
    "credit_code",
    "enterprise_name",
    "period",
    "evidence",
    "amount_fen",
    "rule_version",
    "reasons",
    "calculation",
    "status",
    "submitted_by",
    "submitted_at",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "decision_reason",
    "decided_by",
    "decided_at",
    "reserved_at",
    "refusal_code",
    "refusal_reason",
    "publicity_starts_on",
    "publicity_ends_on",
    "payable_from",
    "payment_id",
    "paid_at",
    "revoked_at",
    "revocation_code",
    "revocation_reason",
    "updated_at",
    "version",
)


def _with_chinese(reason: Mapping[str, Any]) -> dict[str, Any]:
    """A stored reason with ``text_zh``: the condition and the figures as the claimant reads them."""
    try:
        return {**reason, "text_zh": reason_zh(Reason.model_validate(reason))}
    except ValueError:  # a reason stored in another shape: as it was
        return dict(reason)


def claim_out(
    row: Mapping[str, Any], history: Sequence[Mapping[str, Any]] | None = None
) -> ClaimOut:
    values = {name: row[name] for name in _CLAIM_COLUMNS}
    values["reasons"] = [_with_chinese(r) for r in values["reasons"] or []]
    return ClaimOut(
        id=str(row["id"]),
        award_id=str(row["award_id"]) if row["award_id"] else None,
        amount_yuan=format_yuan(row["amount_fen"]),
        allowed_actions=allowed_actions(row["status"]),
        history=[history_out(h) for h in history] if history is not None else None,
        flags=list(row.get("flags") or []),
        **values,
    )


# --------------------------------------------------------------------------- service contracts


class DeliverableOut(BaseModel):
    code: str
    name: str
    unit: str
    comparison: str | None
    target_value: int | None
    target: str  # ">= 100" or ">= 5,000,000.00" for money
    money: bool
    alternative_to: str | None
    actual_value: int | None
    met: bool | None
    reported_by: str | None
    reported_at: datetime | None
    report_note: str | None


class ContractMilestoneOut(BaseModel):
    code: str
    name: str
    due_on: date
    status: str
    accepted_by: str | None  # who recorded the acceptance
    accepted_at: datetime | None
    accepted_on: date | None  # the acceptance day
    acceptors: list[str] | None  # the accepting people (验收人员)
    evidence_file_ids: list[str]
    overdue_notified_at: datetime | None
    note: str | None


class ItemShareOut(BaseModel):
    item_code: str
    amount_fen: int
    amount_yuan: str


def _shares(raw: Any) -> list[ItemShareOut]:
    return [ItemShareOut(item_code=p["item_code"], amount_fen=p["amount_fen"],
                         amount_yuan=format_yuan(p["amount_fen"])) for p in raw or []]


class TrancheOut(BaseModel):
    code: str
    kind: str
    amount_fen: int
    amount_yuan: str
    milestone_code: str | None
    spending_category: str | None
    payment_due_id: str
    status: str  # scheduled | due | paid | refused
    due_at: datetime | None
    paid_fen: int | None
    payment_id: str | None
    paid_at: datetime | None
    refusal_code: str | None
    refusal_reason: str | None
    failed_payment_ids: list[str]
    # its part on each item of a split contract (empty: all on the contract's item)
    parts: list[ItemShareOut] = []
    hardware_fen: int | None = None  # the part that buys hardware and decoration
    ratio_justifications: list[dict[str, Any]] = []  # the leading group's decisions, from funds


class ContractOut(BaseModel):
    id: str
    program_code: str
    item_code: str
    item_name: str
    contract_no: str
    provider_credit_code: str
    provider_name: str
    amount_fen: int
    amount_yuan: str
    signed_on: date
    ends_on: date
    procurement: str | None
    package_code: str | None
    status: str
    deliverables: list[DeliverableOut]
    milestones: list[ContractMilestoneOut]
    payment_schedule: list[TrancheOut] | None  # None: the contract has no schedule
    items: list[ItemShareOut] = []  # a package contract split across items (empty: one item)
    paid_fen: int
    paid_yuan: str
    remaining_fen: int  # the contract amount not paid yet
    remaining_yuan: str
    acceptance_gaps: list[str]
    acceptance_gaps_zh: list[str] = Field(
        default=[], description="the same gaps in Chinese with their figures, for people"
    )
    acceptance_note: str | None
    accepted_by: str | None
    accepted_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


_CONTRACT_COLUMNS = (
    "program_code", "item_code", "item_name", "contract_no", "provider_credit_code",
    "provider_name", "amount_fen", "signed_on", "ends_on", "procurement", "package_code", "status",
    "acceptance_note", "accepted_by", "accepted_at", "created_by", "created_at", "updated_at",
    "version",
)  # fmt: skip


def contract_out(
    row: Mapping[str, Any],
    deliverables: Sequence[DeliverableOut],
    milestones: Sequence[Mapping[str, Any]],
    gaps: Sequence[str],
    tranches: Sequence[Mapping[str, Any]] = (),
    gaps_zh: Sequence[str] = (),
) -> ContractOut:
    paid = sum(t["paid_fen"] or 0 for t in tranches if t["status"] == "paid")
    return ContractOut(
        id=str(row["id"]),
        amount_yuan=format_yuan(row["amount_fen"]),
        deliverables=list(deliverables),
        milestones=[_contract_milestone_out(m) for m in milestones],
        acceptance_gaps=list(gaps),
        acceptance_gaps_zh=list(gaps_zh),
        payment_schedule=[_tranche_out(t) for t in tranches] if tranches else None,
        items=_shares(row["items"]),
        paid_fen=paid,
        paid_yuan=format_yuan(paid),
        remaining_fen=row["amount_fen"] - paid,
        remaining_yuan=format_yuan(row["amount_fen"] - paid),
        **{name: row[name] for name in _CONTRACT_COLUMNS},
    )


def _contract_milestone_out(m: Mapping[str, Any]) -> ContractMilestoneOut:
    return ContractMilestoneOut(
        acceptors=list(m["acceptors"]) if m["acceptors"] is not None else None,
        evidence_file_ids=[str(f) for f in m["evidence_file_ids"]],
        **{
            k: m[k]
            for k in ContractMilestoneOut.model_fields
            if k not in {"acceptors", "evidence_file_ids"}
        },
    )


def _tranche_out(t: Mapping[str, Any]) -> TrancheOut:
    return TrancheOut(
        amount_yuan=format_yuan(t["amount_fen"]),
        payment_due_id=str(t["payment_due_id"]),
        failed_payment_ids=list(t["failed_payment_ids"]),
        parts=_shares(t["parts"]),
        ratio_justifications=list(t["ratio_justifications"]),
        **{
            k: t[k]
            for k in TrancheOut.model_fields
            if k not in {"amount_yuan", "payment_due_id", "failed_payment_ids", "parts", "ratio_justifications"}
        },
    )


# --------------------------------------------------------------------------- procurement packages


class PackageOut(BaseModel):
    program_code: str
    code: str
    name: str
    line_code: str
    item_codes: list[str]
    budget_fen: int
    budget_yuan: str
    method: str
    renews: str | None
    winner_credit_code: str
    winner_name: str
    awarded_on: date
    tender_ref: str | None
    contracted_fen: int  # the package's contracts together
    contracted_yuan: str
    left_fen: int
    left_yuan: str
    created_by: str
    created_at: datetime


def package_out(row: Mapping[str, Any]) -> PackageOut:
    left = row["budget_fen"] - row["contracted_fen"]
    return PackageOut(
        item_codes=list(row["item_codes"]),
        budget_yuan=format_yuan(row["budget_fen"]),
        contracted_yuan=format_yuan(row["contracted_fen"]),
        left_fen=left,
        left_yuan=format_yuan(left),
        **{k: row[k] for k in PackageOut.model_fields if k not in {
            "item_codes", "budget_yuan", "contracted_yuan", "left_fen", "left_yuan"}},
    )  # fmt: skip


# --------------------------------------------------------------------------- performance targets


class TargetOut(BaseModel):
    code: str
    name: str
    unit: str
    comparison: str | None
    target_value: int | None
    target: str  # ">= 4,500,000" or "<= 24"
    measure: str
    source: str  # where the actual value comes from, in words
    actual_value: int | None  # None: not measured by this system, or nothing reported yet
    met: bool | None
    item_codes: list[str]
    deliverables: list[str]


class FormChoiceOut(BaseModel):
    value: str | int
    label_zh: str


class FormColumnOut(BaseModel):
    name: str
    label_zh: str
    input: str
    unit_zh: str | None = None


class FormFieldOut(BaseModel):
    """One field of a claim form: ``name`` is its path in the evidence (``figures.storage_area_m2``)."""

    name: str
    label_zh: str
    input: Literal["quarter", "year", "integer", "yuan", "text", "date", "boolean", "choice", "rows"]
    required: bool
    unit_zh: str | None = None
    threshold_zh: str | None = Field(default=None, description="the condition in the original's terms")
    hint_zh: str | None = None
    min: int | None = None
    choices: list[FormChoiceOut] | None = Field(default=None, description="newest period first")
    columns: list[FormColumnOut] | None = Field(default=None, description="rows: one object per line")


class ClaimFormOut(BaseModel):
    fields: list[FormFieldOut]
    per_zh: str = Field(description="how often it is claimed, e.g. 每季度")
    period_zh: str = Field(description="the period claims may cover")


class EvidenceFilesOut(BaseModel):
    max_bytes: int
    max_files: int
    types: list[str]
    types_zh: str


class ProgramItemOut(BaseModel):
    """What a claim under an item needs: build its form from ``form`` (Chinese labels, units,
    thresholds, periods) or from ``evidence_schema`` (JSON Schema of the evidence)."""

    program_code: str
    code: str
    name: str
    line_code: str
    mode: str
    budget_fen: int
    budget_yuan: str
    criteria: str | None
    claimable: bool
    example: bool
    period: dict[str, Any]
    rule: dict[str, Any] | None = None
    evidence_schema: dict[str, Any] | None = None
    thresholds: list[dict[str, Any]] | None = None
    paid_once: dict[str, Any] | None = None
    form: ClaimFormOut | None = None
    evidence_files: EvidenceFilesOut


class ProgramTargetsOut(BaseModel):
    program_code: str
    measured_at: datetime
    targets: list[TargetOut]


# --------------------------------------------------------------------------- program milestones


class MilestoneOut(BaseModel):
    code: str
    name: str
    stage: str | None
    due_on: date
    responsible: list[str]
    lead_email: str | None
    status: str  # pending | accepted
    overdue: bool  # pending and past its due day (Asia/Shanghai), by the service clock
    overdue_notified_at: datetime | None
    accepted_by: str | None
    accepted_at: datetime | None
    acceptance_note: str | None


def milestone_out(row: Mapping[str, Any], overdue: bool) -> MilestoneOut:
    return MilestoneOut(
        overdue=overdue,
        responsible=list(row["responsible"]),
        **{k: row[k] for k in MilestoneOut.model_fields if k not in {"overdue", "responsible"}},
    )


# --------------------------------------------------------------------------- evidence files


class EvidenceFileOut(BaseModel):
    id: str
    claim_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ContractFileOut(BaseModel):
    id: str
    contract_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


def contract_file_out(row: Mapping[str, Any]) -> ContractFileOut:
    return ContractFileOut(
        id=str(row["id"]),
        contract_id=str(row["contract_id"]),
        **{k: row[k] for k in ContractFileOut.model_fields if k not in {"id", "contract_id"}},
    )


def evidence_file_out(row: Mapping[str, Any]) -> EvidenceFileOut:
    return EvidenceFileOut(
        id=str(row["id"]),
        claim_id=str(row["claim_id"]),
        **{k: row[k] for k in EvidenceFileOut.model_fields if k not in {"id", "claim_id"}},
    )
