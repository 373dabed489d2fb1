"""A service contract's payment schedule (付款计划): the advance on signing (前期资金拨付),
instalments when their milestones are accepted, the balance on the final acceptance (验收).

A schedule adds up to the contract amount to the fen; it has at most one advance and one
balance; each instalment names one of the contract's milestones, and no milestone pays twice.
A tranche's life: ``scheduled`` → ``due`` (claims asks funds to pay it) → ``paid``; funds may
refuse it (``refused``); a payment the bank failed or returned makes it ``due`` again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, parse_yuan, yuan_zh

__all__ = [
    "MAX_SPLIT_ITEMS",
    "MAX_TRANCHES",
    "ItemShareIn",
    "Tranche",
    "TrancheIn",
    "TrancheKind",
    "TrancheStatus",
    "check_schedule",
    "check_split",
    "payment_failed",
    "require_status",
]

MAX_TRANCHES: Final = 33  # an advance, a balance and one instalment per contract milestone

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
TrancheKind = Literal["advance", "instalment", "balance"]
FIELD: Final = "payment_schedule"
MAX_SPLIT_ITEMS: Final = 16  # a package covers at most 16 items (domain.packages)


class ItemShareIn(BaseModel):
    """One item's part of a contract or tranche under a package covering several items."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    item_code: Code
    amount_yuan: Annotated[str, Field(max_length=40, description='e.g. "1,500,000.00"')]


class TrancheStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"  # payable: funds was told (claims.evt.contract_payment_due.v1)
    PAID = "paid"
    REFUSED = "refused"  # funds could not reserve it (e.g. ITEM_BUDGET_EXCEEDED)


TRANCHE_STATUS_ZH: Final = {"scheduled": "“已排期”", "due": "“待支付”", "paid": "“已支付”", "refused": "“资金预留被拒”"}


class TrancheIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    code: Code
    kind: TrancheKind
    amount_yuan: Annotated[str, Field(max_length=40, description='e.g. "270,000.00"')]
    milestone_code: Code | None = Field(
        default=None, description="instalments: paid on its acceptance"
    )
    spending_category: Code | None = Field(
        default=None, description="e.g. hardware; default: the item's spending category"
    )
    # A contract split across its package's items splits each tranche too (adding up exactly).
    items: list[ItemShareIn] | None = Field(default=None, max_length=MAX_SPLIT_ITEMS)
    hardware_yuan: Annotated[str, Field(max_length=40)] | None = Field(
        default=None,
        description="the part of the tranche that buys hardware and decoration (Ruyuan's ≤10 % rule "
        "counts it); default: the whole tranche if its category is hardware, else none",
    )


@dataclass(frozen=True)
class Tranche:
    code: str
    kind: TrancheKind
    amount_fen: int
    milestone_code: str | None
    spending_category: str | None
    parts: tuple[tuple[str, int], ...] = ()  # (item code, fen) when the contract is split
    hardware_fen: int | None = None


def _fen(text: str, code: str) -> int:
    try:
        fen = parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", f"tranche {code}: {exc}", field=FIELD,
            detail_zh=f"付款 {code} 的金额“{text}”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。") from None
    if fen <= 0:
        raise InvalidInput(
            "AMOUNT_INVALID", f"tranche {code}: an amount must be positive", field=FIELD,
            detail_zh=f"付款 {code} 的金额必须大于零。",
        )
    return fen


def _yuan(text: str, field: str, what_zh: str) -> int:
    try:
        fen = parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", f"{field}: {exc}", field=field,
                           title_zh="金额格式有误", detail_zh=f"{what_zh}的金额“{text}”不是有效的元金额") from None
    if fen <= 0:
        raise InvalidInput("AMOUNT_INVALID", f"{field}: an amount must be positive", field=field,
                           title_zh="金额格式有误", detail_zh=f"{what_zh}的金额必须大于零")
    return fen


def check_split(shares: Iterable[ItemShareIn], *, amount_fen: int, allowed: Iterable[str],
                field: str, what_zh: str) -> dict[str, int]:
    """An amount split across items: each item once, each of ``allowed`` (the package's items),
    adding up to ``amount_fen`` to the fen. Returns item code -> fen in the given order."""
    allowed_codes = tuple(allowed)
    out: dict[str, int] = {}
    for share in shares:
        if share.item_code not in allowed_codes:
            raise InvalidInput(
                "ITEM_NOT_IN_PACKAGE", f"{field}: {share.item_code} is not an item of the package",
                field=field, title_zh="项目不在采购包组内",
                detail_zh=f"{what_zh}列出的项目 {share.item_code} 不在包组覆盖的项目（{'、'.join(allowed_codes)}）之内",
            )  # fmt: skip
        if share.item_code in out:
            raise InvalidInput(
                "DUPLICATE_CODE", f"{field}: {share.item_code} is listed twice", field=field,
                title_zh="项目重复", detail_zh=f"{what_zh}中项目 {share.item_code} 出现了两次",
            )  # fmt: skip
        out[share.item_code] = _yuan(share.amount_yuan, field, f"{what_zh}中 {share.item_code} ")
    total = sum(out.values())
    if total != amount_fen:
        parts = " + ".join(f"{format_yuan(v)}" for v in out.values())
        raise InvalidInput(
            "SPLIT_SUM_MISMATCH",
            f"{field}: the items add up to {format_yuan(total)} yuan, not {format_yuan(amount_fen)}",
            field=field, details={"items_fen": total, "amount_fen": amount_fen},
            title_zh="分项金额之和与总额不符",
            detail_zh=f"{what_zh}按项目拆分为 {parts} = {format_yuan(total)} 元，"
            f"与总额 {format_yuan(amount_fen)} 元不符（相差 {format_yuan(total - amount_fen)} 元）",
        )  # fmt: skip
    return out


def _split_tranches(
    given: list[TrancheIn], amounts: list[int], contract_split: dict[str, int] | None
) -> list[tuple[tuple[str, int], ...]]:
    """Each tranche's parts: a split contract splits every tranche, adding up per item to the
    contract's split; an unsplit contract's tranches are not split."""
    if contract_split is None:
        for t in given:
            if t.items is not None:
                raise InvalidInput(
                    "SPLIT_NEEDS_CONTRACT_SPLIT", f"tranche {t.code}: the contract is not split across items",
                    field=FIELD, title_zh="合同未按项目拆分",
                    detail_zh=f"付款 {t.code} 按项目拆分，但合同本身没有按包组项目拆分（items）",
                )  # fmt: skip
        return [() for _ in given]
    out = []
    per_item = dict.fromkeys(contract_split, 0)
    for t, amount in zip(given, amounts, strict=True):
        if t.items is None:
            raise InvalidInput(
                "TRANCHE_SPLIT_REQUIRED", f"tranche {t.code}: split it across the contract's items",
                field=FIELD, title_zh="付款须按项目拆分",
                detail_zh=f"合同按项目拆分（{'、'.join(contract_split)}），付款 {t.code}"
                f"（{format_yuan(amount)} 元）也须写明每个项目的金额",
            )  # fmt: skip
        split = check_split(t.items, amount_fen=amount, allowed=contract_split, field=FIELD,
                            what_zh=f"付款 {t.code}")
        for code, fen in split.items():
            per_item[code] += fen
        out.append(tuple(split.items()))
    for code, fen in per_item.items():
        if fen != contract_split[code]:
            raise InvalidInput(
                "SPLIT_SUM_MISMATCH", f"item {code}: the tranches pay {format_yuan(fen)} yuan, "
                f"the contract {format_yuan(contract_split[code])}", field=FIELD,
                details={"item_code": code, "tranches_fen": fen, "contract_fen": contract_split[code]},
                title_zh="分项金额之和与总额不符",
                detail_zh=f"项目 {code} 各笔付款合计 {format_yuan(fen)} 元，合同中该项目为 "
                f"{format_yuan(contract_split[code])} 元",
            )  # fmt: skip
    return out


def _hardware(t: TrancheIn, amount_fen: int) -> int | None:
    if t.hardware_yuan is None:
        return None
    try:
        fen = parse_yuan(t.hardware_yuan)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", f"tranche {t.code}: {exc}", field=FIELD,
            detail_zh=f"付款 {t.code} 的硬件金额“{t.hardware_yuan}”不是有效的元金额。") from None
    if fen < 0 or fen > amount_fen:
        raise InvalidInput(
            "HARDWARE_EXCEEDS_TRANCHE", f"tranche {t.code}: hardware must be between 0 and the tranche",
            field=FIELD, title_zh="硬件金额超过付款金额",
            detail_zh=f"付款 {t.code} 的硬件设备购置和装修金额 {format_yuan(fen)} 元"
            f"须在 0 至该笔付款 {format_yuan(amount_fen)} 元之间",
        )  # fmt: skip
    return fen


def check_schedule(
    tranches: Iterable[TrancheIn],
    *,
    amount_fen: int,
    milestone_codes: Iterable[str],
    default_category: str | None,
    contract_split: dict[str, int] | None = None,
) -> list[Tranche]:
    """The checked tranches, or the first refusal (every one has its own code)."""
    given = list(tranches)
    if len(given) > MAX_TRANCHES:
        raise InvalidInput("SCHEDULE_TOO_LONG", f"at most {MAX_TRANCHES} tranches", field=FIELD,
            detail_zh=f"付款计划最多 {MAX_TRANCHES} 笔，本计划有 {len(given)} 笔。")
    codes = Counter(t.code for t in given)
    twice = sorted(c for c, n in codes.items() if n > 1)
    if twice:
        raise InvalidInput(
            "DUPLICATE_CODE", f"tranche codes used twice: {', '.join(twice)}", field=FIELD,
            detail_zh=f"付款编码重复使用：{'、'.join(twice)}。",
        )
    kinds = Counter(t.kind for t in given)
    for kind in ("advance", "balance"):
        if kinds[kind] > 1:
            raise InvalidInput(
                f"SCHEDULE_{kind.upper()}_TWICE", f"a schedule has at most one {kind}", field=FIELD,
                title_zh={"advance": "预付款只能有一笔", "balance": "尾款只能有一笔"}[kind], detail_zh=f"付款计划中最多一笔{'预付款' if kind == 'advance' else '尾款'}（{kind}），本计划有 {kinds[kind]} 笔。",
            )
    known = set(milestone_codes)
    paying: dict[str, str] = {}
    for t in given:
        if t.kind != "instalment":
            if t.milestone_code is not None:
                raise InvalidInput(
                    "MILESTONE_ONLY_FOR_INSTALMENT",
                    f"tranche {t.code}: an {t.kind} is not paid on a milestone",
                    field=FIELD,
                    detail_zh=f"付款 {t.code} 是{'预付款' if t.kind == 'advance' else '尾款'}，不按节点支付，请删除 milestone_code。",
                )
            continue
        if t.milestone_code is None:
            raise InvalidInput(
                "INSTALMENT_NEEDS_MILESTONE",
                f"instalment {t.code} must name the contract milestone whose acceptance pays it",
                field=FIELD,
                detail_zh=f"分期付款 {t.code} 须注明验收后支付该笔的合同节点（milestone_code）。",
            )
        if t.milestone_code not in known:
            raise InvalidInput(
                "UNKNOWN_MILESTONE",
                f"instalment {t.code}: the contract has no milestone {t.milestone_code!r}",
                field=FIELD,
                detail_zh=f"分期付款 {t.code}：合同中没有节点 {t.milestone_code}。",
            )
        if t.milestone_code in paying:
            raise InvalidInput(
                "MILESTONE_PAID_TWICE",
                f"milestone {t.milestone_code} already pays instalment {paying[t.milestone_code]}",
                field=FIELD,
                detail_zh=f"节点 {t.milestone_code} 已对应分期付款 {paying[t.milestone_code]}，一个节点只能对应一笔。",
            )
        paying[t.milestone_code] = t.code
    amounts = [_fen(t.amount_yuan, t.code) for t in given]
    total = sum(amounts)
    if total != amount_fen:
        raise InvalidInput(
            "SCHEDULE_SUM_MISMATCH",
            f"the tranches add up to {format_yuan(total)} yuan, the contract is "
            f"{format_yuan(amount_fen)} (difference {format_yuan(total - amount_fen)})",
            field=FIELD,
            details={"tranches_fen": total, "amount_fen": amount_fen},
            detail_zh=f"各笔付款合计 {yuan_zh(total)}，合同金额为 {yuan_zh(amount_fen)}，相差 {yuan_zh(total - amount_fen)}。",
        )
    parts = _split_tranches(given, amounts, contract_split)
    return [
        Tranche(t.code, t.kind, amount, t.milestone_code, t.spending_category or default_category,
                split, _hardware(t, amount))
        for t, amount, split in zip(given, amounts, parts, strict=True)
    ]  # fmt: skip


def require_status(code: str, status: str, *expected: TrancheStatus) -> None:
    if status not in expected:
        raise Conflict(
            "TRANCHE_STATE",
            f"tranche {code} is {status}, not {' or '.join(e.value for e in expected)}",
            detail_zh=f"付款 {code} 当前状态为{TRANCHE_STATUS_ZH.get(status, status)}，须为{'或'.join(TRANCHE_STATUS_ZH[e.value] for e in expected)}才能办理。",
        )


def payment_failed(status: str, paid_by: str | None, failed_payment_id: str) -> TrancheStatus:
    """After the bank failed ``failed_payment_id``: due again if that payment paid the tranche,
    otherwise unchanged (a later payment may already have paid it)."""
    if status == TrancheStatus.PAID and paid_by == failed_payment_id:
        return TrancheStatus.DUE
    return TrancheStatus(status)
