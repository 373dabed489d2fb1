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
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruralfund_common.errors import InvalidInput, NotFound
from ruralfund_common.money import format_yuan, parse_yuan

from ruralfund_common.credit_code import division_code, is_valid_credit_code
from .rules import Rule, RuleInvalid, parse_rule

__all__ = [
    "MAX_ITEMS_PER_LINE",
    "MAX_LINES",
    "MAX_PROGRAM_DOCUMENT_BYTES",
    "MAX_TARGETS",
    "PHASE_NAMES_ZH",
    "PROGRAM_FORMAT",
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
MAX_MILESTONES: Final = 64
PUBLICITY_WORKING_DAYS: Final = 5  # Xinping §四: publicised 5 working days before payment
PHASE_NAMES_ZH: Final[Mapping[str, str]] = {"first": "首期", "second": "二期", "follow_up": "后续"}

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
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


class LineDoc(_Doc):
    code: Code
    name: Text
    name_en: Text | None = None
    budget_yuan: str
    items: list[ItemDoc] = Field(min_length=1, max_length=MAX_ITEMS_PER_LINE)


class TargetDoc(_Doc):
    """A performance target (绩效目标): an indicator, a minimum value and its unit."""

    code: Code
    name: Text
    min_value: int = Field(ge=0)
    unit: Text
    item_codes: list[Code] = Field(default_factory=list, max_length=16)
    band_min_yuan: str | None = None  # e.g. stations with a volume in [band_min, band_below)
    band_below_yuan: str | None = None


class MilestoneDoc(_Doc):
    code: Code
    name: Text
    due: Annotated[str, Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")]
    responsible: Text | None = None


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
    milestones: list[MilestoneDoc] = Field(default_factory=list, max_length=MAX_MILESTONES)
    notes: list[LongText] = Field(default_factory=list, max_length=32)


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

    def items(self) -> list[Item]:
        return [item for line in self.lines for item in line.items]

    def item(self, code: str) -> Item:
        for item in self.items():
            if item.code == code:
                return item
        raise NotFound(
            "ITEM_NOT_FOUND", f"program {self.code} has no item {code!r}", field="item_code"
        )


@dataclass(frozen=True)
class ProgramCheck:
    program: Program | None
    issues: list[Issue]

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
        )
    try:
        text = raw.decode("utf-8")
        if media_type in YAML_MEDIA_TYPES:
            return yaml.load(text, Loader=_NoAliasLoader)
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            "PROGRAM_DOCUMENT_INVALID", f"cannot read the program document: {exc}"
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
    total_fen = _amount(issues, doc.total_yuan, "total_yuan")
    _check_unique_codes(issues, doc)
    _check_total(issues, doc, lines, total_fen)
    _check_targets(issues, doc)
    _check_parties(issues, doc)
    program = Program(
        code=doc.code,
        name=doc.name,
        county_code=doc.county.code,
        county_name=doc.county.name,
        year=doc.year,
        phase=doc.phase,
        total_fen=total_fen or 0,
        lines=lines,
        publicity_working_days=doc.publicity_working_days,
        contractor_credit_code=doc.contractor.credit_code if doc.contractor else None,
        contractor_name=doc.contractor.name if doc.contractor else None,
        joint_account_bank=doc.joint_account.bank if doc.joint_account else None,
        joint_account_no=doc.joint_account.account_no if doc.joint_account else None,
    )
    return ProgramCheck(program, list(issues))


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
    return Item(doc.code, doc.name, line_doc.code, budget_fen or 0, doc.mode, rule)


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


def _check_targets(issues: _Issues, doc: ProgramDocument) -> None:
    items = {it.code for line in doc.lines for it in line.items}
    for i, target in enumerate(doc.targets):
        for code in target.item_codes:
            if code not in items:
                issues.error(
                    "UNKNOWN_ITEM",
                    f"targets[{i}].item_codes",
                    f"target {target.code} refers to no item {code!r}",
                )
        for name in ("band_min_yuan", "band_below_yuan"):
            text = getattr(target, name)
            if text is not None:
                _amount(issues, text, f"targets[{i}].{name}")


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
        details={
            "errors": [e.to_dict() for e in errors],
            "warnings": [w.to_dict() for w in check.warnings],
        },
    )
