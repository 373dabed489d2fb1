"""Programs (示范项目) as data: parse a program document, check it, build a :class:`Program`.

A program document (``programs/*.yaml``, or the same as JSON) declares the county, year,
phase, total central fund, contractor and joint account, budget lines with their items
(budget, mode, and for reward items the award rule) and the performance targets.

:func:`check_program` never stops at the first problem and never silently accepts one: every
structural error, every sum that does not add up (with the figures), every rule parameter
problem is an :class:`Issue`. A program with any error cannot be activated; warnings (demo
placeholders, "in principle" rules) are reported and stored with the program.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruralfund_common.credit_code import division_code, is_valid_credit_code
from ruralfund_common.errors import InvalidInput, NotFound
from ruralfund_common.money import format_yuan, parse_yuan
from ruralfund_common.text import SingleLine

from .milestones import (
    MAX_MILESTONES,
    MAX_UNITS,
    Milestone,
    MilestoneDoc,
    UnitDoc,
    due_date,
    responsible_units,
)
from .ratios import (
    MAX_HISTORY_PHASES,
    MAX_RATIO_RULES,
    HistoryPhaseDoc,
    PhaseFigures,
    RatioResult,
    RatioRuleDoc,
    evaluate_ratio,
)
from .rules import PerUnitParams, Rule, RuleInvalid, parse_rule
from .targets import (
    MAX_DELIVERABLES,
    Deliverable,
    DeliverableDoc,
    Target,
    TargetDoc,
    deliverable_from_doc,
    target_value,
)

__all__ = [
    "MAX_ITEMS_PER_LINE",
    "MAX_LINES",
    "MAX_MILESTONES",
    "MAX_PROGRAM_DOCUMENT_BYTES",
    "MAX_TARGETS",
    "PHASE_NAMES_ZH",
    "PROGRAM_FORMAT",
    "HistoryPhase",
    "Issue",
    "Item",
    "Line",
    "Program",
    "ProgramCheck",
    "ProgramDocument",
    "check_program",
    "decode_program_document",
    "require_activatable",
]

PROGRAM_FORMAT: Final = "ruralfund.program/v1"
MAX_PROGRAM_DOCUMENT_BYTES: Final = 256 * 1024
MAX_LINES: Final = 32
MAX_ITEMS_PER_LINE: Final = 64
MAX_TARGETS: Final = 128
PUBLICITY_WORKING_DAYS: Final = 5  # Xinping §四: publicised 5 working days before payment
PHASE_NAMES_ZH: Final[Mapping[str, str]] = {"first": "首期", "second": "二期", "follow_up": "后续"}

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
# One line: names, units, documents (a line break or bidi override in a name reaches the
# public page, mails and the report).
Text = Annotated[SingleLine, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


# --------------------------------------------------------------------------- document schema


class _Doc(BaseModel):
    # extra="forbid": a misspelt key in a program file is an error, not a silently lost rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountyDoc(_Doc):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]
    name: Text
    prefecture: Text | None = None
    province: Text | None = None
    # 主管部门: the county department that runs the program (县商务局, or 县工信局 where commerce
    # sits there); the execution report names it as 编制单位 in its sign-off block.
    bureau: Text | None = None


class ContractorDoc(_Doc):
    name: Text
    credit_code: str | None = None
    demo: bool = Field(default=False, description="placeholder, not a real party")


class JointAccountDoc(_Doc):
    bank: Text
    account_no: Annotated[str, Field(pattern=r"^[0-9 -]{6,40}$")]
    demo: bool = False


class SourceDoc(_Doc):
    document: Text
    basis: list[Text] = Field(default_factory=list, max_length=16)


class ItemDoc(_Doc):
    code: Code
    name: Text
    name_en: Text | None = None
    budget_yuan: str
    mode: Literal["reward", "service"]
    rule: dict[str, Any] | None = None
    criteria: LongText | None = None
    procurement: Text | None = None
    # Figures this file supplies because the original does not print them (a warning).
    estimated: list[Literal["budget", "rule"]] = Field(default_factory=list, max_length=2)
    # Parts of the budget that ratio rules measure, e.g. {hardware: "400,000.00"}.
    measures: dict[Code, str] = Field(default_factory=dict, max_length=8)
    # Service items: what the contracted provider must deliver.
    deliverables: list[DeliverableDoc] = Field(default_factory=list, max_length=MAX_DELIVERABLES)
    # What the item's money is on actual spend (e.g. training, logistics, hardware), for the
    # share rules funds checks on payments; a contract tranche may classify its part otherwise.
    spending_category: Code | None = None
    # Not in the original: an example a program must opt into (``opt_in``) before anyone claims.
    example: bool = False


class LineDoc(_Doc):
    code: Code
    name: Text
    name_en: Text | None = None
    budget_yuan: str
    items: list[ItemDoc] = Field(min_length=1, max_length=MAX_ITEMS_PER_LINE)


class ClaimPeriodDoc(_Doc):
    """The days claims may cover (a month, quarter or year must touch them); no end: open
    until the bureau records the program's acceptance."""

    starts_on: date
    ends_on: date | None = None
    wording: LongText | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ClaimPeriodDoc:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("claim_period: ends_on is before starts_on")
        return self


class ProgramDocument(_Doc):
    format: Literal["ruralfund.program/v1"]
    code: Code
    name: Text
    county: CountyDoc
    year: int = Field(ge=2000, le=2100)
    phase: Literal["first", "second", "follow_up"]
    total_yuan: str
    publicity_working_days: int = Field(default=PUBLICITY_WORKING_DAYS, ge=1, le=30)
    source: SourceDoc | None = None
    contractor: ContractorDoc | None = None
    joint_account: JointAccountDoc | None = None
    lines: list[LineDoc] = Field(min_length=1, max_length=MAX_LINES)
    targets: list[TargetDoc] = Field(default_factory=list, max_length=MAX_TARGETS)
    units: list[UnitDoc] = Field(default_factory=list, max_length=MAX_UNITS)
    milestones: list[MilestoneDoc] = Field(default_factory=list, max_length=MAX_MILESTONES)
    history: list[HistoryPhaseDoc] = Field(default_factory=list, max_length=MAX_HISTORY_PHASES)
    ratio_rules: list[RatioRuleDoc] = Field(default_factory=list, max_length=MAX_RATIO_RULES)
    # Service contract payments (tranches) are publicised like awards only when this says so.
    contract_payments_require_publicity: bool = False
    notes: list[LongText] = Field(default_factory=list, max_length=32)
    # 本方案公布: the plan's publication date (new stores and new products count from it).
    published_on: date | None = None
    claim_period: ClaimPeriodDoc | None = None
    # Dates this file supplies because the original does not print them (a warning).
    estimated: list[Literal["published_on", "claim_period"]] = Field(
        default_factory=list, max_length=2
    )
    # Example items (``example: true``) this program activates.
    opt_in: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS_PER_LINE)


# --------------------------------------------------------------------------- the checked program


@dataclass(frozen=True)
class Issue:
    severity: Literal["error", "warning"]
    code: str
    path: str
    message: str
    figures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "figures": self.figures,
        }


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    line_code: str
    budget_fen: int
    mode: Literal["reward", "service"]
    rule: Rule | None
    deliverables: tuple[Deliverable, ...] = ()
    measures: Mapping[str, int] = field(default_factory=dict)
    spending_category: str | None = None
    criteria: str | None = None
    example: bool = False  # not in the original; claimable only when the program opts in
    active: bool = True

    @property
    def requires_publicity(self) -> bool:
        # Reward awards are publicised before payment (Xinping §四); service contracts are not.
        return self.mode == "reward"


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    budget_fen: int
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Program:
    code: str
    name: str
    county_code: str
    county_name: str
    year: int
    phase: str
    total_fen: int
    lines: tuple[Line, ...]
    publicity_working_days: int
    contractor_credit_code: str | None = None
    contractor_name: str | None = None
    joint_account_bank: str | None = None
    joint_account_no: str | None = None
    targets: tuple[Target, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    ratio_rules: tuple[RatioRuleDoc, ...] = ()
    history: tuple[HistoryPhase, ...] = ()
    contract_payments_require_publicity: bool = False
    published_on: date | None = None
    claim_starts_on: date | None = None
    claim_ends_on: date | None = None
    bureau_name: str | None = None  # 主管部门 (county.bureau)

    def items(self) -> list[Item]:
        return [item for line in self.lines for item in line.items]

    def item(self, code: str) -> Item:
        for item in self.items():
            if item.code == code:
                return item
        raise NotFound(
            "ITEM_NOT_FOUND", f"program {self.code} has no item {code!r}", field="item_code",
            title_zh="方案中没有该项目", detail_zh=f"方案 {self.code} 中没有项目 {code}。",
        )  # fmt: skip


@dataclass(frozen=True)
class ProgramCheck:
    program: Program | None
    issues: list[Issue]
    ratios: list[RatioResult] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def can_activate(self) -> bool:
        return self.program is not None and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "program_code": self.program.code if self.program else None,
            "can_activate": self.can_activate,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "ratios": [r.to_dict() for r in self.ratios],
        }


# --------------------------------------------------------------------------- decoding


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors/aliases: a few hundred bytes of nested aliases can expand into
    gigabytes once the document is turned into JSON ("billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases are not allowed in program files", event.start_mark
            )
        return super().compose_node(parent, index)


YAML_MEDIA_TYPES: Final = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
)


def decode_program_document(raw: bytes, media_type: str) -> Any:
    """The document from a JSON or YAML body; 422 ``PROGRAM_DOCUMENT_INVALID`` if unreadable."""
    if len(raw) > MAX_PROGRAM_DOCUMENT_BYTES:
        raise InvalidInput(
            "PROGRAM_DOCUMENT_TOO_LARGE",
            f"a program document may have at most {MAX_PROGRAM_DOCUMENT_BYTES} bytes",
            status=413,
            detail_zh=f"方案文件最多 {MAX_PROGRAM_DOCUMENT_BYTES:,} 字节，本文件为 {len(raw):,} 字节。",
        )
    try:
        text = raw.decode("utf-8")
        if media_type in YAML_MEDIA_TYPES:
            return yaml.load(text, Loader=_NoAliasLoader)
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            "PROGRAM_DOCUMENT_INVALID", f"cannot read the program document: {exc}", field="body",
            detail_zh="方案文件无法按 JSON 或 YAML 读取，请检查文件格式和编码（UTF-8）。",
        ) from None
    except RecursionError:  # "[[[[…" thousands deep: both parsers recurse
        raise InvalidInput(
            "DOCUMENT_TOO_DEEP", "the program document nests too deep to read", status=400,
            field="body",
            detail_zh="方案文件的嵌套层数过多，无法读取。",
        ) from None


# --------------------------------------------------------------------------- checking


class _Issues(list[Issue]):
    def error(self, code: str, path: str, message: str, **figures: str) -> None:
        self.append(Issue("error", code, path, message, figures))

    def warning(self, code: str, path: str, message: str, **figures: str) -> None:
        self.append(Issue("warning", code, path, message, figures))


def _amount(issues: _Issues, text: str, path: str) -> int | None:
    try:
        fen = parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        issues.error("AMOUNT_INVALID", path, str(exc))
        return None
    if fen < 0:
        issues.error("AMOUNT_INVALID", path, f"{text!r} is negative")
        return None
    return fen


def check_program(raw: object) -> ProgramCheck:
    """Parse and check a program document; every problem is reported, none is fixed up."""
    issues = _Issues()
    try:
        doc = ProgramDocument.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            issues.error("DOCUMENT_INVALID", path, str(err["msg"]))
        return ProgramCheck(None, list(issues))
    lines = tuple(_line(issues, doc, i) for i in range(len(doc.lines)))
    lines = _check_examples(issues, doc, lines)
    _check_dates(issues, doc, lines)
    total_fen = _amount(issues, doc.total_yuan, "total_yuan")
    _check_unique_codes(issues, doc)
    _check_total(issues, doc, lines, total_fen)
    targets = _check_targets(issues, doc, lines)
    _check_parties(issues, doc)
    _check_estimates(issues, doc)
    milestones = _check_milestones(issues, doc)
    history = _check_history(issues, doc)
    ratios = _check_ratios(issues, doc, lines, total_fen, history)
    program = Program(
        code=doc.code,
        name=doc.name,
        county_code=doc.county.code,
        county_name=doc.county.name,
        bureau_name=doc.county.bureau,
        year=doc.year,
        phase=doc.phase,
        total_fen=total_fen or 0,
        lines=lines,
        publicity_working_days=doc.publicity_working_days,
        contractor_credit_code=doc.contractor.credit_code if doc.contractor else None,
        contractor_name=doc.contractor.name if doc.contractor else None,
        joint_account_bank=doc.joint_account.bank if doc.joint_account else None,
        joint_account_no=doc.joint_account.account_no if doc.joint_account else None,
        targets=targets,
        milestones=milestones,
        ratio_rules=tuple(doc.ratio_rules),
        history=tuple(history),
        contract_payments_require_publicity=doc.contract_payments_require_publicity,
        published_on=doc.published_on,
        claim_starts_on=doc.claim_period.starts_on if doc.claim_period else None,
        claim_ends_on=doc.claim_period.ends_on if doc.claim_period else None,
    )
    return ProgramCheck(program, list(issues), ratios)


def _check_examples(
    issues: _Issues, doc: ProgramDocument, lines: tuple[Line, ...]
) -> tuple[Line, ...]:
    """Example items (not in the original) take no claims unless the program opts in."""
    examples = {it.code for line in lines for it in line.items if it.example}
    for code in doc.opt_in:
        if code not in examples:
            issues.error(
                "OPT_IN_INVALID", "opt_in", f"opt_in names {code!r}, which is no example item"
            )
    inactive = sorted(examples - set(doc.opt_in))
    if inactive:
        issues.warning(
            "EXAMPLE_ITEMS_INACTIVE",
            "opt_in",
            "not in the original, kept as examples; claims are refused until the program "
            f"opts in: {', '.join(inactive)}",
            items=", ".join(inactive),
        )
    return tuple(
        Line(line.code, line.name, line.budget_fen, tuple(
            replace(it, active=it.code not in inactive) for it in line.items
        ))
        for line in lines
    )  # fmt: skip


def _check_dates(issues: _Issues, doc: ProgramDocument, lines: tuple[Line, ...]) -> None:
    needing = [
        it.code for line in lines for it in line.items if it.rule and it.rule.needs_publication_date
    ]
    if needing and doc.published_on is None:
        issues.error(
            "PUBLICATION_DATE_MISSING",
            "published_on",
            f"items {', '.join(needing)} count from the plan's publication (本方案公布后): "
            "give published_on",
        )
    period = doc.claim_period
    if period is None:
        issues.warning(
            "CLAIM_PERIOD_MISSING",
            "claim_period",
            "no claim_period: claims for any month, quarter or year are accepted",
        )
    elif doc.published_on is not None and period.starts_on < doc.published_on:
        issues.warning(
            "CLAIM_PERIOD_BEFORE_PUBLICATION",
            "claim_period.starts_on",
            f"claims may cover days from {period.starts_on} although the plan was published "
            f"on {doc.published_on}",
        )
    if doc.estimated:
        issues.warning(
            "ESTIMATED_DATES",
            "estimated",
            "the original does not print these dates; this file estimates them: "
            + ", ".join(doc.estimated),
            dates=", ".join(doc.estimated),
        )


def _line(issues: _Issues, doc: ProgramDocument, index: int) -> Line:
    line_doc = doc.lines[index]
    path = f"lines[{index}]"
    items = tuple(
        _item(issues, line_doc, f"{path}.items[{j}]", j) for j in range(len(line_doc.items))
    )
    budget_fen = _amount(issues, line_doc.budget_yuan, f"{path}.budget_yuan")
    if budget_fen is not None and all(_parses(i.budget_yuan) for i in line_doc.items):
        items_fen = sum(item.budget_fen for item in items)
        if items_fen != budget_fen:
            issues.error(
                "LINE_SUM_MISMATCH",
                path,
                f"line {index + 1} {line_doc.name} ({line_doc.code}): its items add up to "
                f"{format_yuan(items_fen)} yuan but the line budget is {format_yuan(budget_fen)} yuan "
                f"(difference {format_yuan(items_fen - budget_fen)})",
                line=line_doc.code,
                items_sum_yuan=format_yuan(items_fen),
                line_budget_yuan=format_yuan(budget_fen),
                difference_yuan=format_yuan(items_fen - budget_fen),
            )
    return Line(line_doc.code, line_doc.name, budget_fen or 0, items)


def _parses(text: str) -> bool:
    try:
        return parse_yuan(text) >= 0
    except (TypeError, ValueError, OverflowError):
        return False


def _item(issues: _Issues, line_doc: LineDoc, path: str, index: int) -> Item:
    doc = line_doc.items[index]
    budget_fen = _amount(issues, doc.budget_yuan, f"{path}.budget_yuan")
    rule = _rule(issues, doc, path)
    if budget_fen == 0:
        issues.warning(
            "ITEM_BUDGET_ZERO", f"{path}.budget_yuan", f"item {doc.code} has a budget of 0.00 yuan"
        )
    largest = rule.largest_award_fen() if rule else None
    if rule and budget_fen is not None and largest is not None and largest > budget_fen:
        issues.error(
            "AWARD_EXCEEDS_BUDGET",
            f"{path}.rule",
            f"item {doc.code}: one award of {format_yuan(largest)} yuan is more than the item budget of {format_yuan(budget_fen)} yuan",
            award_yuan=format_yuan(largest),
            item_budget_yuan=format_yuan(budget_fen),
        )
    deliverables = _deliverables(issues, doc, path)
    measures = _measures(issues, doc, path, budget_fen)
    if doc.example and doc.mode != "reward":
        issues.error(
            "EXAMPLE_NOT_ALLOWED", f"{path}.example", "only reward items can be examples"
        )
    return Item(
        doc.code, doc.name, line_doc.code, budget_fen or 0, doc.mode, rule, deliverables, measures,
        doc.spending_category, doc.criteria, doc.example,
    )  # fmt: skip


def _deliverables(issues: _Issues, doc: ItemDoc, path: str) -> tuple[Deliverable, ...]:
    if doc.deliverables and doc.mode != "service":
        issues.error(
            "DELIVERABLES_NOT_ALLOWED",
            f"{path}.deliverables",
            f"item {doc.code} is a reward (以奖代补): its conditions are the rule, not deliverables",
        )
        return ()
    codes = [d.code for d in doc.deliverables]
    for j, d in enumerate(doc.deliverables):
        where = f"{path}.deliverables[{j}]"
        if codes.count(d.code) > 1:
            issues.error(
                "DUPLICATE_CODE", f"{where}.code", f"deliverable {d.code!r} is listed twice"
            )
        if d.alternative_to is not None and d.alternative_to not in codes:
            issues.error(
                "UNKNOWN_DELIVERABLE",
                f"{where}.alternative_to",
                f"deliverable {d.code} is an alternative to {d.alternative_to!r}, which item {doc.code} does not list",
            )
        if d.min_yuan is not None and _amount(issues, d.min_yuan, f"{where}.min_yuan") is None:
            return ()
    return tuple(deliverable_from_doc(d) for d in doc.deliverables)


def _measures(issues: _Issues, doc: ItemDoc, path: str, budget_fen: int | None) -> dict[str, int]:
    measures: dict[str, int] = {}
    for name, text in doc.measures.items():
        fen = _amount(issues, text, f"{path}.measures.{name}")
        if fen is None:
            continue
        if budget_fen is not None and fen > budget_fen:
            issues.error(
                "MEASURE_EXCEEDS_BUDGET",
                f"{path}.measures.{name}",
                f"item {doc.code}: {name} {format_yuan(fen)} yuan is more than its budget of {format_yuan(budget_fen)} yuan",
            )
        measures[name] = fen
    return measures


def _rule(issues: _Issues, doc: ItemDoc, path: str) -> Rule | None:
    if doc.mode == "service":
        if doc.rule is not None:
            issues.error(
                "RULE_NOT_ALLOWED",
                f"{path}.rule",
                f"item {doc.code} is bought as a service (购买服务): it has no award rule",
            )
        return None
    if doc.rule is None:
        issues.error(
            "RULE_MISSING", f"{path}.rule", f"reward item {doc.code} (以奖代补) needs a rule"
        )
        return None
    try:
        return parse_rule(doc.rule, path=f"{path}.rule")
    except RuleInvalid as exc:
        for where, message in exc.errors:
            issues.error("RULE_INVALID", where, f"item {doc.code}: {message}")
        return None


def _check_unique_codes(issues: _Issues, doc: ProgramDocument) -> None:
    seen: dict[str, str] = {}
    for i, line in enumerate(doc.lines):
        for where, code in [(f"lines[{i}]", line.code)] + [
            (f"lines[{i}].items[{j}]", it.code) for j, it in enumerate(line.items)
        ]:
            if code in seen:
                issues.error(
                    "DUPLICATE_CODE",
                    f"{where}.code",
                    f"code {code!r} is used twice (first at {seen[code]})",
                )
            else:
                seen[code] = where


def _check_total(
    issues: _Issues, doc: ProgramDocument, lines: tuple[Line, ...], total_fen: int | None
) -> None:
    if total_fen is None or not all(_parses(line.budget_yuan) for line in doc.lines):
        return
    lines_fen = sum(line.budget_fen for line in lines)
    if lines_fen != total_fen:
        issues.error(
            "TOTAL_SUM_MISMATCH",
            "total_yuan",
            f"the lines add up to {format_yuan(lines_fen)} yuan but the program total is "
            f"{format_yuan(total_fen)} yuan (difference {format_yuan(lines_fen - total_fen)})",
            lines_sum_yuan=format_yuan(lines_fen),
            total_yuan=format_yuan(total_fen),
            difference_yuan=format_yuan(lines_fen - total_fen),
        )


def _check_targets(
    issues: _Issues, doc: ProgramDocument, lines: tuple[Line, ...]
) -> tuple[Target, ...]:
    items: dict[str, Item] = {}
    for it in (it for line in lines for it in line.items):
        items.setdefault(it.code, it)  # a duplicate code is reported once, as DUPLICATE_CODE
    targets = []
    for i, target in enumerate(doc.targets):
        path = f"targets[{i}]"
        for code in target.item_codes:
            if code not in items:
                issues.error(
                    "UNKNOWN_ITEM",
                    f"{path}.item_codes",
                    f"target {target.code} refers to no item {code!r}",
                )
        band = [
            _amount(issues, text, f"{path}.{name}") if text is not None else None
            for name, text in (
                ("band_min_yuan", target.band_min_yuan),
                ("band_below_yuan", target.band_below_yuan),
            )
        ]
        if all(c in items for c in target.item_codes):  # else UNKNOWN_ITEM says it all
            _check_measure(issues, target, path, [items[c] for c in target.item_codes])
        targets.append(
            Target(
                code=target.code,
                name=target.name,
                unit=target.unit,
                bound=target_value(target.min_value, target.max_value),
                measure=target.measure,
                item_codes=tuple(target.item_codes),
                deliverables=tuple(target.deliverables),
                band_min_fen=band[0],
                band_below_fen=band[1],
            )
        )
    return tuple(targets)


def _check_measure(issues: _Issues, target: TargetDoc, path: str, items: list[Item]) -> None:
    """The measure must be computable from the target's items: a target the system claims to
    measure but cannot would report a silent zero."""
    measure = target.measure
    if target.deliverables and measure != "contract_deliverables":
        issues.error(
            "MEASURE_INVALID",
            f"{path}.deliverables",
            "deliverables need measure: contract_deliverables",
        )
    if measure == "contract_deliverables":
        known = {d.code for item in items for d in item.deliverables}
        missing = [d for d in target.deliverables if d not in known]
        if not target.deliverables or missing:
            issues.error(
                "UNKNOWN_DELIVERABLE",
                f"{path}.deliverables",
                f"target {target.code}: name deliverables of its items (unknown: {', '.join(missing) or 'none given'})",
            )
    elif measure.startswith("approved_claim"):
        if not items or any(item.mode != "reward" for item in items):
            issues.error(
                "MEASURE_INVALID",
                f"{path}.measure",
                f"target {target.code}: {measure} needs reward items",
            )
        elif measure == "approved_claim_identities" and not all(
            item.rule is not None and getattr(item.rule.params, "identity_label", None)
            for item in items
        ):
            issues.error(
                "MEASURE_INVALID",
                f"{path}.measure",
                f"target {target.code}: distinct identities need rules with identity_label",
            )
        elif measure == "approved_claim_units" and not all(
            item.rule is not None and isinstance(item.rule.params, PerUnitParams) for item in items
        ):
            issues.error(
                "MEASURE_INVALID",
                f"{path}.measure",
                f"target {target.code}: units are counted for per_unit rules only",
            )
    elif measure == "stations_in_band" and target.band_min_yuan is None:
        issues.error(
            "MEASURE_INVALID",
            f"{path}.band_min_yuan",
            f"target {target.code}: stations_in_band needs band_min_yuan",
        )


def _check_estimates(issues: _Issues, doc: ProgramDocument) -> None:
    estimated = [
        f"{it.code} ({'+'.join(it.estimated)})"
        for line in doc.lines
        for it in line.items
        if it.estimated
    ]
    if estimated:
        issues.warning(
            "ESTIMATED_FIGURES",
            "lines",
            "the original does not print these figures; this file estimates them: "
            + ", ".join(estimated),
            items=", ".join(estimated),
        )


def _check_milestones(issues: _Issues, doc: ProgramDocument) -> tuple[Milestone, ...]:
    emails = {u.name: u.email for u in doc.units}
    if any(u.demo for u in doc.units):
        names = ", ".join(u.name for u in doc.units if u.demo)
        issues.warning(
            "DEMO_DATA", "units", f"contacts of these units are demo placeholders: {names}"
        )
    milestones = []
    seen: set[str] = set()
    for i, m in enumerate(doc.milestones):
        path = f"milestones[{i}]"
        if m.code in seen:
            issues.error("DUPLICATE_CODE", f"{path}.code", f"milestone {m.code!r} is listed twice")
        seen.add(m.code)
        try:
            due_on = due_date(m.due)
            starts_on = due_date(m.starts) if m.starts else None
        except ValueError as exc:
            issues.error("DATE_INVALID", path, f"milestone {m.code}: {exc}")
            continue
        if starts_on is not None and starts_on > due_on:
            issues.error(
                "DATE_INVALID", f"{path}.starts", f"milestone {m.code} starts after it is due"
            )
        units = responsible_units(m)
        unknown = [u for u in units if doc.units and u not in emails]
        if unknown:
            issues.error(
                "UNKNOWN_UNIT",
                f"{path}.responsible",
                f"milestone {m.code}: {', '.join(unknown)} is not among the program's units",
            )
        lead_email = emails.get(units[0]) if units else None
        milestones.append(Milestone(m.code, m.name, due_on, units, lead_email, m.stage))
    return tuple(milestones)


def _check_ratios(
    issues: _Issues,
    doc: ProgramDocument,
    lines: tuple[Line, ...],
    total_fen: int | None,
    history: list[HistoryPhase],
) -> list[RatioResult]:
    if total_fen is None or not doc.ratio_rules:
        return []
    results = []
    for i, rule in enumerate(doc.ratio_rules):
        path = f"ratio_rules[{i}]"
        unknown = [c for c in rule.lines or [] if c not in {line.code for line in lines}]
        if unknown:
            issues.error(
                "UNKNOWN_LINE",
                f"{path}.lines",
                f"ratio rule {rule.code}: no line {', '.join(unknown)}",
            )
            continue
        if rule.on_breach == "error" and "原则上" in (rule.wording or ""):
            # "in principle" is not a hard limit: departing from it is the leading group's
            # recorded decision, never a refusal of the program or of a payment
            issues.error(
                "RATIO_PRINCIPLE_IS_SOFT",
                f"{path}.on_breach",
                f"ratio rule {rule.code} says 原则上 (in principle): on_breach must be warning "
                "(a breach needs the leading group's recorded decision), not error",
            )
        label = f"{PHASE_NAMES_ZH[doc.phase]} {doc.phase} (this program)"
        current = PhaseFigures(label, total_fen, _numerator(rule, lines))
        phases = [current] + (history if rule.scope == "cumulative" else [])
        result = evaluate_ratio(rule, [_phase_figures(rule, h) for h in phases])
        results.append(result)
        _report_ratio(issues, path, rule, result)
    return results


def _numerator(rule: RatioRuleDoc, lines: tuple[Line, ...]) -> int:
    if rule.lines is not None:
        return sum(line.budget_fen for line in lines if line.code in rule.lines)
    return sum(item.measures.get(rule.measure or "", 0) for line in lines for item in line.items)


@dataclass(frozen=True)
class HistoryPhase:
    """An earlier phase as the plan records it: its total, line budgets (taken as its spend)
    and the measures it records (a measure missing is unknown, never zero)."""

    phase: str
    label: str
    total_fen: int
    lines: Mapping[str, int]
    measures: Mapping[str, int]


def _phase_figures(rule: RatioRuleDoc, phase: PhaseFigures | HistoryPhase) -> PhaseFigures:
    if isinstance(phase, PhaseFigures):
        return phase
    if rule.lines is not None:
        known = [phase.lines.get(code) for code in rule.lines]
        numerator = None if None in known else sum(v for v in known if v is not None)
    else:
        numerator = phase.measures.get(rule.measure or "")
    return PhaseFigures(phase.label, phase.total_fen, numerator)


def _check_history(issues: _Issues, doc: ProgramDocument) -> list[HistoryPhase]:
    """Earlier phases must add up too: a cumulative share on a wrong total is wrong."""
    line_codes = {line.code for line in doc.lines}
    phases = []
    for i, h in enumerate(doc.history):
        path = f"history[{i}]"
        total = _amount(issues, h.total_yuan, f"{path}.total_yuan")
        lines = {c: _amount(issues, t, f"{path}.lines.{c}") for c, t in h.lines.items()}
        measures = {c: _amount(issues, t, f"{path}.measures.{c}") for c, t in h.measures.items()}
        for code in sorted(set(lines) - line_codes):
            issues.error(
                "UNKNOWN_LINE", f"{path}.lines.{code}", f"this program has no line {code!r}"
            )
        if total is None or None in lines.values() or None in measures.values():
            continue
        lines_sum = sum(v for v in lines.values() if v is not None)
        if lines_sum != total:
            issues.error(
                "HISTORY_SUM_MISMATCH",
                path,
                f"{h.phase}: the lines add up to {format_yuan(lines_sum)} yuan but the phase total is {format_yuan(total)} yuan",
                lines_sum_yuan=format_yuan(lines_sum),
                total_yuan=format_yuan(total),
            )
        phases.append(
            HistoryPhase(
                h.phase,
                f"{PHASE_NAMES_ZH[h.phase]} {h.phase}",
                total,
                {c: v for c, v in lines.items() if v is not None},
                {c: v for c, v in measures.items() if v is not None},
            )
        )
    return phases


def _report_ratio(issues: _Issues, path: str, rule: RatioRuleDoc, r: RatioResult) -> None:
    figures = {
        "share_percent": r.share_percent,
        "limit_percent": r.limit_percent,
        "numerator_yuan": format_yuan(r.numerator_fen),
        "denominator_yuan": format_yuan(r.denominator_fen),
    }
    relation = "at most" if r.bound == "max" else "at least"
    what = f"{rule.name}: {r.share_percent}% ({figures['numerator_yuan']} of {figures['denominator_yuan']} yuan)"
    if r.status == "breached":
        code = "RATIO_ABOVE_MAX" if r.bound == "max" else "RATIO_BELOW_MIN"
        principle = (
            " (in principle: 原则上 — a payment adding to it needs the leading group's recorded decision)"
            if rule.on_breach == "warning"
            else ""
        )
        message = f"{what}; the rule says {relation} {r.limit_percent}%{principle}"
        if rule.on_breach == "error":
            issues.error(code, path, message, **figures)
        else:
            issues.warning(code, path, message, **figures)
    elif r.status == "unverified":
        issues.warning(
            "RATIO_UNVERIFIED",
            path,
            f"{what} from the known figures; not recorded for: {'; '.join(r.missing)} "
            f"— cannot confirm {relation} {r.limit_percent}%",
            missing=", ".join(r.missing),
            **figures,
        )


def _check_parties(issues: _Issues, doc: ProgramDocument) -> None:
    if doc.publicity_working_days != PUBLICITY_WORKING_DAYS:
        issues.warning(
            "PUBLICITY_DAYS_UNUSUAL",
            "publicity_working_days",
            f"awards are publicised {doc.publicity_working_days} working days; the originals say {PUBLICITY_WORKING_DAYS}",
        )
    contractor = doc.contractor
    if contractor is None:
        issues.warning(
            "CONTRACTOR_MISSING",
            "contractor",
            "no contractor (承办企业): the joint account cannot be opened",
        )
    else:
        if contractor.demo:
            issues.warning(
                "DEMO_DATA",
                "contractor",
                f"the contractor {contractor.name!r} is a demo placeholder",
            )
        code = contractor.credit_code
        if code is not None and not is_valid_credit_code(code):
            issues.error(
                "CREDIT_CODE_INVALID",
                "contractor.credit_code",
                f"{code!r} is not a valid GB 32100 credit code",
            )
        elif code is not None and division_code(code) != doc.county.code:
            issues.warning(
                "CONTRACTOR_OUTSIDE_COUNTY",
                "contractor.credit_code",
                f"the contractor is registered in {division_code(code)}, not in the county {doc.county.code}",
            )
    if doc.joint_account is None:
        issues.warning("JOINT_ACCOUNT_MISSING", "joint_account", "no joint account (共管账户) yet")
    elif doc.joint_account.demo:
        issues.warning("DEMO_DATA", "joint_account", "the joint account is a demo placeholder")


def require_activatable(check: ProgramCheck) -> Program:
    """The program, or 422 ``PROGRAM_INVALID`` whose detail names every error."""
    if check.can_activate:
        assert check.program is not None
        return check.program
    errors = check.errors
    shown = "; ".join(f"{e.path}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    raise InvalidInput(
        "PROGRAM_INVALID",
        f"the program cannot be activated: {shown}{more}",
        field=errors[0].path if errors else None,
        details={
            "errors": [e.to_dict() for e in errors],
            "warnings": [w.to_dict() for w in check.warnings],
        },
        detail_zh=f"方案有 {len(errors)} 处问题，不能启用" + (f"，首先是“{errors[0].path}”" if errors else "") + "；详见 details.errors。",
    )
