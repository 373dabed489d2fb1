"""The auditor's pages (审计, #17): everything read-only. Awards and payment orders with who
signed what; the ledger's signed checkpoints — the latest one, taking a new one (funds lets an
auditor do that: it records the state and changes no money), and checking with funds' Merkle
proofs that today's ledger extends a checkpoint the auditor kept and that a leaf is in it; the
execution report's PDF and xlsx. The claims search, the ledger and the reconciliation are the
staff and finance pages, which offer an auditor no button (funds and claims refuse an auditor's
write with 403 READ_ONLY). The proofs are verified HERE, by RFC 9162's algorithms in
ruralfund_common.merkle, not taken on funds' word; the checkpoint's Ed25519 signature is checked
by ``ruralfund ledger verify --checkpoint`` (the console holds no trusted keys)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from ruralfund_common.merkle import verify_consistency, verify_inclusion

from ..services import ServiceError
from ..session import Session
from ..web import SignedForm, SignedIn, services, web
from .finance import ProgramCode, pick_program

__all__ = ["router"]

router = APIRouter()
LIMIT: Final = 50
Cursor = Annotated[str | None, Query(max_length=2000)]
AWARD_STATUS_ZH: Final = {"reserved": "资金已预留", "refused": "预留被拒", "in_publicity": "公示中",
                          "payable": "待支付", "paid": "已支付", "revoked": "已撤销"}
ORDER_STATUS_ZH: Final = {"awaiting_approval": "待签批", "executed": "已执行（待银行确认）", "settled": "银行已确认到账",
                          "failed": "支付失败", "cancelled": "已取消"}
SIGNER_ZH: Final = {"leading_group": "领导小组成员", "contractor_signatory": "承办方签字人"}
HEX64: Final = re.compile(r"[0-9a-f]{64}")


def _q(part: str) -> str:
    return quote(part, safe="")


@router.get("/audit/payments", response_class=HTMLResponse)
async def payments_page(request: Request, session: SignedIn, program: ProgramCode = None,
                        awards_after: Cursor = None, orders_after: Cursor = None) -> Response:
    token = session.token or ""
    programs, chosen = await pick_program(request, session, program)
    awards = await services(request).get("funds", "/awards", token, program=chosen, limit=LIMIT, cursor=awards_after)
    orders = await services(request).get("funds", "/payments", token, program=chosen, limit=LIMIT,
                                         cursor=orders_after)
    # each order's approvals (who, which side, when, on which content) from its own record
    detail = {p["payment_id"]: await services(request).get("funds", f"/payments/{_q(p['payment_id'])}", token)
              for p in orders["items"]}
    # funds lists item codes; claims names them
    items = (await services(request).get("claims", f"/programs/{_q(chosen)}", token))["items"] if chosen else []
    return web(request).page(request, "audit_payments.html", session, programs=programs, chosen=chosen,
                             item_names={it["code"]: it["name"] for it in items},
                             awards=awards["items"], orders=orders["items"],
                             awards_next=awards["next_cursor"], orders_next=orders["next_cursor"], detail=detail,
                             award_status=AWARD_STATUS_ZH, order_status=ORDER_STATUS_ZH, signer_zh=SIGNER_ZH)


async def _latest(request: Request, session: Session) -> dict[str, Any] | None:
    try:
        return await services(request).get("funds", "/ledger/checkpoints/latest", session.token or "")
    except ServiceError as none:
        if none.status != 404:
            raise
        return None  # no checkpoint signed yet


async def _consistency(request: Request, session: Session, latest: dict[str, Any], size: int,
                       root: str) -> dict[str, Any]:
    """Does the latest signed checkpoint extend the one kept (size, root)? Checked here."""
    if size > latest["tree_size"]:
        return {"ok": False, "why": f"所持检查点的树大小（{size:,}）大于最新检查点的树大小（{latest['tree_size']:,}）："
                                    "账本的叶子被删除了，或该检查点并非本账本所签。"}
    proof = await services(request).get("funds", "/ledger/proofs/consistency", session.token or "",
                                        **{"from": size, "to": latest["tree_size"]})
    ok = verify_consistency(size, latest["tree_size"], bytes.fromhex(root), bytes.fromhex(latest["root_hash"]),
                            [bytes.fromhex(h) for h in proof["proof"]])
    return {"ok": ok, "steps": len(proof["proof"]),
            "why": "" if ok else "一致性证明不成立：所持检查点之前的账本记录已被改写，或所填根哈希有误。"}


async def _inclusion(request: Request, session: Session, latest: dict[str, Any], leaf: int) -> dict[str, Any]:
    proof = await services(request).get("funds", "/ledger/proofs/inclusion", session.token or "",
                                        leaf_index=leaf, tree_size=latest["tree_size"])
    ok = verify_inclusion(bytes.fromhex(proof["leaf_hash"]), leaf, latest["tree_size"],
                          [bytes.fromhex(h) for h in proof["proof"]], bytes.fromhex(latest["root_hash"]))
    return {"ok": ok, "leaf_hash": proof["leaf_hash"], "steps": len(proof["proof"])}


@router.get("/audit/checkpoints", response_class=HTMLResponse)
async def checkpoints_page(request: Request, session: SignedIn,
                           kept_size: Annotated[str, Query(max_length=20)] = "",
                           kept_root: Annotated[str, Query(max_length=200)] = "",
                           leaf_index: Annotated[str, Query(max_length=20)] = "",
                           taken: Annotated[str, Query(max_length=1)] = "") -> Response:
    latest = await _latest(request, session)
    errors: dict[str, str] = {}
    consistency = inclusion = None
    root = kept_root.strip().lower()
    if latest is not None and (kept_size or kept_root):
        if not kept_size.strip().isdigit():
            errors["kept_size"] = "树大小须为非负整数，如 128。"
        if not HEX64.fullmatch(root):
            errors["kept_root"] = f"根哈希须为 64 位十六进制字符（0-9、a-f），您输入了 {len(root)} 位。"
        if not errors:
            consistency = await _consistency(request, session, latest, int(kept_size), root)
    if latest is not None and leaf_index:
        n = leaf_index.strip()
        if not n.isdigit() or int(n) >= latest["tree_size"]:
            errors["leaf_index"] = f"叶子序号须为 0 至 {max(latest['tree_size'] - 1, 0):,} 之间的整数。"
        else:
            inclusion = await _inclusion(request, session, latest, int(n))
    typed = {"kept_size": kept_size, "kept_root": kept_root, "leaf_index": leaf_index}
    return web(request).page(request, "audit_checkpoints.html", session, status=422 if errors else 200,
                             latest=latest, consistency=consistency, inclusion=inclusion, errors=errors, typed=typed,
                             taken=bool(taken), can_take=bool({"auditor", "bureau_admin"} & set(session.roles)))


@router.post("/audit/checkpoints")
async def take_checkpoint(request: Request, session: SignedForm) -> Response:
    # funds lets the bureau and auditors sign a checkpoint now (it records the state, moves no money)
    await services(request).post("funds", "/ledger/checkpoints", session.token or "", {})
    return RedirectResponse("/audit/checkpoints?taken=1", status_code=303)


@router.get("/audit/reports", response_class=HTMLResponse)
async def reports_page(request: Request, session: SignedIn) -> Response:
    programs, _ = await pick_program(request, session, None)
    return web(request).page(request, "audit_reports.html", session, programs=programs)


@router.get("/audit/reports/{code}/execution-report.{fmt}")
async def report_download(request: Request, session: SignedIn, code: str, fmt: Literal["pdf", "xlsx"]) -> Response:
    """The execution report as claims renders it, with its own file name (claims decides who may read it)."""
    r = await services(request).download("claims", f"/programs/{_q(code)}/execution-report?format={fmt}",
                                         session.token or "")
    return Response(r.content, media_type=r.headers.get("content-type"),
                    headers={"Content-Disposition": r.headers.get("content-disposition", "attachment"),
                             "X-Content-Type-Options": "nosniff"})
