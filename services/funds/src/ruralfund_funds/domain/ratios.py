"""Share rules on the cumulative fund, judged on ACTUAL spend (Ruyuan attachment 2: hardware and
decoration ≤ 10 %, logistics "in principle" ≥ 50 %, training ≤ 15 % of phases 1 + 2 together).

- denominator: the cumulative fund = every earlier phase's total + this program's total;
- numerator: earlier phases' spend on the rule's lines (or of its measure) + this program's
  executed payments on those lines (or of that measure: the part a tranche names, e.g. its
  hardware amount, else the whole payment when its spending category is the measure) + the
  payment being decided;
- max rule: breached when numerator × 100 > limit × denominator;
- min rule: on actual spend a minimum can only be judged as "can no longer be reached": breached
  when the money NOT on the rule's lines exceeds (100 − limit) % of the denominator;
- an earlier phase's measure that was never recorded is unknown, never zero: a max rule is judged
  on the known figures (the unknown can only add) and reported ``unverified``.

A payment that adds to a breached rule is refused (``RATIO_LIMIT_EXCEEDED``) when the rule's
``on_breach`` is ``error``; when it is ``warning`` ("in principle", 原则上) it needs a
justification decided by a leading group member not linked to the payee, recorded with who and
when (``RATIO_JUSTIFICATION_REQUIRED`` otherwise, in Chinese with the figures). Exact integer and Fraction math only:
shares are shown as Decimal percentages rounded half up to 0.01.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, yuan_zh

__all__ = [
    "MAX_JUSTIFICATIONS",
    "MAX_JUSTIFICATION_CHARS",
    "Justification",
    "Money",
    "Phase",
    "Rule",
    "RuleStatus",
    "ShareBook",
    "Spend",
    "percent",
]

MAX_JUSTIFICATION_CHARS = 1000
MAX_JUSTIFICATIONS = 20
_HUNDRED = 100


def percent(numerator_fen: int, denominator_fen: int) -> Decimal:
    """``numerator / denominator`` in percent, rounded half up to 0.01 (display only)."""
    if denominator_fen <= 0:
        return Decimal("0.00")
    exact = Fraction(numerator_fen * _HUNDRED, denominator_fen)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    bound: str  # min | max
    limit_percent: Fraction
    on_breach: str  # error | warning
    lines: frozenset[str] | None = None
    measure: str | None = None

    def __post_init__(self) -> None:
        assert self.bound in ("min", "max") and self.on_breach in ("error", "warning")
        assert 0 <= self.limit_percent <= _HUNDRED, "a share limit is a percentage"
        assert (self.lines is not None) or (self.measure is not None), "a rule counts lines or a measure"

    @classmethod
    def of(cls, code: str, name: str, bound: str, limit_percent: str, on_breach: str,
           lines: Iterable[str] | None = None, measure: str | None = None) -> Rule:
        return cls(code, name, bound, Fraction(Decimal(limit_percent)), on_breach,
                   frozenset(lines) if lines is not None else None, measure)

    def counts(self, line_code: str, category: str | None) -> bool:
        """Whether money of this classification is in the rule's numerator."""
        if self.lines is not None:
            return line_code in self.lines
        return category is not None and category == self.measure

    def counted_in(self, money: Money) -> int:
        """How much of ``money`` is in the rule's numerator."""
        if self.lines is not None:
            return sum(v for k, v in money.by_line.items() if k in self.lines)
        assert self.measure is not None
        return money.measured(self.measure)

    @property
    def limit_text(self) -> str:
        d = Decimal(self.limit_percent.numerator) / Decimal(self.limit_percent.denominator)
        return format(d.normalize(), "f")


@dataclass(frozen=True)
class Phase:
    """An earlier phase: its total and its spend by line and by measure (a measure absent from
    ``measures`` is unknown)."""

    phase: str
    label: str
    total_fen: int
    lines: Mapping[str, int]
    measures: Mapping[str, int] = field(default_factory=dict)

    def counted(self, rule: Rule) -> int | None:
        """This phase's money in the rule's numerator; None when unknown."""
        if rule.lines is not None:
            return sum(v for k, v in self.lines.items() if k in rule.lines)
        assert rule.measure is not None
        return self.measures.get(rule.measure)

    def with_final_accounts(self, lines: Mapping[str, int], measures: Mapping[str, int]) -> Phase:
        """This phase with figures from its final accounts (决算) replacing the plan's, figure by
        figure; refused before anything changes if a figure cannot be right."""
        unknown = sorted(set(lines) - set(self.lines))
        if unknown:
            raise InvalidInput("LINE_NOT_IN_PHASE", f"phase {self.phase} has no line {unknown[0]}",
                               field=f"lines.{unknown[0]}",
                                   detail_zh=f"第 {self.phase} 期没有建设内容 {unknown[0]}。",
                               )
        for name, figures in (("lines", lines), ("measures", measures)):
            for code, fen in figures.items():
                if fen < 0 or fen > self.total_fen:
                    raise InvalidInput("FIGURE_OUT_OF_RANGE", f"{code} must be between 0 and the phase total",
                                       field=f"{name}.{code}",
                                           detail_zh=f"{code} 的金额须在 0 至该期总额 {yuan_zh(self.total_fen)} 之间。",
                                       )
        merged = {**self.lines, **lines}
        if sum(merged.values()) > self.total_fen:
            raise InvalidInput("HISTORY_EXCEEDS_TOTAL", f"phase {self.phase} would spend more than its total",
                               field="lines", details={"total_fen": self.total_fen, "lines_fen": sum(merged.values())},
                                   detail_zh=f"第 {self.phase} 期各项支出合计 {yuan_zh(sum(merged.values()))}，超过该期总额 {yuan_zh(self.total_fen)}。",
                               )
        return Phase(self.phase, self.label, self.total_fen, merged, {**self.measures, **measures})

    def not_counted(self, rule: Rule) -> int | None:
        """This phase's spend outside the rule's numerator; None when unknown."""
        if rule.lines is not None:
            return sum(v for k, v in self.lines.items() if k not in rule.lines)
        known = self.counted(rule)
        return None if known is None else max(0, sum(self.lines.values()) - known)


@dataclass(frozen=True)
class Money:
    """One payment's money as the share rules see it: by budget line (a tranche split across a
    package's items may touch several), its spending category, and the parts of it a measure
    names (a tranche's hardware amount). A measure not named explicitly is the whole amount
    when the category is that measure (a tranche classified ``hardware``), else nothing."""

    by_line: Mapping[str, int]
    category: str | None = None
    measures: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, line_code: str, category: str | None, amount_fen: int) -> Money:
        return cls({line_code: amount_fen}, category)

    @property
    def amount_fen(self) -> int:
        return sum(self.by_line.values())

    def measured(self, measure: str) -> int:
        if measure in self.measures:
            return self.measures[measure]
        return self.amount_fen if self.category == measure else 0

    def measured_all(self) -> dict[str, int]:
        names = set(self.measures) | ({self.category} if self.category else set())
        return {m: self.measured(m) for m in names}


def _as_money(money: Money | str | None, category: str | None, amount_fen: int) -> Money | None:
    if money is None or isinstance(money, Money):
        return money
    return Money.of(money, category, amount_fen)


@dataclass
class Spend:
    """This program's executed (not failed, not reversed) payments by line, spending category
    and measure (the category's whole amount unless a payment names the measured part)."""

    by_line: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_measure: dict[str, int] = field(default_factory=dict)

    def add(self, money: Money | str, category: str | None = None, amount_fen: int = 0, sign: int = 1) -> None:
        m = _as_money(money, category, amount_fen)
        assert m is not None
        for line, fen in m.by_line.items():
            self.by_line[line] = self.by_line.get(line, 0) + sign * fen
        if m.category is not None:
            self.by_category[m.category] = self.by_category.get(m.category, 0) + sign * m.amount_fen
        for measure, fen in m.measured_all().items():
            self.by_measure[measure] = self.by_measure.get(measure, 0) + sign * fen

    @property
    def total_fen(self) -> int:
        return sum(self.by_line.values())

    def counted(self, rule: Rule) -> int:
        if rule.lines is not None:
            return sum(v for k, v in self.by_line.items() if k in rule.lines)
        assert rule.measure is not None
        return self.by_measure.get(rule.measure, 0)


@dataclass(frozen=True)
class Justification:
    """The leading group's decision to depart from an "in principle" rule: the reason, who
    decided (a leading group member not linked to the payee) and when."""

    rule_code: str
    text: str
    recorded_by: str
    recorded_at: datetime
    recorded_by_name: str = ""

    def __post_init__(self) -> None:
        if not self.text.strip() or len(self.text) > MAX_JUSTIFICATION_CHARS:
            raise InvalidInput("JUSTIFICATION_TEXT_INVALID",
                               f"a justification is 1 to {MAX_JUSTIFICATION_CHARS} characters",
                               field="ratio_justifications",
                                   detail_zh=f"每条理由须为 1 至 {MAX_JUSTIFICATION_CHARS} 个字符。",
                               )

    def as_dict(self) -> dict[str, Any]:
        out = {"rule_code": self.rule_code, "text": self.text, "recorded_by": self.recorded_by,
               "recorded_at": self.recorded_at.isoformat()}
        if self.recorded_by_name:
            out["recorded_by_name"] = self.recorded_by_name
        return out


@dataclass(frozen=True)
class RuleStatus:
    rule: Rule
    denominator_fen: int
    before_fen: int  # money counted by the rule (known figures), before the payment
    after_fen: int
    other_after_fen: int  # money outside the rule after the payment (what a min rule is judged on)
    unknown_phases: tuple[str, ...]  # earlier phases whose figure for the rule is unknown
    affected: bool  # the payment adds to what the rule limits
    status: str  # met | breached | unverified | at_risk

    @property
    def breached(self) -> bool:
        return self.status == "breached"

    def refusal_zh(self, verb: str) -> str:
        """The breach in Chinese with its figures, e.g. 本笔付款后…累计占比为10.30%
        （2,060,000.00元/20,000,000.00元），原则上不得高于10%."""
        r, d = self.rule, self.denominator_fen
        if r.bound == "max":
            share, fen, relation = percent(self.after_fen, d), self.after_fen, "高于"
        else:  # a minimum that can no longer be reached: the money outside the rule is too much
            share, fen, relation = percent(d - self.other_after_fen, d), d - self.other_after_fen, "低于"
            return (f"本笔付款后，计入「{r.name}」以外的资金累计为{format_yuan(self.other_after_fen)}元，"
                    f"该项占累计资金{format_yuan(d)}元的比例最多只能达到{share}%（{format_yuan(fen)}元），"
                    f"{verb}{relation}{r.limit_text}%")
        return (f"本笔付款后「{r.name}」为{share}%（{format_yuan(fen)}元/累计资金{format_yuan(d)}元），"
                f"{verb}{relation}{r.limit_text}%")

    def as_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "rule": r.code, "name": r.name, "bound": r.bound, "on_breach": r.on_breach,
            "limit_percent": r.limit_text, "status": self.status,
            "share_before": str(percent(self.before_fen, self.denominator_fen)),
            "share_after": str(percent(self.after_fen, self.denominator_fen)),
            "counted_fen": self.after_fen, "outside_fen": self.other_after_fen,
            "denominator_fen": self.denominator_fen, "unverified_phases": list(self.unknown_phases),
            "affected": self.affected,
        }


@dataclass
class ShareBook:
    """A program's share rules, its earlier phases and its actual spend so far. The service
    builds it after locking the joint account (every payment and reversal locks it), so the
    spend it sees cannot change before the decision commits."""

    rules: list[Rule]
    history: list[Phase]
    program_total_fen: int
    spend: Spend = field(default_factory=Spend)

    @property
    def denominator_fen(self) -> int:
        return sum(h.total_fen for h in self.history) + self.program_total_fen

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def judge(self, money: Money | str | None = None, category: str | None = None,
              amount_fen: int = 0) -> list[RuleStatus]:
        """Every rule on actual spend, with the candidate payment (if any) added."""
        m = _as_money(money, category, amount_fen)
        return [self._judge(r, m) for r in self.rules]

    def _judge(self, rule: Rule, money: Money | None) -> RuleStatus:
        d = self.denominator_fen
        limit = rule.limit_percent
        known = [h.counted(rule) for h in self.history]
        unknown = tuple(h.phase for h, k in zip(self.history, known, strict=True) if k is None)
        before = sum(k for k in known if k is not None) + self.spend.counted(rule)
        counted_in = rule.counted_in(money) if money is not None else 0
        after = before + counted_in
        others = [h.not_counted(rule) for h in self.history]
        other_before = sum(o for o in others if o is not None) + self.spend.total_fen - self.spend.counted(rule)
        counted_out = money.amount_fen - counted_in if money is not None else 0
        other_after = other_before + counted_out
        if rule.bound == "max":
            affected = counted_in > 0
            if d > 0 and after * _HUNDRED > limit * d:
                status = "breached"
            else:
                status = "unverified" if unknown else "met"
        else:
            affected = counted_out > 0
            if d > 0 and after * _HUNDRED >= limit * d:
                status = "met"
            elif d > 0 and other_after * _HUNDRED > (_HUNDRED - limit) * d:
                status = "breached"  # the minimum can no longer be reached
            else:
                status = "unverified" if unknown else "at_risk"
        return RuleStatus(rule, d, before, after, other_after, unknown, affected, status)

    def check(self, money: Money | str, category: str | None = None, amount_fen: int = 0,
              justified: Iterable[str] = ()) -> list[RuleStatus]:
        """Refuse a payment that adds to a breached hard limit, or to a breached "in principle"
        rule without a justification; return every rule's status after it otherwise."""
        statuses = self.judge(money, category, amount_fen)
        errors = [s for s in statuses if s.affected and s.breached and s.rule.on_breach == "error"]
        if errors:
            first = errors[0]
            raise Conflict(
                "RATIO_LIMIT_EXCEEDED", first.refusal_zh("不得"),
                details={"rule": first.rule.code, "share_before": str(percent(first.before_fen, first.denominator_fen)),
                         "share_after": str(percent(first.after_fen, first.denominator_fen)),
                         "limit_percent": first.rule.limit_text, "bound": first.rule.bound,
                         "unverified_phases": list(first.unknown_phases), "rules": [s.as_dict() for s in errors]},
                             detail_zh=first.refusal_zh("不得") + "。",
                         )
        done = set(justified)
        missing = [s for s in statuses if s.affected and s.breached and s.rule.on_breach == "warning"
                   and s.rule.code not in done]
        if missing:
            raise Conflict(
                "RATIO_JUSTIFICATION_REQUIRED",
                "；".join(s.refusal_zh("原则上不得") for s in missing)
                + "。须由与收款单位无关联的领导小组成员作出决定并说明理由（ratio_justifications）后方可付款",
                field="ratio_justifications", details={"rules": [s.rule.code for s in missing],
                                                  "warnings": [s.as_dict() for s in missing]},
                                                      detail_zh="；".join(s.refusal_zh("原则上不得") for s in missing) + "。须由与收款单位无关联的领导小组成员作出决定并说明理由（ratio_justifications）后方可付款。",
                                                  )
        return statuses

    def record(self, money: Money | str, category: str | None = None, amount_fen: int = 0) -> None:
        """A payment was executed: later decisions in the same transaction see it."""
        self.spend.add(money, category, amount_fen)

    def reverse(self, money: Money | str, category: str | None = None, amount_fen: int = 0) -> None:
        """An executed payment failed at the bank: it is no longer spent."""
        self.spend.add(money, category, amount_fen, sign=-1)

    def report(self, budget_by_line: Mapping[str, int], budget_by_category: Mapping[str, int]) -> list[dict[str, Any]]:
        """Each rule's status on actual spend (met / breached / unverified / at_risk) with its
        plan figures; a ceiling still kept on actual spend whose plan exceeds it is at risk."""
        out = []
        for status, plan in zip(self.judge(), self.plan(budget_by_line, budget_by_category), strict=True):
            row = status.as_dict()
            for k in ("share_before", "affected"):
                row.pop(k)
            row["share"] = row.pop("share_after")
            if status.rule.bound == "max" and status.status == "met" and plan["status"] == "breached":
                row["status"] = "at_risk"
            row["plan"] = plan
            out.append(row)
        return out

    def plan(self, budget_by_line: Mapping[str, int], budget_by_category: Mapping[str, int]) -> list[dict[str, Any]]:
        """Every rule on the plan: earlier phases + this program's budgets (a minimum is judged
        directly: the plan is the intended end state)."""
        d = self.denominator_fen
        out = []
        for rule in self.rules:
            known = [h.counted(rule) for h in self.history]
            unknown = [h.phase for h, k in zip(self.history, known, strict=True) if k is None]
            if rule.lines is not None:
                mine = sum(v for k, v in budget_by_line.items() if k in rule.lines)
            else:
                mine = budget_by_category.get(rule.measure or "", 0)
            num = sum(k for k in known if k is not None) + mine
            if rule.bound == "max":
                bad = d > 0 and num * _HUNDRED > rule.limit_percent * d
            else:
                bad = d > 0 and num * _HUNDRED < rule.limit_percent * d
            status = "breached" if bad else ("unverified" if unknown else "met")
            out.append({"rule": rule.code, "share": str(percent(num, d)), "counted_fen": num, "status": status,
                        "unverified_phases": unknown})
        return out
