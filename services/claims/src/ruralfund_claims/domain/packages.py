"""Procurement packages (包组): how a program's purchase-of-service money is tendered.

Ruyuan's attachment 1 (项目招投标) leaves "the package set-up and the money of each" to the
tender: a package belongs to one budget line, covers one or more of its service items, has a
budget, a procurement method and the winning provider (中标企业). A contract signed under a
package stays within the package's budget and is signed with its winner.

Money committed on an item is either a package's budget (the whole budget of every package
covering the item, also when the package covers other items: conservative, never over-commits)
or a contract signed outside any package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, yuan_zh

from .program import Item, Program

__all__ = [
    "MAX_PACKAGE_ITEMS",
    "PROCUREMENT_NAMES_ZH",
    "Package",
    "PackageIn",
    "ProcurementMethod",
    "checked_package_items",
    "require_package_within_items",
    "require_renewal_consistent",
    "require_winner",
    "require_within_package",
]

MAX_PACKAGE_ITEMS: Final = 16

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class ProcurementMethod(StrEnum):
    PUBLIC_TENDER = "public_tender"  # 公开招标
    COMPETITIVE_CONSULTATION = "competitive_consultation"  # 竞争性磋商
    RENEWAL = "renewal"  # 续签: the earlier phase's contractor continues
    SINGLE_SOURCE = "single_source"  # 单一来源采购
    INQUIRY = "inquiry"  # 询价


PROCUREMENT_NAMES_ZH: Final = {
    ProcurementMethod.PUBLIC_TENDER: "公开招标",
    ProcurementMethod.COMPETITIVE_CONSULTATION: "竞争性磋商",
    ProcurementMethod.RENEWAL: "续签",
    ProcurementMethod.SINGLE_SOURCE: "单一来源采购",
    ProcurementMethod.INQUIRY: "询价",
}


class PackageIn(BaseModel):
    """A package as the tender awarded it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    code: Code
    name: Text
    line_code: Code
    item_codes: list[Code] = Field(min_length=1, max_length=MAX_PACKAGE_ITEMS)
    budget_yuan: Annotated[str, Field(max_length=40, description='e.g. "900,000.00"')]
    method: ProcurementMethod
    renews: Text | None = Field(
        default=None,
        description="renewal only: the earlier contract (合同编号) or phase it renews (续签)",
    )
    winner_credit_code: Annotated[str, Field(min_length=18, max_length=18)]
    awarded_on: date
    tender_ref: Text | None = Field(default=None, description="招标/采购项目编号")


def require_renewal_consistent(method: ProcurementMethod, renews: str | None) -> None:
    """A renewal (续签) names what it renews; another method renews nothing."""
    if method is ProcurementMethod.RENEWAL and not (renews and renews.strip()):
        raise InvalidInput(
            "RENEWAL_NEEDS_PREDECESSOR",
            "a renewal (续签) must name the earlier contract or phase it renews",
            field="renews",
            detail_zh="续签（renewal）采购须在“renews”中注明所续签的合同或前一期。",
        )
    if method is not ProcurementMethod.RENEWAL and renews is not None:
        raise InvalidInput(
            "RENEWS_ONLY_FOR_RENEWAL",
            f"a package procured by {method.value} renews nothing; use method renewal",
            field="renews",
            detail_zh=f"以 {method.value} 方式采购的包不是续签，不能填写“renews”；续签请选择 renewal。",
        )


def checked_package_items(program: Program, line_code: str, item_codes: list[str]) -> list[Item]:
    """The package's items: distinct service items of its line."""
    lines = {line.code: line for line in program.lines}
    line = lines.get(line_code)
    if line is None:
        raise InvalidInput(
            "LINE_NOT_FOUND",
            f"program {program.code} has no line {line_code!r}",
            field="line_code",
            detail_zh=f"方案 {program.code} 中没有建设内容 {line_code}。",
        )
    if len(set(item_codes)) != len(item_codes):
        raise InvalidInput(
            "DUPLICATE_CODE",
            f"an item is listed twice: {item_codes}",
            field="item_codes",
            detail_zh=f"项目列表（item_codes）中有重复的项目：{'、'.join(item_codes)}。",
        )
    items = {item.code: item for item in line.items}
    found = []
    for code in item_codes:
        item = items.get(code)
        if item is None:
            raise InvalidInput(
                "ITEM_NOT_IN_LINE",
                f"line {line_code} has no item {code!r}: a package covers items of its own line",
                field="item_codes",
                detail_zh=f"建设内容 {line_code} 中没有项目 {code}：采购包只能包含本建设内容下的项目。",
            )
        if item.mode != "service":
            raise InvalidInput(
                "ITEM_NOT_SERVICE",
                f"item {code} is a reward (以奖代补): enterprises claim it, nothing is tendered",
                field="item_codes",
                detail_zh=f"项目 {code} 是以奖代补项目，由企业申报，不进行采购。",
            )
        found.append(item)
    return found


def require_package_within_items(items: list[Item], committed_fen: int, budget_fen: int) -> None:
    """The package's budget fits what its items have not committed yet."""
    if budget_fen <= 0:
        raise InvalidInput(
            "AMOUNT_INVALID",
            "a package budget must be positive",
            field="budget_yuan",
            detail_zh="采购包预算必须大于零。",
        )
    items_fen = sum(item.budget_fen for item in items)
    left = items_fen - committed_fen
    if budget_fen > left:
        codes = ", ".join(item.code for item in items)
        raise Conflict(
            "PACKAGE_EXCEEDS_BUDGET",
            f"items {codes} have {format_yuan(left)} yuan uncommitted of {format_yuan(items_fen)}; "
            f"the package is {format_yuan(budget_fen)}",
            field="budget_yuan",
            details={"left_fen": left, "items_budget_fen": items_fen, "budget_fen": budget_fen},
            detail_zh=f"项目 {'、'.join(item.code for item in items)} 预算合计 {yuan_zh(items_fen)}，尚未安排 {yuan_zh(left)}；本采购包预算 {yuan_zh(budget_fen)}，超出可安排金额。",
        )


@dataclass(frozen=True)
class Package:
    """What a contract needs to know of its package."""

    code: str
    item_codes: tuple[str, ...]
    budget_fen: int
    winner_credit_code: str


def require_winner(package: Package, item_code: str, provider_credit_code: str) -> None:
    """A contract under a package is for one of its items and signed with its winner."""
    if item_code not in package.item_codes:
        raise InvalidInput(
            "ITEM_NOT_IN_PACKAGE",
            f"package {package.code} covers {', '.join(package.item_codes)}, not {item_code}",
            field="item_code",
            detail_zh=f"采购包 {package.code} 包含的项目为 {'、'.join(package.item_codes)}，不包括 {item_code}。",
        )
    if provider_credit_code != package.winner_credit_code:
        raise InvalidInput(
            "PROVIDER_NOT_WINNER",
            f"package {package.code} was awarded to {package.winner_credit_code}, "
            f"not {provider_credit_code}",
            field="provider_credit_code",
            detail_zh=f"采购包 {package.code} 的中标单位是 {package.winner_credit_code}，不是 {provider_credit_code}。",
        )


def require_within_package(package: Package, contracted_fen: int, amount_fen: int) -> None:
    """The package's contracts together never exceed its budget."""
    if amount_fen <= 0:
        raise InvalidInput(
            "AMOUNT_INVALID",
            "a contract amount must be positive",
            field="amount_yuan",
            detail_zh="合同金额必须大于零。",
        )
    left = package.budget_fen - contracted_fen
    if amount_fen > left:
        raise Conflict(
            "CONTRACT_EXCEEDS_PACKAGE",
            f"package {package.code} has {format_yuan(left)} yuan left of "
            f"{format_yuan(package.budget_fen)}; the contract is {format_yuan(amount_fen)}",
            field="amount_yuan",
            details={
                "left_fen": left,
                "package_budget_fen": package.budget_fen,
                "amount_fen": amount_fen,
            },
            detail_zh=f"采购包 {package.code} 预算 {yuan_zh(package.budget_fen)}，尚余 {yuan_zh(left)}；本合同金额 {yuan_zh(amount_fen)}，超出剩余预算。",
        )
