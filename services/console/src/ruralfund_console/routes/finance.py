"""The finance bureau's pages (县财政局, #17): releasing (预拨) the central money into a
program's joint account, each program with its total and the joint account's balance and the
releases made so far; importing the joint account's bank statement; the three-way
reconciliation; the ledger (trial balance, accounts, spending by item, the journal for
accountants). funds decides who may do what: every staff role funds lets read the ledger (the
auditor included) sees these pages; the release and import forms are shown only to the finance
bureau, the one role funds lets make them, and funds' refusal is shown in Chinese beside the
field it names."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web

__all__ = ["ProgramCode", "pick_program", "router"]

router = APIRouter()
ProgramCode = Annotated[str | None, Query(max_length=64)]
FINANCE: Final = "finance_bureau"
MAX_STATEMENT_BYTES: Final = 4 * 1024 * 1024  # funds' own limit: a bigger file is refused here already
# how funds matched each statement line (POST /programs/{p}/bank-statements "matches")
MATCH_ZH: Final = {
    "settled": "已核对到账（付款已确认）", "failed": "银行退回或失败（付款已冲回）", "credit": "入账（贷方）",
    "unmatched": "未找到对应的支付指令", "amount_differs": "金额与支付指令不符", "duplicate": "此前已导入（未重复记账）",
    "payment_already_settled": "付款此前已确认", "payment_not_executed": "支付指令尚未执行",
}
# the three-way reconciliation's mismatch kinds (funds domain/reconcile.py), explained
MISMATCH_ZH: Final = {
    "PAID_NOT_APPROVED": ("付款未经批准", ("银行对账单显示资金已从共管账户付出，但没有对应的已执行支付指令，"
                                           "或该指令未经两人签批、奖补未获批准。请立即核查该笔银行交易。")),
    "APPROVED_UNPAID_PAST_WINDOW": ("已批准但逾期未付", "奖补已批准且公示期已满（或无需公示），但尚未付款。"),
    "AMOUNT_DIFFERS": ("金额不符", "银行对账单、支付指令与奖补三者的金额不一致。"),
    "EXECUTED_NOT_ON_STATEMENT": ("已执行未见银行回单", "支付指令已执行，但银行对账单中尚无该笔交易（在途）。"),
    "LEDGER_DIFFERS": ("账实不符", "账本记载的收款人已付金额与支付指令合计不一致。"),
    "OBJECTION_UPHELD_AFTER_PAYMENT": ("付款后异议成立", "奖补付款后公示异议被认定成立，须决定是否追回。"),
}
JOINT_ACCOUNT: Final = "bank:joint"  # funds' ledger account of the joint (共管) bank account


def _q(part: str) -> str:
    return quote(part, safe="")


async def pick_program(request: Request, session: Session, wanted: str | None) -> tuple[list[dict], str | None]:
    """The programs claims lists and the one to show: the asked one if listed, else the first."""
    programs = (await services(request).get("claims", "/programs", session.token or "", limit=100))["items"]
    codes = [p["code"] for p in programs]
    return programs, wanted if wanted in codes else (codes[0] if codes else None)


async def _all_releases(request: Request, session: Session, program: str) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        page = await services(request).get("funds", f"/programs/{_q(program)}/releases", session.token or "",
                                           limit=100, cursor=cursor)
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def _balances(request: Request, session: Session, program: str) -> dict[str, Any] | None:
    try:
        return await services(request).get("funds", f"/programs/{_q(program)}/balances", session.token or "")
    except ServiceError as missing:
        if missing.status != 404:
            raise
        return None  # funds has no ledger for it (yet): the page says so


def _joint(balances: dict[str, Any] | None) -> int | None:
    if balances is None:
        return None
    return next((a["balance_fen"] for a in balances["accounts"] if a["account"] == JOINT_ACCOUNT), 0)


async def _releases_page(request: Request, session: Session, program: str | None = None, *, status: int = 200,
                         error: ServiceError | None = None, typed: dict[str, str] | None = None,
                         done: str = "") -> Response:
    programs, chosen = await pick_program(request, session, program or (typed or {}).get("program_code") or done)
    for p in programs:
        p["joint_fen"] = _joint(await _balances(request, session, p["code"]))  # None: funds has no accounts yet
    releases = await _all_releases(request, session, chosen) if chosen else []
    return web(request).page(request, "finance_releases.html", session, status=status, programs=programs,
                             chosen=chosen, releases=releases, can_release=FINANCE in session.roles,
                             error=error, typed=typed or {}, done=done)


@router.get("/finance/releases", response_class=HTMLResponse)
async def releases_page(request: Request, session: SignedIn, program: ProgramCode = None,
                        done: Annotated[str, Query(max_length=64)] = "") -> Response:
    return await _releases_page(request, session, program, done=done)


@router.post("/finance/releases")
async def release(request: Request, session: SignedForm, program_code: Annotated[str, Form(max_length=64)],
                  amount_yuan: Annotated[str, Form(max_length=40)] = "",
                  approval_reference: Annotated[str, Form(max_length=200)] = "") -> Response:
    typed = {"program_code": program_code, "amount_yuan": amount_yuan, "approval_reference": approval_reference}
    try:
        await services(request).post("funds", f"/programs/{_q(program_code)}/releases", session.token or "",
                                     {"amount_yuan": amount_yuan.strip(), "approval_reference": approval_reference.strip()})
    except ServiceError as refused:
        if refused.status == 401 or refused.status >= 500:
            raise
        # the page again, funds' words beside the field it names (or above the form), what was typed kept
        return await _releases_page(request, session, status=refused.status, error=refused, typed=typed)
    return RedirectResponse("/finance/releases?" + urlencode({"program": program_code, "done": program_code}),
                            status_code=303)


@router.get("/finance/statements", response_class=HTMLResponse)
async def statements_page(request: Request, session: SignedIn, program: ProgramCode = None) -> Response:
    return await _statements_page(request, session, program)


async def _statements_page(request: Request, session: Session, program: str | None, *, status: int = 200,
                           error: str = "", refusal: ServiceError | None = None) -> Response:
    programs, chosen = await pick_program(request, session, program)
    q = request.query_params
    result = None
    if q.get("imported"):  # the import's outcome, carried by the redirect after the upload
        counts = [(k, int(v)) for k, v in (p.split(":", 1) for p in q.get("matches", "").split(",") if ":" in p)
                  if v.isdigit()]
        result = {"lines": q.get("lines", "0"), "matches": [(MATCH_ZH.get(k, k), n) for k, n in counts]}
    return web(request).page(request, "finance_statements.html", session, status=status, programs=programs,
                             chosen=chosen, result=result, error=error, refusal=refusal,
                             can_import=FINANCE in session.roles, max_mb=MAX_STATEMENT_BYTES // (1024 * 1024))


@router.post("/finance/statements")
async def import_statement(request: Request, session: SignedForm, program: Annotated[str, Form(max_length=64)],
                           statement: Annotated[UploadFile | None, Form()] = None) -> Response:
    if statement is None or not statement.filename:
        return await _statements_page(request, session, program, status=422, error="请选择银行对账单文件（CSV）。")
    content = await statement.read(MAX_STATEMENT_BYTES + 1)
    if len(content) > MAX_STATEMENT_BYTES:
        return await _statements_page(request, session, program, status=413,
                                      error=f"银行对账单最多 {MAX_STATEMENT_BYTES // (1024 * 1024)} MB。")
    if not content:
        return await _statements_page(request, session, program, status=422, error="所选文件是空的。")
    try:
        done = await services(request).post_file("funds", f"/programs/{_q(program)}/bank-statements",
                                                 session.token or "", content, "text/csv")
    except ServiceError as refused:
        if refused.status == 401 or refused.status >= 500:
            raise
        return await _statements_page(request, session, program, status=refused.status, refusal=refused)
    matches = ",".join(f"{k}:{n}" for k, n in sorted(done["matches"].items()))
    return RedirectResponse("/finance/statements?" + urlencode(
        {"program": program, "imported": done["import_id"], "lines": done["lines"], "matches": matches}),
        status_code=303)


@router.get("/finance/reconciliation", response_class=HTMLResponse)
async def reconciliation_page(request: Request, session: SignedIn, program: ProgramCode = None) -> Response:
    programs, chosen = await pick_program(request, session, program)
    rec = (await services(request).get("funds", f"/programs/{_q(chosen)}/reconciliation", session.token or "")
           if chosen else None)
    return web(request).page(request, "finance_reconciliation.html", session, programs=programs, chosen=chosen,
                             rec=rec, kinds=MISMATCH_ZH)


@router.get("/finance/ledger", response_class=HTMLResponse)
async def ledger_page(request: Request, session: SignedIn, program: ProgramCode = None) -> Response:
    programs, chosen = await pick_program(request, session, program)
    balances = spending = None
    names: dict[str, str] = {}
    if chosen:
        balances = await _balances(request, session, chosen)
        if balances is not None:
            spending = await services(request).get("funds", f"/programs/{_q(chosen)}/spending", session.token or "")
        program_doc = await services(request).get("claims", f"/programs/{_q(chosen)}", session.token or "")
        names = {it["code"]: it["name"] for it in program_doc.get("items", [])}
        names.update({ln["code"]: ln["name"] for ln in program_doc.get("lines", []) if "code" in ln})
    return web(request).page(request, "finance_ledger.html", session, programs=programs, chosen=chosen,
                             balances=balances, spending=spending, names=names)


@router.get("/finance/journal")
async def journal_download(request: Request, session: SignedIn, program: Annotated[str, Query(max_length=64)],
                           format: Annotated[str, Query(max_length=16)] = "csv",
                           from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
                           to: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    """The journal (序时账) as funds renders it (CSV or xlsx): funds checks format and dates."""
    query = urlencode({k: v for k, v in (("format", format), ("from", from_), ("to", to)) if v})
    r = await services(request).download("funds", f"/programs/{_q(program)}/journal?{query}", session.token or "")
    return Response(r.content, media_type=r.headers.get("content-type"),
                    headers={"Content-Disposition": r.headers.get("content-disposition", "attachment"),
                             "X-Content-Type-Options": "nosniff"})
