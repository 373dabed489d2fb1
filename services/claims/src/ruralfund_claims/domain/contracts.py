"""Purchase-of-service items (购买服务) are contracts, not claims.

The bureau records the contract signed with the provider chosen by tender or competitive
consultation: its amount (never more than what is left of the item's budget), the deliverables
the program file promises for the item (anchor training: at least 100 trainee-times …) plus any
the contract adds, and its milestones. The provider reports actual figures; the bureau accepts
milestones; acceptance (验收) of the contract passes only when every deliverable is met and
every milestone accepted, or is recorded as failed with its reason (Xinping §六: a contractor
that fails so that acceptance is affected has its funds recovered — a later issue pays and
claws back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, yuan_zh

from .claim import MAX_NOTE_CHARS
from .program import Item
from .schedule import MAX_SPLIT_ITEMS, MAX_TRANCHES, ItemShareIn, TrancheIn
from .targets import Deliverable, DeliverableDoc, TargetValue, deliverable_from_doc, is_met

__all__ = [
    "MAX_CONTRACT_MILESTONES",
    "ContractIn",
    "ContractMilestoneIn",
    "ContractStatus",
    "DeliverableState",
    "MilestoneAcceptanceIn",
    "acceptance_gaps",
    "acceptance_gaps_zh",
    "acceptance_record",
    "contract_deliverables",
    "require_active",
    "require_service_item",
    "require_within_budget",
]

MAX_CONTRACT_MILESTONES: Final = 32
MAX_EXTRA_DELIVERABLES: Final = 16
MAX_ACCEPTORS: Final = 16
MAX_ACCEPTANCE_FILES: Final = 20

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class ContractStatus(StrEnum):
    ACTIVE = "active"
    ACCEPTED = "accepted"  # 验收合格
    FAILED = "failed"  # 验收不合格: funds to be recovered


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ContractMilestoneIn(_In):
    code: Code
    name: Text
    due_on: date


class ContractIn(_In):
    """The contract as signed (合同): who, how much, until when, what and by when."""

    contract_no: Annotated[str, Field(min_length=1, max_length=100, description="合同编号")]
    provider_credit_code: Annotated[str, Field(min_length=18, max_length=18)]
    amount_yuan: Annotated[str, Field(max_length=40, description='e.g. "480,000.00"')]
    signed_on: date
    ends_on: date
    procurement: Text | None = Field(default=None, description="e.g. 竞争性磋商, 公开招标")
    milestones: list[ContractMilestoneIn] = Field(
        default_factory=list, max_length=MAX_CONTRACT_MILESTONES
    )
    # Deliverables beyond those the program file promises for the item.
    extra_deliverables: list[DeliverableDoc] = Field(
        default_factory=list, max_length=MAX_EXTRA_DELIVERABLES
    )
    package_code: Code | None = Field(default=None, description="the procurement package (包组)")
    # Optional: a contract without one is paid outside this system's schedule.
    payment_schedule: list[TrancheIn] | None = Field(default=None, max_length=MAX_TRANCHES)
    # A package covering several items (Ruyuan's logistics package: 1,500,000.00 + 700,000.00):
    # the contract's amount split across them, adding up exactly; item_code is one of them.
    items: list[ItemShareIn] | None = Field(
        default=None, min_length=1, max_length=MAX_SPLIT_ITEMS,
        description="the contract's amount split across its package's items",
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> ContractIn:
        if self.ends_on < self.signed_on:
            raise ValueError("ends_on is before signed_on")
        codes = [m.code for m in self.milestones]
        if len(codes) != len(set(codes)):
            raise ValueError(f"milestone codes must be unique: {codes}")
        return self


class MilestoneAcceptanceIn(_In):
    """验收 of a contract milestone: when, by whom, on what evidence."""

    accepted_on: date | None = Field(default=None, description="default: today (Asia/Shanghai)")
    accepted_by: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=MAX_ACCEPTORS,
        description="the accepting people (验收人员); default: the person recording it",
    )
    evidence_file_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=MAX_ACCEPTANCE_FILES,
        description="files attached to the contract (POST /contracts/{id}/files)",
    )  # fmt: skip
    note: Annotated[str, Field(max_length=MAX_NOTE_CHARS)] | None = None


def acceptance_record(
    accepted_on: date | None,
    names: list[str],
    *,
    recorder_name: str,
    today: date,
    signed_on: date,
) -> tuple[date, tuple[str, ...]]:
    """The acceptance day (not in the future, not before signing) and the accepting people
    (at least one: the recorder when none is named; each name once, in the given order)."""
    day = accepted_on or today
    if day > today:
        raise InvalidInput(
            "ACCEPTED_ON_IN_FUTURE", f"{day} is after today ({today})", field="accepted_on",
            title_zh="验收日期不能晚于今天",
            detail_zh=f"验收日期 {_day_zh(day)} 晚于今天（{_day_zh(today)}）。",
        )  # fmt: skip
    if day < signed_on:
        raise InvalidInput(
            "ACCEPTED_ON_BEFORE_SIGNING",
            f"{day} is before the contract was signed ({signed_on})",
            field="accepted_on",
            title_zh="验收日期不能早于合同签订日",
            detail_zh=f"验收日期 {_day_zh(day)} 早于合同签订日 {_day_zh(signed_on)}。",
        )
    people = tuple(dict.fromkeys(n.strip() for n in names if n.strip())) or (recorder_name,)
    return day, people


def _day_zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def require_service_item(item: Item) -> None:
    if item.mode != "service":
        raise InvalidInput(
            "ITEM_NOT_SERVICE",
            f"item {item.code} is a reward (以奖代补): enterprises claim it, nobody is contracted",
            field="item_code",
            detail_zh=f"项目 {item.code} 是以奖代补项目，由企业申报，不签订服务合同。",
        )


def require_within_budget(item: Item, amount_fen: int, contracted_fen: int) -> None:
    """The item's live contracts together never exceed its budget."""
    if amount_fen <= 0:
        raise InvalidInput(
            "AMOUNT_INVALID", "a contract amount must be positive", field="amount_yuan",
            detail_zh="合同金额必须大于零。",
        )
    left = item.budget_fen - contracted_fen
    if amount_fen > left:
        raise Conflict(
            "CONTRACT_EXCEEDS_BUDGET",
            f"item {item.code} has {format_yuan(left)} yuan left of {format_yuan(item.budget_fen)}; "
            f"the contract is {format_yuan(amount_fen)}",
            field="amount_yuan",
            details={
                "left_fen": left,
                "item_budget_fen": item.budget_fen,
                "amount_fen": amount_fen,
            },
            detail_zh=f"项目 {item.code} 预算 {yuan_zh(item.budget_fen)}，尚余 {yuan_zh(left)}；本合同金额 {yuan_zh(amount_fen)}，超出剩余预算。",
        )


def contract_deliverables(item: Item, extra: list[DeliverableDoc]) -> list[Deliverable]:
    """The program's deliverables for the item, then the contract's own (codes unique)."""
    known = {d.code for d in item.deliverables}
    for d in extra:
        if d.code in known:
            raise InvalidInput(
                "DUPLICATE_CODE",
                f"deliverable {d.code} is already promised by the program for {item.code}",
                field="extra_deliverables",
                detail_zh=f"交付内容 {d.code} 已由方案为项目 {item.code} 规定，不能重复列入。",
            )
        known.add(d.code)
    try:
        return [*item.deliverables, *(deliverable_from_doc(d) for d in extra)]
    except ValueError as exc:  # a min_yuan that is not an amount
        raise InvalidInput("AMOUNT_INVALID", str(exc), field="extra_deliverables",
            detail_zh="“extra_deliverables”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。") from None


def require_active(status: str) -> None:
    if status != ContractStatus.ACTIVE:
        state_zh = {"accepted": "已验收合格", "failed": "已验收不合格"}.get(status, status)
        raise Conflict(
            "CONTRACT_CLOSED",
            f"the contract is {status}: its acceptance is recorded, nothing more can change",
            title_zh="合同已验收，不能再更改",
            detail_zh=f"该合同{state_zh}，验收结果已记录，不能再报告或验收。",
        )


@dataclass(frozen=True)
class DeliverableState:
    code: str
    name: str
    bound: TargetValue
    actual: int | None
    alternative_to: str | None = None

    @property
    def met(self) -> bool | None:
        return is_met(self.bound, self.actual)


def _open_gaps(
    deliverables: list[DeliverableState], milestones: list[tuple[str, Literal["pending", "accepted"]]]
) -> tuple[list[tuple[DeliverableState, DeliverableState | None]], list[str]]:
    """The deliverables not met (each with the alternative that would also do) and the codes
    of the milestones not accepted."""
    met = {d.code: d.met is True for d in deliverables}
    by_code = {d.code: d for d in deliverables}
    short: list[tuple[DeliverableState, DeliverableState | None]] = []
    reported: set[str] = set()
    for d in deliverables:
        alternative = by_code.get(d.alternative_to or "")
        if met[d.code] or (alternative and met[alternative.code]) or d.code in reported:
            continue
        if alternative is not None:  # a pair: either suffices, so one gap names both
            reported.add(alternative.code)
        short.append((d, alternative))
    return short, [code for code, status in milestones if status != "accepted"]


def acceptance_gaps(
    deliverables: list[DeliverableState],
    milestones: list[tuple[str, Literal["pending", "accepted"]]],
) -> list[str]:
    """What stands between the contract and a passed acceptance (empty when nothing does)."""
    short, pending = _open_gaps(deliverables, milestones)
    gaps = [
        _gap(d) + (" — or " + _gap(alt).removeprefix("deliverable ") if alt else "")
        for d, alt in short
    ]
    return gaps + [f"milestone {code} is not accepted" for code in pending]


def acceptance_gaps_zh(
    deliverables: list[DeliverableState],
    milestones: list[tuple[str, Literal["pending", "accepted"]]],
    milestone_names: dict[str, str],
) -> list[str]:
    """The same gaps as people read them, with the figures: 「培训对象：实际 99，要求不低于 100」."""
    short, pending = _open_gaps(deliverables, milestones)
    gaps = [_gap_zh(d) + (f"（或{_gap_zh(alt)}）" if alt else "") for d, alt in short]
    return gaps + [f"节点「{milestone_names.get(c, c)}」尚未验收" for c in pending]


def _gap(d: DeliverableState) -> str:
    return f"deliverable {d.code} ({d.name}): {_actual(d)}, required {d.bound.text()}"


def _gap_zh(d: DeliverableState) -> str:
    unit = " 元" if d.bound.money else ""
    actual = "未报告" if d.actual is None else f"实际 {_actual(d)}{unit}"
    bound = d.bound.text().replace(">= ", "不低于 ").replace("<= ", "不高于 ")
    return f"「{d.name}」{actual}，要求{bound}{unit if bound != '-' else ''}"


def _actual(d: DeliverableState) -> str:
    if d.actual is None:
        return "not reported"
    return format_yuan(d.actual) if d.bound.money else f"{d.actual:,}"
