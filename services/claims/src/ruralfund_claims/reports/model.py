"""The execution report as data: built from plain inputs, rendered by ``xlsx`` and ``pdf``.

Pure (no I/O): :func:`build_report` takes the checked :class:`Program` and what claims knows
of its money, contracts, milestones and target actuals, and returns an
:class:`ExecutionReport` whose money figures add up exactly in fen (asserted: an item row, its
line and the program total can never disagree in a report handed to an acceptance review).

Definitions (they are printed in the report's notes too):

* committed (承诺) = signed service contracts + approved awards (approved, reserved, in
  publicity or paid) of reward items;
* paid (已支付) = awards paid (funds' PaymentExecuted per claim) + contract tranches paid;
* remaining (剩余) = budget − paid; uncommitted (未承诺) = budget − committed.

Share rules (资金使用比例) are shown on the plan (``domain.ratios`` on the budgets) and on
actual spend: the earlier phases' plan figures taken as their spend plus what this phase has
paid, over the cumulative fund of all phases (the denominator the plan's rule uses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from typing import Any, Final, Literal

from ruralfund_common.calendar import date_zh
from ruralfund_common.money import format_yuan, yuan_zh

from ..domain.program import PHASE_NAMES_ZH, Item, Program
from ..domain.ratios import PhaseFigures, RatioResult, RatioRuleDoc, evaluate_ratio
from ..domain.targets import TargetValue, is_met

__all__ = [
    "CATEGORY_ZH",
    "CONTRACT_STATUS_ZH",
    "METHOD_ZH",
    "MILESTONE_STATUS_ZH",
    "RATIO_STATUS_ZH",
    "REPORT_TITLE_SUFFIX",
    "STATUS_ZH",
    "TRANCHE_KIND_ZH",
    "TRANCHE_STATUS_ZH",
    "ClawbackFacts",
    "ClawbackRow",
    "ContractFacts",
    "ContractRow",
    "DeliverableFacts",
    "DeliverableRow",
    "ExecutionReport",
    "Figures",
    "Header",
    "ItemRow",
    "ItemSpend",
    "LineRow",
    "MilestoneFacts",
    "MilestoneRow",
    "PackageFacts",
    "PackageRow",
    "RatioFigures",
    "RatioRow",
    "TargetRow",
    "TrancheFacts",
    "TrancheRow",
    "build_report",
    "document_title",
    "jsonable",
    "milestone_status",
]

REPORT_TITLE_SUFFIX: Final = "电子商务进农村综合示范项目执行情况报告"
MAX_NOTES: Final = 32

Status = Literal["met", "not_met", "not_reported", "not_measured", "tracked"]
STATUS_ZH: Final[Mapping[str, str]] = {
    "met": "已达成",
    "not_met": "未达成",
    "not_reported": "未报告",
    "not_measured": "不由本系统计量",
    "tracked": "仅跟踪（无指标值）",
}
MilestoneStatus = Literal["on_time", "late", "overdue", "pending"]
MILESTONE_STATUS_ZH: Final[Mapping[str, str]] = {
    "on_time": "按时完成",
    "late": "逾期完成",
    "overdue": "已逾期未完成",
    "pending": "未到期",
}
RATIO_STATUS_ZH: Final[Mapping[str, str]] = {
    "met": "符合",
    "breached_max": "超过上限",
    "breached_min": "低于下限",
    "unverified": "无法核实（缺少数据）",
}
TRANCHE_KIND_ZH: Final[Mapping[str, str]] = {
    "advance": "前期资金拨付",
    "instalment": "进度款（节点验收后）",
    "balance": "尾款（最终验收后）",
}
TRANCHE_STATUS_ZH: Final[Mapping[str, str]] = {
    "scheduled": "未到付款条件",
    "due": "应付（待支付）",
    "paid": "已支付",
    "refused": "被拒付",
}
# Why funds refused a tranche's payment (its CommandRefused codes), as the report shows it;
# an unknown code is shown as "原因代码 X" so the reader can still quote it.
REFUSAL_ZH: Final[Mapping[str, str]] = {
    "INSUFFICIENT_FUNDS": "共管账户余额不足",
    "RATIO_LIMIT_EXCEEDED": "超过资金使用比例上限",
    "RATIO_JUSTIFICATION_REQUIRED": "偏离“原则上”资金使用比例，须领导小组决定",
    "JOINT_ACCOUNT_FROZEN": "共管账户已冻结（承办企业违约）",
    "CONTRACTOR_IN_DEFAULT": "收款单位已被认定违约",
    "ALREADY_PAID": "已支付过",
    "CALENDAR_YEAR_UNKNOWN": "缺少该年度节假日安排",
    "BANK_REJECTED": "银行退回",
}
# Spending categories the program files use (an unknown one is shown by its code).
CATEGORY_ZH: Final[Mapping[str, str]] = {
    "hardware": "硬件设备购置和装修",
    "logistics": "物流配送",
    "training": "培训",
    "livestream": "直播",
    "branding": "品牌建设",
    "promotion": "宣传推广",
    "public-service": "公共服务",
    "supply-chain": "供应链",
    "product-development": "产品开发",
    "retail-upgrade": "商贸流通升级",
    "station-operation": "站点运营",
    "warehousing": "仓储",
}
METHOD_ZH: Final[Mapping[str, str]] = {
    "public_tender": "公开招标",
    "competitive_consultation": "竞争性磋商",
    "renewal": "续签",
    "single_source": "单一来源采购",
    "inquiry": "询价",
}
CONTRACT_STATUS_ZH: Final[Mapping[str, str]] = {
    "active": "执行中",
    "accepted": "验收合格",
    "failed": "验收不合格（资金应追回）",
}
MODE_ZH: Final[Mapping[str, str]] = {"reward": "以奖代补", "service": "购买服务"}
STAGE_ZH: Final[Mapping[str, str]] = {
    "preparation": "项目筹备阶段",
    "implementation": "项目实施阶段",
    "acceptance": "项目验收阶段",
    "operation": "项目持续运营",
}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ItemSpend:
    """What claims knows of one item's money, in fen."""

    awards_approved_fen: int = 0  # approved awards: approved, reserved, in publicity, paid
    awards_paid_fen: int = 0
    contracts_fen: int = 0  # signed service contracts
    tranches_paid_fen: int = 0  # contract tranches paid
    # Tranche money paid under a spending category other than the item's own (e.g. a studio
    # fit-out classified as hardware); the rest of the item's paid money is the item's category.
    tranches_paid_by_category: Mapping[str, int] = field(default_factory=dict)
    # Parts of paid tranches a share rule measures, named by the contract (e.g. the hardware
    # amount of a tranche, for Ruyuan's ≤10 % rule).
    tranches_paid_measures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RatioDecision:
    """The leading group's decision to depart from an "in principle" (原则上) share rule, as
    funds recorded it on the payment (who, when, why)."""

    rule_code: str
    contract_no: str
    tranche_code: str
    amount_fen: int
    text: str
    decided_by: str
    decided_at: date

    @property
    def text_zh(self) -> str:
        # the tranche by its amount: its code is the system's, not the reader's
        return (f"合同{self.contract_no}付款 {yuan_zh(self.amount_fen)}："
                f"{self.text}（{self.decided_by}，{date_zh(self.decided_at)}）")


@dataclass(frozen=True)
class ClawbackFacts:
    """A contractor's default as funds reported it (Xinping §六 收回全部项目建设资金), with the
    repayments funds recorded since (each to the finance bureau)."""

    credit_code: str
    name: str
    resolution_no: str
    resolution_date: date
    returned_fen: int  # the frozen joint account's unspent money, back at the finance bureau
    receivable_fen: int  # everything paid to the defaulter, now owed back
    repaid_fen: int = 0
    repayments: int = 0


@dataclass(frozen=True)
class ClawbackRow:
    credit_code: str
    name: str
    resolution_no: str
    resolution_date: date
    returned_fen: int
    receivable_fen: int
    repaid_fen: int
    outstanding_fen: int  # receivable - repaid
    summary_zh: str


def clawback_row(f: ClawbackFacts) -> ClawbackRow:
    outstanding = f.receivable_fen - f.repaid_fen
    text = (f"违约收回：{f.name}（{f.credit_code}）经领导小组{f.resolution_no}"
            f"（{date_zh(f.resolution_date)}）认定违约，"
            f"已退回财政 {yuan_zh(f.returned_fen)}，应收违约方 {yuan_zh(f.receivable_fen)}")
    if f.repayments:
        text += f"，已收回 {yuan_zh(f.repaid_fen)}（缴回县财政局），尚欠 {yuan_zh(outstanding)}"
    return ClawbackRow(f.credit_code, f.name, f.resolution_no, f.resolution_date, f.returned_fen,
                       f.receivable_fen, f.repaid_fen, outstanding, text + "。")


@dataclass(frozen=True)
class DeliverableFacts:
    code: str
    name: str
    unit: str
    bound: TargetValue
    actual: int | None
    alternative_to: str | None = None


@dataclass(frozen=True)
class MilestoneFacts:
    code: str
    name: str
    due_on: date
    accepted_on: date | None  # the county day of the acceptance
    responsible: str = ""
    stage: str | None = None


@dataclass(frozen=True)
class PackageFacts:
    """A procurement package (包组) as the tender awarded it, with what its contracts commit."""

    code: str
    name: str
    line_code: str
    item_codes: tuple[str, ...]
    budget_fen: int
    method: str
    winner_name: str
    awarded_on: date
    contracted_fen: int
    tender_ref: str | None = None
    renews: str | None = None


@dataclass(frozen=True)
class TrancheFacts:
    """One tranche of a contract's payment schedule (前期资金拨付 / 进度款 / 尾款)."""

    code: str
    kind: str  # advance | instalment | balance
    amount_fen: int
    status: str  # scheduled | due | paid | refused
    milestone_code: str | None = None
    spending_category: str | None = None
    paid_fen: int | None = None
    paid_on: date | None = None
    refusal_code: str | None = None


@dataclass(frozen=True)
class ContractFacts:
    contract_no: str
    item_code: str
    provider_name: str
    provider_credit_code: str
    amount_fen: int
    signed_on: date
    ends_on: date
    procurement: str | None
    status: str
    paid_fen: int = 0
    deliverables: tuple[DeliverableFacts, ...] = ()
    milestones: tuple[MilestoneFacts, ...] = ()
    package_code: str | None = None
    tranches: tuple[TrancheFacts, ...] = ()


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Figures:
    budget_fen: int
    committed_fen: int
    paid_awards_fen: int
    paid_contracts_fen: int
    paid_fen: int
    remaining_fen: int  # budget - paid
    uncommitted_fen: int  # budget - committed

    @staticmethod
    def of(budget: int, committed: int, paid_awards: int, paid_contracts: int) -> Figures:
        paid = paid_awards + paid_contracts
        return Figures(
            budget, committed, paid_awards, paid_contracts, paid, budget - paid, budget - committed
        )

    @staticmethod
    def total(parts: Sequence[Figures]) -> Figures:
        return Figures.of(
            sum(p.budget_fen for p in parts),
            sum(p.committed_fen for p in parts),
            sum(p.paid_awards_fen for p in parts),
            sum(p.paid_contracts_fen for p in parts),
        )


@dataclass(frozen=True)
class ItemRow:
    code: str
    name: str
    mode: str
    mode_zh: str
    spending_category: str | None
    figures: Figures


@dataclass(frozen=True)
class LineRow:
    code: str
    name: str
    figures: Figures
    items: tuple[ItemRow, ...]


@dataclass(frozen=True)
class Header:
    title: str
    program_code: str
    program_name: str
    county_code: str
    county_name: str
    year: int
    phase: str
    phase_zh: str
    document: str | None
    as_of: date
    generated_by: str
    total_fen: int
    compiled_by: str = ""  # 编制单位 of the sign-off: the program's 主管部门


@dataclass(frozen=True)
class TargetRow:
    code: str
    name: str
    unit: str
    target: str
    actual: str
    status: Status
    status_zh: str
    source: str


@dataclass(frozen=True)
class DeliverableRow:
    contract_no: str
    item_code: str
    provider_name: str
    code: str
    name: str
    unit: str
    target: str
    actual: str
    status: Status
    status_zh: str
    alternative_to: str | None


@dataclass(frozen=True)
class ContractRow:
    contract_no: str
    package_code: str | None
    item_code: str
    item_name: str
    provider_name: str
    provider_credit_code: str
    procurement: str | None
    signed_on: date
    ends_on: date
    amount_fen: int
    paid_fen: int
    unpaid_fen: int
    status: str
    status_zh: str
    deliverables_met: int
    deliverables_total: int
    milestones_accepted: int
    milestones_total: int


@dataclass(frozen=True)
class PackageRow:
    code: str
    name: str
    line_name: str
    item_names: str
    method: str
    method_zh: str
    budget_fen: int
    contracted_fen: int
    uncontracted_fen: int
    winner_name: str
    awarded_on: date
    tender_ref: str | None
    renews: str | None


@dataclass(frozen=True)
class TrancheRow:
    contract_no: str
    provider_name: str
    code: str
    number: int  # 第 n 期 of its contract's schedule, from 1
    kind: str
    kind_zh: str
    milestone_code: str | None
    milestone_name: str | None  # the contract milestone the instalment waits for
    spending_category: str | None
    spending_category_zh: str | None
    amount_fen: int
    paid_fen: int
    status: str
    status_zh: str
    paid_on: date | None


@dataclass(frozen=True)
class MilestoneRow:
    plan: str  # "实施计划" or the contract number
    code: str
    name: str
    stage_zh: str
    responsible: str
    due_on: date
    accepted_on: date | None
    status: MilestoneStatus
    status_zh: str
    days_late: int  # accepted late: days after due; overdue: days since due; else 0


@dataclass(frozen=True)
class RatioFigures:
    numerator_fen: int
    denominator_fen: int
    share_percent: str
    status: str  # met | breached_max | breached_min | unverified
    status_zh: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class RatioRow:
    code: str
    name: str
    wording: str | None
    bound: Literal["min", "max"]
    limit_percent: str
    limit_text: str  # "≤ 10%"
    on_breach: str
    plan: RatioFigures
    actual: RatioFigures
    paid_this_phase_fen: int
    # the leading group's decisions to depart from it (原则上 rules), payment by payment
    decisions: tuple[RatioDecision, ...] = ()

    @property
    def decisions_zh(self) -> str:
        return "；".join(d.text_zh for d in self.decisions)


@dataclass(frozen=True)
class ExecutionReport:
    header: Header
    lines: tuple[LineRow, ...]
    totals: Figures
    targets: tuple[TargetRow, ...]
    packages: tuple[PackageRow, ...]
    contracts: tuple[ContractRow, ...]
    deliverables: tuple[DeliverableRow, ...]
    tranches: tuple[TrancheRow, ...]
    milestones: tuple[MilestoneRow, ...]
    ratios: tuple[RatioRow, ...]
    notes: tuple[str, ...]
    # Xinping §六: what each defaulter's clawback returned and owes (also in the notes)
    clawbacks: tuple[ClawbackRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self)
        return out


def jsonable(value: Any) -> Any:
    """Dataclasses as dicts, dates as ISO text, every ``*_fen`` also as ``*_yuan`` text."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            v = getattr(value, f.name)
            out[f.name] = jsonable(v)
            if f.name.endswith("_fen") and isinstance(v, int):
                out[f.name.removesuffix("_fen") + "_yuan"] = format_yuan(v)
        return out
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- building


def build_report(
    program: Program,
    *,
    plan_ratios: Sequence[RatioResult],
    spend: Mapping[str, ItemSpend],
    contracts: Sequence[ContractFacts],
    packages: Sequence[PackageFacts] = (),
    milestones: Sequence[MilestoneFacts],
    target_actuals: Mapping[str, int | None],
    as_of: date,
    generated_by: str,
    document: str | None = None,
    notes: Sequence[str] = (),
    ratio_decisions: Sequence[RatioDecision] = (),
    clawbacks: Sequence[ClawbackFacts] = (),
) -> ExecutionReport:
    """The report of ``program`` as of the county day ``as_of``."""
    unknown = sorted(set(spend) - {item.code for item in program.items()})
    assert not unknown, f"spend for items the program does not have: {unknown}"
    lines = tuple(_line_row(program, i, spend) for i in range(len(program.lines)))
    totals = Figures.total([line.figures for line in lines])
    _assert_adds_up(program, lines, totals)
    items = {item.code: item for item in program.items()}
    contract_rows = tuple(_contract_row(c, items) for c in contracts)
    clawback_rows = tuple(clawback_row(c) for c in clawbacks)
    return ExecutionReport(
        header=_header(program, as_of, generated_by, document),
        lines=lines,
        totals=totals,
        targets=_target_rows(program, target_actuals),
        packages=tuple(_package_row(program, p) for p in packages),
        contracts=contract_rows,
        deliverables=tuple(_deliverable_row(c, d) for c in contracts for d in c.deliverables),
        tranches=tuple(
            _tranche_row(c, t, n) for c in contracts for n, t in enumerate(c.tranches, start=1)
        ),
        milestones=_milestone_rows(milestones, contracts, as_of),
        ratios=_ratio_rows(program, plan_ratios, lines, spend, ratio_decisions),
        notes=_notes(program, [*_recovery_note(contract_rows),
                               *(c.summary_zh for c in clawback_rows), *notes]),
        clawbacks=clawback_rows,
    )


# A file reference after a document's title, e.g. "（乳府办〔2023〕19号） (seeds/000_x.txt)":
# where the program file came from, not part of the title a reader quotes.
_FILE_REFERENCE: Final = re.compile(
    r"\s*[(（]\s*[A-Za-z0-9_./\\-]*[/\\][A-Za-z0-9_./\\-]*\s*[)）]\s*$", re.ASCII
)


def document_title(document: str | None) -> str | None:
    """The basis document's title as a reader quotes it: without a trailing file path."""
    if document is None:
        return None
    return _FILE_REFERENCE.sub("", document).strip() or None


def _header(program: Program, as_of: date, generated_by: str, document: str | None) -> Header:
    return Header(
        title=f"{program.county_name}{REPORT_TITLE_SUFFIX}",
        program_code=program.code,
        program_name=program.name,
        county_code=program.county_code,
        county_name=program.county_name,
        year=program.year,
        phase=program.phase,
        phase_zh=PHASE_NAMES_ZH.get(program.phase, program.phase),
        document=document_title(document),
        as_of=as_of,
        generated_by=generated_by,
        total_fen=program.total_fen,
        compiled_by=program.bureau_name or f"{program.county_name}商务主管部门",
    )


def _item_figures(item: Item, s: ItemSpend) -> Figures:
    committed = s.contracts_fen + s.awards_approved_fen
    return Figures.of(item.budget_fen, committed, s.awards_paid_fen, s.tranches_paid_fen)


def _line_row(program: Program, index: int, spend: Mapping[str, ItemSpend]) -> LineRow:
    line = program.lines[index]
    items = tuple(
        ItemRow(
            code=item.code,
            name=item.name,
            mode=item.mode,
            mode_zh=MODE_ZH[item.mode],
            spending_category=item.spending_category,
            figures=_item_figures(item, spend.get(item.code, ItemSpend())),
        )
        for item in line.items
    )
    return LineRow(line.code, line.name, Figures.total([i.figures for i in items]), items)


def _assert_adds_up(program: Program, lines: tuple[LineRow, ...], totals: Figures) -> None:
    """Items add up to their line, lines to the total, budgets to the program: exactly."""
    for line, budget_line in zip(lines, program.lines, strict=True):
        assert line.figures == Figures.total([i.figures for i in line.items]), line.code
        assert line.figures.budget_fen == budget_line.budget_fen, (
            f"line {line.code}: items add up to {line.figures.budget_fen} fen, "
            f"the line is {budget_line.budget_fen}"
        )
    assert totals == Figures.total([line.figures for line in lines])
    assert totals.budget_fen == program.total_fen, (
        f"lines add up to {totals.budget_fen} fen, the program total is {program.total_fen}"
    )
    assert totals.paid_fen == totals.paid_awards_fen + totals.paid_contracts_fen
    assert totals.remaining_fen == totals.budget_fen - totals.paid_fen


def _status(bound: TargetValue, actual: int | None) -> Status:
    if bound.comparison is None:
        return "tracked"
    met = is_met(bound, actual)
    return "not_reported" if met is None else ("met" if met else "not_met")


def _value_text(value: int | None, money: bool = False) -> str:
    if value is None:
        return "—"
    return format_yuan(value) if money else f"{value:,}"


_SOURCES_ZH: Final[Mapping[str, str]] = {
    "none": "统计数据，不由本系统计量",
    "approved_claims": "已批准的申报数：{items}",
    "approved_claim_units": "已批准申报的数量：{items}",
    "approved_claim_enterprises": "获批企业数：{items}",
    "stations_in_band": "物流服务报送的本县站点年交易额",
    "contract_deliverables": "服务商报告的合同交付物：{items}",
}


def _target_rows(program: Program, actuals: Mapping[str, int | None]) -> tuple[TargetRow, ...]:
    names = {item.code: item.name for item in program.items()}
    rows = []
    for t in program.targets:
        actual = actuals.get(t.code)
        status: Status = "not_measured" if t.measure == "none" else _status(t.bound, actual)
        rows.append(
            TargetRow(
                code=t.code,
                name=t.name,
                unit=t.unit,
                target=_bound_text(t.bound),
                actual=_value_text(actual, t.bound.money),
                status=status,
                status_zh=STATUS_ZH[status],
                source=_SOURCES_ZH.get(t.measure, t.measure).format(
                    items="、".join(names.get(c, c) for c in t.item_codes)
                ),
            )
        )
    return tuple(rows)


def _bound_text(bound: TargetValue) -> str:
    if bound.comparison is None or bound.value is None:
        return "—"
    sign = "≥" if bound.comparison == "at_least" else "≤"
    return f"{sign} {_value_text(bound.value, bound.money)}"


def _deliverable_row(c: ContractFacts, d: DeliverableFacts) -> DeliverableRow:
    status = _status(d.bound, d.actual)
    return DeliverableRow(
        contract_no=c.contract_no,
        item_code=c.item_code,
        provider_name=c.provider_name,
        code=d.code,
        name=d.name,
        unit=d.unit,
        target=_bound_text(d.bound),
        actual=_value_text(d.actual, d.bound.money),
        status=status,
        status_zh=STATUS_ZH[status],
        alternative_to=d.alternative_to,
    )


def _package_row(program: Program, p: PackageFacts) -> PackageRow:
    lines = {line.code: line.name for line in program.lines}
    items = {item.code: item.name for item in program.items()}
    return PackageRow(
        code=p.code,
        name=p.name,
        line_name=lines.get(p.line_code, p.line_code),
        item_names="、".join(items.get(c, c) for c in p.item_codes),
        method=p.method,
        method_zh=METHOD_ZH.get(p.method, p.method),
        budget_fen=p.budget_fen,
        contracted_fen=p.contracted_fen,
        uncontracted_fen=p.budget_fen - p.contracted_fen,
        winner_name=p.winner_name,
        awarded_on=p.awarded_on,
        tender_ref=p.tender_ref,
        renews=p.renews,
    )


def _tranche_row(c: ContractFacts, t: TrancheFacts, number: int = 0) -> TrancheRow:
    status = TRANCHE_STATUS_ZH.get(t.status, t.status)
    if t.status == "refused" and t.refusal_code:
        status += f"（{REFUSAL_ZH.get(t.refusal_code) or f'原因代码 {t.refusal_code}'}）"
    milestones = {m.code: m.name for m in c.milestones}
    return TrancheRow(
        contract_no=c.contract_no,
        provider_name=c.provider_name,
        code=t.code,
        number=number,
        kind=t.kind,
        kind_zh=TRANCHE_KIND_ZH.get(t.kind, t.kind),
        milestone_code=t.milestone_code,
        milestone_name=milestones.get(t.milestone_code or "", t.milestone_code),
        spending_category=t.spending_category,
        spending_category_zh=CATEGORY_ZH.get(t.spending_category or "", t.spending_category),
        amount_fen=t.amount_fen,
        paid_fen=(t.paid_fen or t.amount_fen) if t.status == "paid" else 0,
        status=t.status,
        status_zh=status,
        paid_on=t.paid_on,
    )


def _contract_row(c: ContractFacts, items: Mapping[str, Item]) -> ContractRow:
    item = items.get(c.item_code)
    assert item is not None, f"contract {c.contract_no} is for no item of the program"
    if c.tranches:  # the contract's paid money is its paid tranches', to the fen
        paid = sum(_tranche_row(c, t).paid_fen for t in c.tranches)
        assert paid == c.paid_fen, f"contract {c.contract_no}: tranches paid {paid}, {c.paid_fen}"
    met = sum(1 for d in c.deliverables if _status(d.bound, d.actual) in ("met", "tracked"))
    return ContractRow(
        contract_no=c.contract_no,
        package_code=c.package_code,
        item_code=c.item_code,
        item_name=item.name,
        provider_name=c.provider_name,
        provider_credit_code=c.provider_credit_code,
        procurement=c.procurement,
        signed_on=c.signed_on,
        ends_on=c.ends_on,
        amount_fen=c.amount_fen,
        paid_fen=c.paid_fen,
        unpaid_fen=c.amount_fen - c.paid_fen,
        status=c.status,
        status_zh=CONTRACT_STATUS_ZH.get(c.status, c.status),
        deliverables_met=met,
        deliverables_total=len(c.deliverables),
        milestones_accepted=sum(1 for m in c.milestones if m.accepted_on is not None),
        milestones_total=len(c.milestones),
    )


def milestone_status(due_on: date, accepted_on: date | None, as_of: date) -> tuple[str, int]:
    """On time / late (accepted after the due day) / overdue (not accepted, due day passed) /
    pending, with the days late."""
    if accepted_on is not None:
        late = (accepted_on - due_on).days
        return ("late", late) if late > 0 else ("on_time", 0)
    if as_of > due_on:
        return "overdue", (as_of - due_on).days
    return "pending", 0


def _milestone_row(plan: str, m: MilestoneFacts, as_of: date) -> MilestoneRow:
    status, days = milestone_status(m.due_on, m.accepted_on, as_of)
    return MilestoneRow(
        plan=plan,
        code=m.code,
        name=m.name,
        stage_zh=STAGE_ZH.get(m.stage or "", m.stage or ""),
        responsible=m.responsible,
        due_on=m.due_on,
        accepted_on=m.accepted_on,
        status=status,  # type: ignore[arg-type]
        status_zh=MILESTONE_STATUS_ZH[status],
        days_late=days,
    )


def _milestone_rows(
    milestones: Sequence[MilestoneFacts], contracts: Sequence[ContractFacts], as_of: date
) -> tuple[MilestoneRow, ...]:
    rows = [_milestone_row("实施计划", m, as_of) for m in milestones]
    for c in contracts:
        rows += [
            _milestone_row(
                f"合同 {c.contract_no}",
                replace(m, responsible=m.responsible or c.provider_name),
                as_of,
            )
            for m in c.milestones
        ]
    return tuple(rows)


# --------------------------------------------------------------------------- share rules


def _ratio_figures(r: RatioResult) -> RatioFigures:
    status = r.status if r.status != "breached" else f"breached_{r.bound}"
    return RatioFigures(
        r.numerator_fen,
        r.denominator_fen,
        r.share_percent,
        status,
        RATIO_STATUS_ZH[status],
        r.missing,
    )


def _paid_by_category(program: Program, spend: Mapping[str, ItemSpend]) -> dict[str, int]:
    paid: dict[str, int] = {}
    for item in program.items():
        s = spend.get(item.code, ItemSpend())
        elsewhere = sum(s.tranches_paid_by_category.values())
        assert 0 <= elsewhere <= s.tranches_paid_fen, f"item {item.code}: tranche categories"
        for category, fen in s.tranches_paid_by_category.items():
            paid[category] = paid.get(category, 0) + fen
        own = s.awards_paid_fen + s.tranches_paid_fen - elsewhere
        if item.spending_category is not None:
            paid[item.spending_category] = paid.get(item.spending_category, 0) + own
    return paid


def _actual_phases(program: Program, rule: RatioRuleDoc, paid_fen: int) -> list[PhaseFigures]:
    """This phase with what it has paid, then (cumulative rules) each earlier phase with its
    plan figures taken as its spend; a figure the earlier phase does not record stays None."""
    label = f"{PHASE_NAMES_ZH.get(program.phase, program.phase)}（本期已支付）"
    phases = [PhaseFigures(label, program.total_fen, paid_fen)]
    if rule.scope != "cumulative":
        return phases
    for h in program.history:
        if rule.lines is not None:
            known = [h.lines.get(code) for code in rule.lines]
            numerator = None if None in known else sum(v or 0 for v in known)
        else:
            numerator = h.measures.get(rule.measure or "")
        phases.append(PhaseFigures(PHASE_NAMES_ZH.get(h.phase, h.phase), h.total_fen, numerator))
    return phases


def _ratio_rows(
    program: Program,
    plan_ratios: Sequence[RatioResult],
    lines: tuple[LineRow, ...],
    spend: Mapping[str, ItemSpend],
    decisions: Sequence[RatioDecision] = (),
) -> tuple[RatioRow, ...]:
    plans = {r.code: r for r in plan_ratios}
    paid_by_line = {line.code: line.figures.paid_fen for line in lines}
    paid_by_category = _paid_by_category(program, spend)
    rows = []
    for rule in program.ratio_rules:
        plan = plans.get(rule.code)
        if plan is None:
            continue  # the program check evaluates every rule it can; nothing to show otherwise
        if rule.lines is not None:
            paid = sum(paid_by_line.get(code, 0) for code in rule.lines)
        else:
            measure = rule.measure or ""
            paid = paid_by_category.get(measure, 0) + sum(
                s.tranches_paid_measures.get(measure, 0) for s in spend.values()
            )
        actual = evaluate_ratio(rule, _actual_phases(program, rule, paid))
        bound = "max" if rule.max_percent is not None else "min"
        rows.append(
            RatioRow(
                code=rule.code,
                name=rule.name,
                wording=rule.wording,
                bound=bound,
                limit_percent=plan.limit_percent,
                limit_text=("≤ " if bound == "max" else "≥ ") + f"{plan.limit_percent}%",
                on_breach=rule.on_breach,
                plan=_ratio_figures(plan),
                actual=_ratio_figures(actual),
                paid_this_phase_fen=paid,
                decisions=tuple(d for d in decisions if d.rule_code == rule.code),
            )
        )
    return tuple(rows)


def _recovery_note(contracts: Sequence[ContractRow]) -> list[str]:
    """Xinping §六: a contractor failing so that acceptance is affected has its funds recovered."""
    failed = [c for c in contracts if c.status == "failed"]
    if not failed:
        return []
    paid = sum(c.paid_fen for c in failed)
    numbers = "、".join(c.contract_no for c in failed)
    note = (
        f"验收不合格的合同 {len(failed)} 份（{numbers}），其已支付的 {yuan_zh(paid)}"
        "应予追回（承办单位不能按期完成项目建设目标并影响项目验收的，收回全部项目建设资金）。"
    )
    return [note]


def _notes(program: Program, extra: Sequence[str]) -> tuple[str, ...]:
    notes = [
        "金额单位：元，精确到分，保留两位小数。",
        (
            "承诺金额 = 已签订购买服务合同金额 + 已批准的以奖代补奖补金额（含公示中、已支付）"
            "（已招标包组中尚未签订合同的金额不计入）；"
            "已支付 = 已支付奖补 + 已支付合同款；剩余 = 预算 - 已支付；未承诺 = 预算 - 承诺金额。"
        ),
        (
            "向服务商预拨的款项记在共管账户台账中，不计入本报告的已支付金额；"
            "请与共管账户台账及银行流水核对。"
        ),
    ]
    if program.ratio_rules:
        notes.append(
            "资金使用比例按各期累计资金计算：计划占比按预算；实际占比 = 以往各期资金安排（视为已使用）"
            "+ 本期已支付，分母为各期资金合计。以往各期未记录的数据不按零计，相关规则显示为无法核实。"
        )
    notes += list(extra)
    return tuple(notes[:MAX_NOTES])
