"""Share rules on the cumulative fund, judged on ACTUAL spend (Ruyuan attachment 2: hardware and
decoration ≤ 10 %, logistics "in principle" ≥ 50 %, training ≤ 15 % of phases 1 + 2 together).

- denominator: the cumulative fund = every earlier phase's total + this program's total;
- numerator: earlier phases' spend on the rule's lines (or of its measure) + this program's
  executed payments on those lines (or of that spending category) + the payment being decided;
- max rule: breached when numerator × 100 > limit × denominator;
- min rule: on actual spend a minimum can only be judged as "can no longer be reached": breached
  when the money NOT on the rule's lines exceeds (100 − limit) % of the denominator;
- an earlier phase's measure that was never recorded is unknown, never zero: a max rule is judged
  on the known figures (the unknown can only add) and reported ``unverified``.

A payment that adds to a breached rule is refused (``RATIO_LIMIT_EXCEEDED``) when the rule's
``on_breach`` is ``error``; when it is ``warning`` ("in principle", 原则上) it needs a recorded
justification (``RATIO_JUSTIFICATION_REQUIRED`` otherwise). Exact integer and Fraction math only:
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

__all__ = ["Rule", "Phase", "Spend", "RuleStatus", "Justification", "ShareBook", "MAX_JUSTIFICATION_CHARS",
           "MAX_JUSTIFICATIONS", "percent"]

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
                               field=f"lines.{unknown[0]}")
        for name, figures in (("lines", lines), ("measures", measures)):
            for code, fen in figures.items():
                if fen < 0 or fen > self.total_fen:
                    raise InvalidInput("FIGURE_OUT_OF_RANGE", f"{code} must be between 0 and the phase total",
                                       field=f"{name}.{code}")
        merged = {**self.lines, **lines}
        if sum(merged.values()) > self.total_fen:
            raise InvalidInput("HISTORY_EXCEEDS_TOTAL", f"phase {self.phase} would spend more than its total",
                               field="lines", details={"total_fen": self.total_fen, "lines_fen": sum(merged.values())})
        return Phase(self.phase, self.label, self.total_fen, merged, {**self.measures, **measures})

    def not_counted(self, rule: Rule) -> int | None:
        """This phase's spend outside the rule's numerator; None when unknown."""
        if rule.lines is not None:
            return sum(v for k, v in self.lines.items() if k not in rule.lines)
        known = self.counted(rule)
        return None if known is None else max(0, sum(self.lines.values()) - known)


@dataclass
class Spend:
    """This program's executed (not failed, not reversed) payments by line and spending category."""

    by_line: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    # (line, category) pairs: a measure rule's complement needs both dimensions
    by_class: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def add(self, line_code: str, category: str | None, amount_fen: int) -> None:
        self.by_line[line_code] = self.by_line.get(line_code, 0) + amount_fen
        if category is not None:
            self.by_category[category] = self.by_category.get(category, 0) + amount_fen
        key = (line_code, category)
        self.by_class[key] = self.by_class.get(key, 0) + amount_fen

    @property
    def total_fen(self) -> int:
        return sum(self.by_line.values())

    def counted(self, rule: Rule) -> int:
        return sum(v for (line, cat), v in self.by_class.items() if rule.counts(line, cat))


@dataclass(frozen=True)
class Justification:
    """A recorded reason for departing from an "in principle" rule (who, when)."""

    rule_code: str
    text: str
    recorded_by: str
    recorded_at: datetime

    def __post_init__(self) -> None:
        if not self.text.strip() or len(self.text) > MAX_JUSTIFICATION_CHARS:
            raise InvalidInput("JUSTIFICATION_TEXT_INVALID",
                               f"a justification is 1 to {MAX_JUSTIFICATION_CHARS} characters",
                               field="ratio_justifications")

    def as_dict(self) -> dict[str, Any]:
        return {"rule_code": self.rule_code, "text": self.text, "recorded_by": self.recorded_by,
                "recorded_at": self.recorded_at.isoformat()}


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

    def judge(self, line_code: str | None = None, category: str | None = None, amount_fen: int = 0) -> list[RuleStatus]:
        """Every rule on actual spend, with the candidate payment (if any) added."""
        return [self._judge(r, line_code, category, amount_fen) for r in self.rules]

    def _judge(self, rule: Rule, line_code: str | None, category: str | None, amount_fen: int) -> RuleStatus:
        d = self.denominator_fen
        limit = rule.limit_percent
        known = [h.counted(rule) for h in self.history]
        unknown = tuple(h.phase for h, k in zip(self.history, known, strict=True) if k is None)
        before = sum(k for k in known if k is not None) + self.spend.counted(rule)
        affected_in = line_code is not None and rule.counts(line_code, category)
        after = before + (amount_fen if affected_in else 0)
        others = [h.not_counted(rule) for h in self.history]
        other_before = sum(o for o in others if o is not None) + self.spend.total_fen - self.spend.counted(rule)
        affected_out = line_code is not None and not affected_in and amount_fen > 0
        other_after = other_before + (amount_fen if affected_out else 0)
        if rule.bound == "max":
            affected = affected_in and amount_fen > 0
            if d > 0 and after * _HUNDRED > limit * d:
                status = "breached"
            else:
                status = "unverified" if unknown else "met"
        else:
            affected = affected_out
            if d > 0 and after * _HUNDRED >= limit * d:
                status = "met"
            elif d > 0 and other_after * _HUNDRED > (_HUNDRED - limit) * d:
                status = "breached"  # the minimum can no longer be reached
            else:
                status = "unverified" if unknown else "at_risk"
        return RuleStatus(rule, d, before, after, other_after, unknown, affected, status)

    def check(self, line_code: str, category: str | None, amount_fen: int,
              justified: Iterable[str]) -> list[RuleStatus]:
        """Refuse a payment that adds to a breached hard limit, or to a breached "in principle"
        rule without a justification; return every rule's status after it otherwise."""
        statuses = self.judge(line_code, category, amount_fen)
        errors = [s for s in statuses if s.affected and s.breached and s.rule.on_breach == "error"]
        if errors:
            first = errors[0]
            raise Conflict(
                "RATIO_LIMIT_EXCEEDED",
                f"this payment would take '{first.rule.name}' to {percent(first.after_fen, first.denominator_fen)}% "
                f"of the cumulative fund ({first.rule.bound} {first.rule.limit_text}%)",
                details={"rule": first.rule.code, "share_before": str(percent(first.before_fen, first.denominator_fen)),
                         "share_after": str(percent(first.after_fen, first.denominator_fen)),
                         "limit_percent": first.rule.limit_text, "bound": first.rule.bound,
                         "unverified_phases": list(first.unknown_phases), "rules": [s.as_dict() for s in errors]})
        done = set(justified)
        missing = [s for s in statuses if s.affected and s.breached and s.rule.on_breach == "warning"
                   and s.rule.code not in done]
        if missing:
            raise Conflict(
                "RATIO_JUSTIFICATION_REQUIRED",
                "this payment departs from an 'in principle' share rule: give ratio_justifications for "
                + ", ".join(s.rule.code for s in missing),
                field="ratio_justifications", details={"warnings": [s.as_dict() for s in missing]})
        return statuses

    def record(self, line_code: str, category: str | None, amount_fen: int) -> None:
        """A payment was executed: later decisions in the same transaction see it."""
        self.spend.add(line_code, category, amount_fen)

    def reverse(self, line_code: str, category: str | None, amount_fen: int) -> None:
        """An executed payment failed at the bank: it is no longer spent."""
        self.spend.add(line_code, category, -amount_fen)

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
