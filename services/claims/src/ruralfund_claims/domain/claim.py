"""Claims: the state machine and the assessment of a claim under its item's rule.

States::

    submitted --complete--> awaiting_decision --approve--> approved --(funds)--> reserved
        |  ^                      |                             |                    |
     return resubmit            reject                 reservation_refused     in_publicity
        v  |                      v                                                  |
      returned                 rejected                                             paid
    (withdraw from submitted, returned or awaiting_decision -> withdrawn)

After approval the claim only mirrors what funds reports. Funds' events travel on different
subjects, so they can arrive out of order (a consumer restarts, one subject lags): a later
stage may arrive first and an earlier one afterwards. The funds stages are therefore
monotonic facts — the claim moves to the furthest stage reported and never back.

An objection upheld during publicity revokes the award (funds voids its reservation and
reports ``award_revoked``): the claim is ``revoked`` for good. A reservation or publicity
report arriving after that is late news and leaves it revoked; a payment after a revocation
is a contradiction and is refused (the event dead-letters for a person to look at).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from ruralfund_common.errors import Conflict, InvalidInput

from .enterprise import Enterprise
from .program import Item, Program
from .refusals import ACTION_ZH, STATUS_ZH, TITLES_ZH, date_zh, reasons_zh
from .rules import AwardComputation, Evidence, Reason, RuleContext, Span

__all__ = [
    "MAX_EVIDENCE_BYTES",
    "MAX_NOTE_CHARS",
    "ClaimAction",
    "ClaimStatus",
    "allowed_actions",
    "assess_claim",
    "compute_award",
    "transition",
]

MAX_EVIDENCE_BYTES: Final = 16 * 1024  # figures only; documents are attached elsewhere
MAX_NOTE_CHARS: Final = 2000


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    RESERVED = "reserved"
    RESERVATION_REFUSED = "reservation_refused"
    IN_PUBLICITY = "in_publicity"
    PAID = "paid"
    REVOKED = "revoked"


class ClaimAction(StrEnum):
    COMPLETE_REVIEW = "complete_review"
    RETURN = "return"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    RESERVE = "reserve"
    REFUSE_RESERVATION = "refuse_reservation"
    OPEN_PUBLICITY = "open_publicity"
    PAY = "pay"
    REVOKE = "revoke"


S, A = ClaimStatus, ClaimAction
_TRANSITIONS: Final[Mapping[tuple[ClaimStatus, ClaimAction], ClaimStatus]] = {
    (S.SUBMITTED, A.COMPLETE_REVIEW): S.AWAITING_DECISION,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.RETURNED, A.RESUBMIT): S.SUBMITTED,
    (S.AWAITING_DECISION, A.APPROVE): S.APPROVED,
    (S.AWAITING_DECISION, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.RETURNED, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_DECISION, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.REFUSE_RESERVATION): S.RESERVATION_REFUSED,
    (S.RESERVATION_REFUSED, A.REFUSE_RESERVATION): S.RESERVATION_REFUSED,  # repeated report
    # An upheld objection revokes the award at any stage before payment.
    (S.APPROVED, A.REVOKE): S.REVOKED,
    (S.RESERVED, A.REVOKE): S.REVOKED,
    (S.IN_PUBLICITY, A.REVOKE): S.REVOKED,
    (S.RESERVATION_REFUSED, A.REVOKE): S.REVOKED,
    (S.REVOKED, A.REVOKE): S.REVOKED,  # repeated report
    # Late news of earlier stages leaves a revoked claim revoked (see the module docstring).
    (S.REVOKED, A.RESERVE): S.REVOKED,
    (S.REVOKED, A.OPEN_PUBLICITY): S.REVOKED,
}
# Funds' progress after approval, in order; see the module docstring.
_FUNDS_STAGES: Final = (S.APPROVED, S.RESERVED, S.IN_PUBLICITY, S.PAID)
_FUNDS_FACTS: Final[Mapping[ClaimAction, ClaimStatus]] = {
    A.RESERVE: S.RESERVED,
    A.OPEN_PUBLICITY: S.IN_PUBLICITY,
    A.PAY: S.PAID,
}


def transition(status: ClaimStatus | str, action: ClaimAction | str) -> ClaimStatus:
    """The status after ``action``, or 409 ``CLAIM_STATE_INVALID``."""
    status, action = ClaimStatus(status), ClaimAction(action)
    if action in _FUNDS_FACTS and status in _FUNDS_STAGES:
        reported = _FUNDS_FACTS[action]
        return max(status, reported, key=_FUNDS_STAGES.index)
    after = _TRANSITIONS.get((status, action))
    if after is None:
        raise Conflict(
            "CLAIM_STATE_INVALID",
            f"a claim that is {status.value} cannot be {_past(action)}",
            details={
                "status": status.value,
                "action": action.value,
                "allowed_actions": allowed_actions(status),
            },
            title_zh=TITLES_ZH["CLAIM_STATE_INVALID"],
            detail_zh=f"该申报当前为“{STATUS_ZH[status.value]}”，不能{ACTION_ZH[action.value]}。",
        )
    return after


def allowed_actions(status: ClaimStatus | str) -> list[str]:
    status = ClaimStatus(status)
    actions = [a.value for (s, a) in _TRANSITIONS if s == status]
    if status in _FUNDS_STAGES:
        actions += [a.value for a in _FUNDS_FACTS]
    return actions


def _past(action: ClaimAction) -> str:
    return {
        A.COMPLETE_REVIEW: "marked reviewed",
        A.RETURN: "returned",
        A.RESUBMIT: "resubmitted",
        A.APPROVE: "approved",
        A.REJECT: "rejected",
        A.WITHDRAW: "withdrawn",
        A.RESERVE: "reserved",
        A.REFUSE_RESERVATION: "refused a reservation",
        A.OPEN_PUBLICITY: "put in publicity",
        A.PAY: "paid",
        A.REVOKE: "revoked",
    }[action]


def compute_award(
    *, program: Program, item: Item, raw_evidence: Any, claimant_county: str | None
) -> tuple[Evidence, AwardComputation]:
    """The typed evidence and the rule's computation, eligible or not (what an auditor
    recomputes). With ``claimant_county`` the county registration is the first reason; the
    program's claim period is checked when the program states one.

    Refuses with 422 when the item takes no claims or the evidence is invalid or too large.
    """
    if item.mode != "reward" or item.rule is None:
        raise _refusal(
            "ITEM_NOT_CLAIMABLE",
            f"item {item.code} is bought as a service (购买服务): enterprises do not claim it",
            f"{item.name}（{item.code}）通过购买服务方式实施，由承办企业完成，企业不能申报奖补。",
            field="item_code",
        )
    if not item.active:
        raise _refusal(
            "ITEM_NOT_ACTIVE",
            f"item {item.code} is an example not in the original; program {program.code} has "
            "not opted into it",
            f"{item.name}（{item.code}）不是方案原文的项目，仅作示例保留；方案未启用（opt_in），不受理申报。",
            field="item_code",
        )
    if len(json.dumps(raw_evidence, ensure_ascii=False).encode()) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(
            "EVIDENCE_TOO_LARGE",
            f"evidence may have at most {MAX_EVIDENCE_BYTES} bytes",
            field="evidence",
            title_zh=TITLES_ZH["EVIDENCE_TOO_LARGE"],
            detail_zh=f"申报数据最多 {MAX_EVIDENCE_BYTES} 字节；证明文件请作为附件上传。",
        )
    try:
        evidence = item.rule.parse_evidence(raw_evidence)
    except InvalidInput as exc:
        exc.title_zh = TITLES_ZH["EVIDENCE_INVALID"]
        exc.detail_zh = exc.detail_zh or "申报数据有误，请核对后重新提交。"
        raise
    computation = item.rule.compute(evidence, RuleContext(published_on=program.published_on))
    period = _period_reason(program, item.rule.spans(evidence))
    if period is not None:
        computation = _with_reason(computation, period, first=False)
    if claimant_county is not None:
        computation = _with_county_check(computation, program.county_code, claimant_county)
    return evidence, computation


def assess_claim(
    *,
    program: Program,
    item: Item,
    enterprise: Enterprise,
    raw_evidence: Any,
    declared_period: str | None,
) -> tuple[dict[str, Any], AwardComputation]:
    """Check the evidence and compute the award: (canonical evidence, computation).

    Refuses with 422 when the item takes no claims, the evidence is invalid or too large,
    the declared period is not the evidence's, or the claim is not eligible (with the reasons:
    ``CLAIM_OUTSIDE_PROGRAM_PERIOD``, ``STORE_NOT_NEW`` or ``PRODUCT_NOT_NEW`` when that
    condition failed, else ``CLAIM_INELIGIBLE``).
    """
    evidence, computation = compute_award(
        program=program, item=item, raw_evidence=raw_evidence, claimant_county=None
    )
    if declared_period is not None and declared_period != computation.period:
        raise _refusal(
            "PERIOD_MISMATCH",
            f"period {declared_period!r} is not the evidence's period {computation.period!r}",
            f"填写的申报期间 {declared_period} 与申报数据得出的期间 {computation.period} 不一致。",
            field="period",
        )
    computation = _with_county_check(computation, program.county_code, enterprise.county_code)
    if not computation.eligible:
        raise _ineligible(computation)
    return evidence.model_dump(mode="json"), computation


# A failed condition with its own refusal code (the first such failure names the refusal).
_CODES_OF_CHECKS: Final[Mapping[str, str]] = {
    "within_program_period": "CLAIM_OUTSIDE_PROGRAM_PERIOD",
    "store_opened_after_publication": "STORE_NOT_NEW",
    "launched_after_publication": "PRODUCT_NOT_NEW",
}


def _ineligible(computation: AwardComputation) -> InvalidInput:
    failed = [r for r in computation.reasons if not r.passed]
    failed_checks = {r.check for r in failed}
    code = next(
        (code for check, code in _CODES_OF_CHECKS.items() if check in failed_checks),
        "CLAIM_INELIGIBLE",
    )
    field = "evidence" if code != "CLAIM_INELIGIBLE" else None
    return InvalidInput(
        code,
        "the claim does not meet the rule: "
        + "; ".join(f"{r.label}: {r.actual} (required {r.required})" for r in failed),
        field=field,
        details={
            "reasons": [r.model_dump() for r in computation.reasons],
            "rule_version": computation.rule_version,
        },
        title_zh=TITLES_ZH[code],
        detail_zh="申报不符合奖补条件：" + reasons_zh(computation.reasons),
    )


def _refusal(code: str, message: str, detail_zh: str, *, field: str | None) -> InvalidInput:
    return InvalidInput(
        code, message, field=field, title_zh=TITLES_ZH[code], detail_zh=detail_zh
    )


def _period_reason(program: Program, spans: list[Span]) -> Reason | None:
    """Claims may cover only the program's claim period (e.g. Xinping: from the plan's
    publication to its acceptance): a month, quarter or year entirely outside it is refused."""
    starts_on, ends_on = program.claim_starts_on, program.claim_ends_on
    if starts_on is None or not spans:
        return None
    outside = [
        s.label
        for s in spans
        if s.ends_on < starts_on or (ends_on is not None and s.starts_on > ends_on)
    ]
    until = date_zh(ends_on) if ends_on else "项目验收"
    return Reason(
        check="within_program_period",
        label=f"方案申报期间 {date_zh(starts_on)}至{until}",
        required=f"{starts_on.isoformat()}..{ends_on.isoformat() if ends_on else 'acceptance'}",
        actual=", ".join(outside) + " outside" if outside else ", ".join(s.label for s in spans),
        passed=not outside,
    )


def _with_reason(computation: AwardComputation, reason: Reason, *, first: bool) -> AwardComputation:
    reasons = [reason, *computation.reasons] if first else [*computation.reasons, reason]
    return computation.model_copy(
        update={
            "reasons": reasons,
            "eligible": computation.eligible and reason.passed,
            "amount_fen": computation.amount_fen if reason.passed else 0,
        }
    )


def _with_county_check(
    computation: AwardComputation, program_county: str, enterprise_county: str
) -> AwardComputation:
    """Reward items are for county-registered enterprises (县域内注册的企业, 本地企业)."""
    county = Reason(
        check="registered_in_county",
        label="enterprise registered in the program's county (县域内注册)",
        required=program_county,
        actual=enterprise_county,
        passed=enterprise_county == program_county,
    )
    return _with_reason(computation, county, first=True)
