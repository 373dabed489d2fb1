"""Admin HTTP API of the funds service.

Every write is a command with a client-supplied id (``command_id`` in the body, else the
``Idempotency-Key`` header): a replay returns the first outcome, accepted or refused. Refusals
are problem+json with a stable ``code`` and are also emitted as ``funds.evt.command_refused.v1``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import CtxDep, idempotent
from ruralfund_common.calendar import date_zh, local_date
from ruralfund_common.credit_code import CREDIT_CODE_PATTERN
from ruralfund_common.errors import DomainError, Forbidden, InvalidInput
from ruralfund_common.http import problem_response
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.money import parse_yuan
from starlette.concurrency import run_in_threadpool

from .. import service
from ..domain.awards import Payee
from ..domain.bank_statement import MAX_STATEMENT_BYTES, parse_statement
from ..domain.ledger import TITLES_ZH_BY_ACCOUNT
from ..domain.ratios import MAX_JUSTIFICATION_CHARS, MAX_JUSTIFICATIONS
from ..reports import journal as journal_reports
from ..service.journal import MAX_HTTP_EXPORT_ENTRIES, journal_export
from . import responses as R

router = APIRouter()
READERS = (Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY, Role.FINANCE_BUREAU, Role.AUDITOR)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
PayeeReader = Annotated[Principal, Depends(require_roles(*READERS, Role.ENTERPRISE))]
FinanceBureau = Annotated[Principal, Depends(require_write(Role.FINANCE_BUREAU))]
PaymentRequester = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN, Role.LEADING_GROUP))]
Approver = Annotated[Principal, Depends(require_write(Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY))]
BankReporter = Annotated[Principal, Depends(require_write(Role.SYSTEM, Role.CONTRACTOR_SIGNATORY))]
StatementImporter = Annotated[Principal, Depends(require_write(Role.SYSTEM, Role.CONTRACTOR_SIGNATORY,
                                                                Role.FINANCE_BUREAU))]
LeadingGroup = Annotated[Principal, Depends(require_write(Role.LEADING_GROUP))]
BureauAdmin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]
Repayments = Annotated[Principal, Depends(require_write(Role.FINANCE_BUREAU, Role.SYSTEM))]

CommandId = Field(default=None, min_length=1, max_length=200,
                  description="client-supplied command id: a replay returns the first outcome")
Id = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
Yuan = Field(description='amount in yuan, e.g. "1,000,000.00"', max_length=32)
Sha = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the canonical payment content you approve")


# The shape the event contracts require (ruralfund_common.contracts CreditCode): a code the
# events would refuse must be a 422 here, not a 500 when the use case emits its event.

class ReleaseRequest(BaseModel):
    command_id: str | None = CommandId
    release_id: str | None = Id
    amount_yuan: str = Yuan
    approval_reference: str = Field(min_length=1, max_length=200, description="the leading group's approval reference")


class RatioJustificationIn(BaseModel):
    rule_code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="an 'in principle' share rule's code")
    text: str = Field(min_length=1, max_length=MAX_JUSTIFICATION_CHARS, description="why the payment departs from it")


Justifications = Field(default_factory=list, max_length=MAX_JUSTIFICATIONS,
                       description="reasons for departing from 'in principle' share rules (recorded with who and when)")


class PaymentRequest(BaseModel):
    command_id: str | None = CommandId
    payment_id: uuid.UUID | None = Field(default=None, description="the order's id (a uuid), if the client picks it")
    award_id: str = Field(min_length=1, max_length=64)
    ratio_justifications: list[RatioJustificationIn] = Justifications


class ApprovalRequest(BaseModel):
    command_id: str | None = CommandId
    content_sha256: str = Sha
    ratio_justifications: list[RatioJustificationIn] = Justifications


class HistoryImportRequest(BaseModel):
    command_id: str | None = CommandId
    import_id: str | None = Id
    phase: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="the earlier phase, e.g. first")
    document: str = Field(min_length=1, max_length=500, description="the final accounts (决算) the figures come from")
    lines: dict[str, str] = Field(default_factory=dict, max_length=64,
                                  description='actual spend by line code, in yuan, e.g. {"three-tier-logistics": "3,550,000.00"}')
    measures: dict[str, str] = Field(default_factory=dict, max_length=64,
                                     description='actual spend by measure, in yuan, e.g. {"hardware": "1,500,000.00"}')


class BatchApproval(BaseModel):
    payment_id: str = Field(min_length=1, max_length=64)
    content_sha256: str = Sha


class BatchApprovalRequest(BaseModel):
    command_id: str | None = CommandId
    approvals: list[BatchApproval] = Field(min_length=1, max_length=service.MAX_BATCH_APPROVALS)


class SettlementRequest(BaseModel):
    command_id: str | None = CommandId
    bank_txn_id: str = Field(min_length=1, max_length=100)


class FailureRequest(BaseModel):
    command_id: str | None = CommandId
    code: str = Field(default="BANK_REJECTED", pattern=r"^[A-Z][A-Z0-9_]{1,63}$")
    reason: str = Field(min_length=1, max_length=500)


class PayeeBankRequest(BaseModel):
    command_id: str | None = CommandId
    bank_name: str = Field(min_length=1, max_length=200)
    bank_account: str = Field(min_length=4, max_length=64)


class ResolutionFields(BaseModel):
    resolution_number: str | None = Field(default=None, max_length=200, description="领导小组决议 number")
    resolution_date: date | None = None


class AdjustmentRequest(ResolutionFields):
    command_id: str | None = CommandId
    adjustment_id: str | None = Id
    from_item: str = Field(min_length=1, max_length=64)
    to_item: str = Field(min_length=1, max_length=64)
    amount_yuan: str = Yuan
    override: bool = Field(default=False, description="explicitly override the no-adjustment rule of service items")
    reason: str = Field(default="", max_length=500)


class PreallocationRequest(BaseModel):
    command_id: str | None = CommandId
    preallocation_id: str | None = Id
    item_code: str = Field(min_length=1, max_length=64)
    provider_credit_code: str = Field(pattern=CREDIT_CODE_PATTERN)
    provider_name: str = Field(min_length=1, max_length=200)
    bank_name: str = Field(min_length=1, max_length=200)
    bank_account: str = Field(min_length=4, max_length=64)
    amount_yuan: str = Yuan
    contract_reference: str = Field(min_length=1, max_length=200)


class DefaultRequest(ResolutionFields):
    command_id: str | None = CommandId
    credit_code: str = Field(pattern=CREDIT_CODE_PATTERN)


class RepaymentRequest(BaseModel):
    command_id: str | None = CommandId
    repayment_id: str | None = Id
    credit_code: str = Field(pattern=CREDIT_CODE_PATTERN)
    amount_yuan: str = Yuan
    bank_reference: str = Field(default="", max_length=200)


def _amount_fen(text: str) -> int:
    try:
        fen = parse_yuan(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("INVALID_AMOUNT", str(exc), field="amount_yuan",
            # the figure typed, as people read it (the console shows this beside the amount field)
            detail_zh=f"金额“{text}”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。") from None
    if fen <= 0:
        raise InvalidInput("INVALID_AMOUNT", "amount must be positive", field="amount_yuan",
            detail_zh="金额必须大于零。")
    return fen


def _resolution(body: ResolutionFields):
    if bool(body.resolution_number) != bool(body.resolution_date):
        raise InvalidInput("RESOLUTION_REQUIRED", "give both the resolution's number and date", field="resolution_date",
            detail_zh="请同时填写领导小组决议文号（resolution_number）和日期（resolution_date）。")
    return service.resolution_of(body.resolution_number, body.resolution_date)


async def _command(request: Request, who: Principal, kind: str, body: BaseModel | dict[str, Any],
                   run: Callable[[Tx], Awaitable[dict[str, Any]]], *, ok_status: int = 200,
                   command_id: str | None = None, refs: dict[str, str | None] | None = None,
                   fields: dict[str, str] | None = None) -> Response:
    """Run a use case as a command: its id, its first outcome kept, its refusal a problem+json.

    ``fields``: the request field a refusal code is about when the domain cannot know it (the
    ledger refuses an account going below zero; the edge knows which input moved it)."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    id_field = "command_id" if command_id or data.get("command_id") else "Idempotency-Key"
    command_id = command_id or data.get("command_id") or request.headers.get("Idempotency-Key")
    request_hash = hashlib.sha256(json.dumps({"p": request.url.path, "b": data}, sort_keys=True,
                                             default=str).encode()).hexdigest()

    async def use_case(tx: Tx) -> tuple[int, Any]:
        return await service.run_command(tx, command_id=command_id, kind=kind, by=who, request_hash=request_hash,
                                         run=lambda: run(tx), ok_status=ok_status, refs=refs, id_field=id_field)

    response = await idempotent(request, who, data, use_case)
    if response.status_code < 400:
        return response
    refusal = json.loads(response.body)
    field = refusal.get("field") or (fields or {}).get(refusal["code"])
    # the refusal's own title (the most specific: 已有付款单，待签批), else the funds-wide one for its code
    return problem_response(request, status=response.status_code, code=refusal["code"], detail=refusal["message"],
                            field=field, details=refusal.get("details"),
                            headers={k: v for k, v in response.headers.items() if k.lower() == "idempotent-replayed"},
                            title_zh=refusal.get("title_zh") or TITLES_ZH.get(refusal["code"]),
                            detail_zh=refusal.get("detail_zh"))


# Chinese titles of funds' refusals by code (the app hands them to the problem handler too);
# each refusal says its figures in its own detail_zh.
TITLES_ZH = {
    **TITLES_ZH_BY_ACCOUNT,
    "PUBLICITY_NOT_ENDED": "公示期尚未结束",
    "PUBLICITY_NOT_STARTED": "尚未公示",
    "OBJECTION_PENDING": "有异议尚未处理",
    "APPROVAL_CONTENT_CHANGED": "付款内容已变化，须重新签批",
    "SAME_PERSON_BOTH_APPROVALS": "同一人不能签批两次",
    "APPROVAL_ALREADY_GIVEN": "您这一方已签批",
    "ALREADY_PAID": "已支付",
    "AWARD_REVOKED": "奖补已撤销",
    "AWARD_NOT_RESERVED": "奖补尚未预留资金",
    "AWARD_NOT_CHANGEABLE": "奖补已不能更改",
    "AWARD_NOT_FOUND": "未找到该奖补",
    "PAYMENT_NOT_FOUND": "未找到该付款指令",
    "PAYMENT_ALREADY_SETTLED": "银行已确认到账",
    "PAYMENT_NOT_EXECUTED": "付款尚未执行",
    "PROGRAM_NOT_FOUND": "未找到该方案",
    "PROGRAM_BUDGET_MISMATCH": "项目预算合计与方案总额不符",
    "PHASE_NOT_FOUND": "未找到该期历史数据",
    "ITEM_NOT_FOUND": "方案中没有该项目",
    "NOT_A_SERVICE_ITEM": "不是购买服务类项目",
    "SAME_ITEM": "调出与调入项目相同",
    "SERVICE_ITEM_NOT_ADJUSTABLE": "购买服务类项目预算原则上不调剂",
    "RESOLUTION_REQUIRED": "须有领导小组决议",
    "INVALID_AMOUNT": "金额有误",
    "INVALID_CODE": "编码有误",
    "INVALID_DATE": "日期格式有误",
    "INVALID_FORMAT": "导出格式有误",
    "INVALID_RANGE": "日期范围有误",
    "NO_FIGURES": "没有填写支出金额",
    "NOT_YOUR_DATA": "只能查看本企业的数据",
    "STATEMENT_TOO_LARGE": "银行对账单过大",
    "STATEMENT_COLUMNS": "银行对账单缺少列",
    "STATEMENT_LINE_INVALID": "银行对账单有误",
    "STATEMENT_ENCODING": "银行对账单编码有误",
    "EXPORT_TOO_LARGE": "导出的分录过多",
    "CHECKPOINT_NOT_FOUND": "未找到账本检查点",
    "TREE_SIZE_UNKNOWN": "账本树没有该大小",
    "INVALID_TREE_SIZE": "账本树大小有误",
    "INVALID_LEAF_INDEX": "叶子序号有误",
    "COMMAND_ID_REUSED": "指令编号已用于其他指令",
    "TOO_MANY_JUSTIFICATIONS": "理由条数过多",
    "UNKNOWN_RATIO_RULE": "不是“原则上”的比例规则",
    "JUSTIFICATION_TEXT_INVALID": "理由文字有误",
    "LINE_NOT_IN_PHASE": "该期没有此建设内容",
    "FIGURE_OUT_OF_RANGE": "金额超出范围",
    "HISTORY_EXCEEDS_TOTAL": "支出合计超过该期总额",
    "RATIO_LIMIT_EXCEEDED": "超过资金使用比例上限",
    "RATIO_JUSTIFICATION_REQUIRED": "偏离「原则上」资金使用比例，须领导小组决定",
    "RATIO_DECISION_BY_LEADING_GROUP": "资金使用比例的偏离只能由领导小组决定",
    "JOINT_ACCOUNT_FROZEN": "共管账户已冻结（承办企业违约）",
    "CONTRACTOR_IN_DEFAULT": "收款单位已被认定违约",
    "PAYMENTS_IN_FLIGHT": "尚有付款待银行确认",
    "ALREADY_IN_DEFAULT": "已认定违约",
    "NOT_IN_DEFAULT": "未认定违约",
    "REPAYMENT_EXCEEDS_RECEIVABLE": "还款超过应收回余额",
    "BANK_ACCOUNT_LIVES_IN_REGISTRY": "收款账户以企业登记为准，不能在资金服务中单独更改",
}


@router.post("/programs/{program_code}/releases", responses=R.ok(R.ReleaseOut, 201),
             status_code=201, tags=["ledger"],
             summary="Release (预拨) central funds into the joint account")
async def release(program_code: str, body: ReleaseRequest, request: Request, who: FinanceBureau):
    amount_fen = _amount_fen(body.amount_yuan)
    release_id = body.release_id or body.command_id or new_id()
    return await _command(request, who, "release", body, lambda tx: service.release_funds(
        tx, program_code, release_id, amount_fen, body.approval_reference, who), ok_status=201,
        refs={"program_code": program_code}, fields={"RELEASE_EXCEEDS_PROGRAM_TOTAL": "amount_yuan"})


@router.post("/payments", responses=R.ok(R.PaymentOut, 201),
             status_code=201, tags=["payments"], summary="Request a payment order for a reserved award")
async def request_payment(body: PaymentRequest, request: Request, who: PaymentRequester):
    payment_id = str(body.payment_id) if body.payment_id else None
    why = [(j.rule_code, j.text) for j in body.ratio_justifications]
    return await _command(request, who, "request_payment", body, lambda tx: service.request_payment(
        tx, body.award_id, who, payment_id, why), ok_status=201, refs={"award_id": body.award_id})


@router.post("/payments/{payment_id}/approvals", responses=R.ok(R.PaymentOut),
             tags=["payments"],
             summary="Approve a payment (leading group member or contractor signatory; two different people)")
async def approve_payment(payment_id: str, body: ApprovalRequest, request: Request, who: Approver):
    async def run(tx: Tx) -> dict[str, Any]:
        why = [(j.rule_code, j.text) for j in body.ratio_justifications]
        items = [service.ApprovalItem(payment_id, body.content_sha256, justifications=why)]
        (item,) = await service.approve_payments(tx, items, who, command_id=body.command_id)
        if item.outcome["status"] == "refused":
            raise _refusal(item.outcome)
        return await service.payment_view(tx.conn, payment_id)

    return await _command(request, who, "approve_payment", {"payment": payment_id, **body.model_dump()}, run,
                          refs={"payment_id": payment_id})


def _refusal(outcome: dict[str, Any]) -> DomainError:
    cls = Forbidden if outcome["code"] in ("ROLE_REQUIRED", "RECUSAL_REQUIRED", "RATIO_DECISION_BY_LEADING_GROUP") \
        else DomainError
    return cls(outcome["code"], outcome["message"], field=outcome.get("field"), details=outcome.get("details"),
               title_zh=outcome.get("title_zh"), detail_zh=outcome.get("detail_zh"))


@router.post("/payment-approvals", responses=R.ok(R.BatchApprovalOut),
             tags=["payments"],
             summary="Approve many payment orders at once (a payment run); each is decided on its own")
async def approve_payments(body: BatchApprovalRequest, request: Request, who: Approver):
    async def run(tx: Tx) -> dict[str, Any]:
        items = [service.ApprovalItem(a.payment_id, a.content_sha256) for a in body.approvals]
        done = await service.approve_payments(tx, items, who, command_id=body.command_id)
        return {"results": [{"payment_id": i.payment_id, **i.outcome} for i in done]}

    return await _command(request, who, "approve_payments", body, run)


@router.post("/payments/{payment_id}/settlement", responses=R.ok(R.PaymentOut),
             tags=["bank"], summary="The bank confirmed an executed payment")
async def settle(payment_id: str, body: SettlementRequest, request: Request, who: BankReporter):
    return await _command(request, who, "settle_payment", {"payment": payment_id, **body.model_dump()},
                          lambda tx: service.settle_payment(tx, payment_id, body.bank_txn_id, by=who),
                          refs={"payment_id": payment_id})


@router.post("/payments/{payment_id}/failure", responses=R.ok(R.PaymentOut),
             tags=["bank"],
             summary="The bank failed or returned an executed payment: reverse it")
async def fail(payment_id: str, body: FailureRequest, request: Request, who: BankReporter):
    return await _command(request, who, "fail_payment", {"payment": payment_id, **body.model_dump()},
                          lambda tx: service.fail_payment(tx, payment_id, body.code, body.reason, by=who),
                          refs={"payment_id": payment_id})


@router.post("/programs/{program_code}/bank-statements", responses=R.ok(R.StatementImportOut, 201), status_code=201,
             tags=["bank"],
             summary="Import the joint account's bank statement (CSV): settles or reverses the payments on it",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}})
async def import_statement(program_code: str, request: Request, who: StatementImporter):
    raw = await request.body()
    if len(raw) > MAX_STATEMENT_BYTES:
        raise InvalidInput("STATEMENT_TOO_LARGE", f"a statement is at most {MAX_STATEMENT_BYTES} bytes",
            detail_zh=f"银行对账单最多 {MAX_STATEMENT_BYTES:,} 字节，本文件为 {len(raw):,} 字节。")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("STATEMENT_ENCODING", "the statement must be UTF-8 CSV",
            detail_zh="银行对账单须为 UTF-8 编码的 CSV 文件。") from None
    lines = parse_statement(text)
    file_sha = hashlib.sha256(raw).hexdigest()
    # the same file twice from one person is the same command: it replays the first import's outcome
    # (another person importing it runs it again, which changes nothing: lines already seen are kept)
    key = request.headers.get("Idempotency-Key")
    return await _command(request, who, "import_statement", {"program": program_code, "sha256": file_sha},
                          lambda tx: service.import_statement(tx, program_code, lines, who), ok_status=201,
                          command_id=None if key else f"statement:{program_code}:{file_sha}:{who.subject}",
                          refs={"program_code": program_code})


@router.put("/awards/{award_id}/payee-bank", responses=R.ok(R.PayeeBankOut),
            tags=["awards"],
            summary="Correct a pre-allocation provider's bank account that only funds holds (earlier approvals "
                    "lapse); a registry enterprise's account is changed in claims: 409 BANK_ACCOUNT_LIVES_IN_REGISTRY")
async def change_payee_bank(award_id: str, body: PayeeBankRequest, request: Request, who: BureauAdmin):
    return await _command(request, who, "change_payee_bank", {"award": award_id, **body.model_dump()},
                          lambda tx: service.change_payee_bank(tx, award_id, body.bank_name, body.bank_account, who),
                          refs={"award_id": award_id})


@router.post("/programs/{program_code}/adjustments", responses=R.ok(R.AdjustmentOut, 201),
             status_code=201, tags=["budget"],
             summary="Move budget between items under a leading group resolution")
async def adjust(program_code: str, body: AdjustmentRequest, request: Request, who: LeadingGroup):
    amount_fen, resolution = _amount_fen(body.amount_yuan), _resolution(body)
    adjustment_id = body.adjustment_id or body.command_id or new_id()
    return await _command(request, who, "adjust_budget", body, lambda tx: service.adjust_budget(
        tx, program_code, adjustment_id, body.from_item, body.to_item, amount_fen, resolution, body.override,
        body.reason, who), ok_status=201, refs={"program_code": program_code})


@router.post("/programs/{program_code}/preallocations", responses=R.ok(R.PreallocationOut, 201),
             status_code=201, tags=["budget"],
             summary="Pre-allocate (预拨) part of a purchase-of-service item to its contracted provider")
async def preallocate(program_code: str, body: PreallocationRequest, request: Request, who: LeadingGroup):
    amount_fen = _amount_fen(body.amount_yuan)
    pre_id = body.preallocation_id or body.command_id or f"pre-{new_id()}"
    provider = Payee(body.provider_credit_code, body.provider_name, body.bank_name, body.bank_account)
    return await _command(request, who, "preallocate", body, lambda tx: service.preallocate(
        tx, program_code, pre_id, body.item_code, provider, amount_fen, body.contract_reference, who),
        ok_status=201, refs={"program_code": program_code})


@router.post("/programs/{program_code}/defaults", responses=R.ok(R.DefaultOut, 201),
             status_code=201, tags=["clawback"],
             summary="Declare a contractor in default: everything paid to it becomes a receivable")
async def declare_default(program_code: str, body: DefaultRequest, request: Request, who: LeadingGroup):
    resolution = _resolution(body)
    if resolution is None:
        raise InvalidInput("RESOLUTION_REQUIRED", "a default needs the leading group resolution", field="resolution_number",
            detail_zh="认定违约须有领导小组决议：请填写决议文号（resolution_number）和日期（resolution_date）。")
    return await _command(request, who, "declare_default", body, lambda tx: service.declare_default(
        tx, program_code, body.credit_code, resolution, who), ok_status=201, refs={"program_code": program_code})


@router.post("/programs/{program_code}/repayments", responses=R.ok(R.RepaymentOut, 201),
             status_code=201, tags=["clawback"],
             summary="Record a defaulted contractor's repayment into the joint account")
async def repay(program_code: str, body: RepaymentRequest, request: Request, who: Repayments):
    amount_fen = _amount_fen(body.amount_yuan)
    repayment_id = body.repayment_id or body.command_id or new_id()
    return await _command(request, who, "record_repayment", body, lambda tx: service.record_repayment(
        tx, program_code, repayment_id, body.credit_code, amount_fen, body.bank_reference, who), ok_status=201,
        refs={"program_code": program_code})


_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _figures(figures: dict[str, str], name: str) -> dict[str, int]:
    out = {}
    for code, text in figures.items():
        if not _CODE.fullmatch(code):
            raise InvalidInput("INVALID_CODE", "a line or measure code is lowercase letters, digits and '-'",
                               field=name,
                                   detail_zh=f"“{name}”中的编码“{code}”有误：只能使用小写字母、数字和“-”。",
                               )
        try:
            fen = parse_yuan(text)
        except (ValueError, TypeError) as exc:
            raise InvalidInput("INVALID_AMOUNT", str(exc), field=f"{name}.{code}",
                detail_zh=f"“{name}.{code}”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。") from None
        if fen < 0:
            raise InvalidInput("INVALID_AMOUNT", "a spend figure is not negative", field=f"{name}.{code}",
                detail_zh=f"“{name}.{code}”的支出金额不能为负数。")
        out[code] = fen
    return out


@router.post("/programs/{program_code}/history", responses=R.ok(R.HistoryImportOut, 201),
             status_code=201, tags=["shares"],
             summary="Record an earlier phase's actual spend by line and measure from its final accounts (决算)")
async def import_history(program_code: str, body: HistoryImportRequest, request: Request, who: BureauAdmin):
    lines, measures = _figures(body.lines, "lines"), _figures(body.measures, "measures")
    if not lines and not measures:
        raise InvalidInput("NO_FIGURES", "give at least one line or measure figure", field="lines",
            detail_zh="请至少给出一项建设内容（lines）或措施（measures）的支出金额。")
    import_id = body.import_id or body.command_id or new_id()
    return await _command(request, who, "import_history", body, lambda tx: service.import_history(
        tx, program_code, import_id, body.phase, body.document, lines, measures, who), ok_status=201,
        refs={"program_code": program_code})


# -- reads -------------------------------------------------------------------------------------
@router.get("/programs/{program_code}/spending", responses=R.ok(R.SpendingOut),
            tags=["shares"],
            summary="Actual spend by line and category, and each share rule's status on it")
async def spending(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.spending(conn, program_code)


@router.get("/payments/{payment_id}", responses=R.ok(R.PaymentOut),
            tags=["payments"])
async def get_payment(payment_id: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.payment_view(conn, payment_id)


@router.get("/awards/{award_id}", responses=R.ok(R.AwardOut),
            tags=["awards"])
async def get_award(award_id: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.award_view(conn, award_id)


@router.get("/programs/{program_code}/balances", responses=R.ok(R.BalancesOut),
            tags=["ledger"],
            summary="Balances per account, item, line and payee, and the trial balance")
async def balances(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.balances(conn, program_code)


@router.get("/programs/{program_code}/trial-balance", responses=R.ok(R.TrialBalance),
            tags=["ledger"], summary="Debits = credits for the program")
async def trial_balance(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return (await service.balances(conn, program_code))["trial_balance"]


@router.get("/programs/{program_code}/payees/{credit_code}/statement", responses=R.ok(R.PayeeStatementOut),
            tags=["ledger"],
            summary="Statement of one payee: paid, owed again after a failure, clawback receivable")
async def payee_statement(program_code: str, credit_code: str, ctx: CtxDep, who: PayeeReader):
    if not (set(who.roles) & set(READERS)) and who.credit_code != credit_code:
        raise Forbidden("NOT_YOUR_DATA", "an enterprise sees only its own statement",
            detail_zh="企业只能查看本企业的对账单。")
    async with ctx.db.acquire() as conn:
        return await service.payee_statement(conn, program_code, credit_code)


@router.get("/programs/{program_code}/adjustments", responses=R.ok(R.AdjustmentsReportOut),
            tags=["budget"],
            summary="Adjustments (service-item overrides flagged) and pre-allocations")
async def adjustments(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.adjustments_report(conn, program_code)


@router.get("/programs/{program_code}/reconciliation", responses=R.ok(R.ReconciliationOut),
            tags=["bank"],
            summary="Three-way reconciliation: bank statement ↔ ledger ↔ approved awards")
async def reconciliation(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        return await service.reconciliation(conn, program_code, local_date(ctx.clock.now()))


@router.get("/programs/{program_code}/postings.csv", responses=R.CSV_BODY, response_class=Response,
            tags=["ledger"], summary="CSV export of every posting")
async def postings_csv(program_code: str, ctx: CtxDep, who: Reader):
    async with ctx.db.acquire() as conn:
        rows = await service.postings(conn, program_code)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["posting_id", "posted_at", "kind", "reference", "account", "debit_fen", "credit_fen"])
    for r in rows:
        w.writerow([r["posting_id"], r["posted_at"].isoformat(), r["kind"], r["reference"], r["account"],
                    r["debit_fen"], r["credit_fen"]])
    return StreamingResponse(iter([buf.getvalue()]), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename=\"postings.csv\"; "
                                      f"filename*=UTF-8''{quote(program_code + '-postings.csv')}"})


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {k: {"type": "integer" if k == "status" else "string"}
                   for k in ("type", "title", "status", "code", "field", "detail", "title_zh")},
}
_PROBLEM = {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}
_FILE = {"type": "string", "format": "binary"}
_JOURNAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the journal (序时账), one row per posting: CSV (UTF-8 with BOM, "
                         "Chinese headings), xlsx (sheets 序时账 and 科目表) or beancount",
          "content": {"text/csv": {"schema": {"type": "string"}},
                      journal_reports.MEDIA_TYPES["xlsx"]: {"schema": _FILE},
                      "text/plain": {"schema": {"type": "string"}}}},
    400: {"description": "INVALID_FORMAT, INVALID_DATE, INVALID_RANGE or EXPORT_TOO_LARGE "
                         "(field: format, from or to)", "content": _PROBLEM},
    404: {"description": "PROGRAM_NOT_FOUND", "content": _PROBLEM},
}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_QUERY = {"format": "date"}


def _journal_day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        if _DAY.fullmatch(text):  # fromisoformat alone also takes 20261013 and 2026-W42-2
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidInput("INVALID_DATE", f"{field}: a county day as YYYY-MM-DD, e.g. 2026-10-13"
                       "（日期格式应为 YYYY-MM-DD）", field=field, status=400,
                           detail_zh=f"“{field}”须为日期，格式为 YYYY-MM-DD（如 2026-10-13）。",
                       )


@router.get("/programs/{program_code}/journal", tags=["ledger"], response_class=Response,
            responses=_JOURNAL_RESPONSES,
            summary="The journal for accountants (序时账): accounting day (Asia/Shanghai), "
                    "voucher number, account code, name and type, debit/credit in yuan, 摘要")
async def journal(
    program_code: str, ctx: CtxDep, who: Reader,
    format: Annotated[str, Query(description="csv (default), xlsx or beancount",
                                 json_schema_extra={"enum": list(journal_reports.FORMATS)})] = "csv",
    from_: Annotated[str | None, Query(alias="from", description="first county day, YYYY-MM-DD",
                                       json_schema_extra=_DAY_QUERY)] = None,
    to: Annotated[str | None, Query(description="last county day (inclusive), YYYY-MM-DD",
                                    json_schema_extra=_DAY_QUERY)] = None,
):
    if format not in journal_reports.FORMATS:
        raise InvalidInput("INVALID_FORMAT", "format is csv, xlsx or beancount"
                           "（导出格式应为 csv、xlsx 或 beancount）", field="format", status=400,
                               detail_zh="导出格式须为 csv、xlsx 或 beancount。",
                           )
    first_day, last_day = _journal_day(from_, "from"), _journal_day(to, "to")
    if first_day and last_day and first_day > last_day:
        raise InvalidInput("INVALID_RANGE", "from is after to（起始日期晚于截止日期）", field="from",
                           status=400,
                               detail_zh=f"起始日期（{date_zh(first_day)}）晚于截止日期（{date_zh(last_day)}）。",
                           )
    async with ctx.db.acquire() as conn:
        export = await journal_export(conn, program_code, first_day, last_day,
                                      max_entries=MAX_HTTP_EXPORT_ENTRIES)
    body = await run_in_threadpool(journal_reports.render, export, format)  # CPU: off the loop
    name = journal_reports.file_name(program_code, first_day, last_day, format)
    disposition = f"attachment; filename=\"journal.{format}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=journal_reports.MEDIA_TYPES[format],
                    headers={"Content-Disposition": disposition})

__all__ = ["router"]
