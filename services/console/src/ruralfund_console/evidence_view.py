"""A claim's evidence as people read it, using the claim form the claims service describes
(``GET /programs/{code}/items/{item}`` → ``form``): each field under its Chinese label, money as
97,531.00 元, days as 2026年10月13日, periods as 2023年第3季度, and a list field (month-by-month
sales) as a small table with the columns' labels — never a Python or JSON repr.

Pure functions (no I/O): the field descriptions are the service's, nothing is re-described here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ruralfund_common.money import parse_yuan

from .formatting import date_zh, yuan_zh

__all__ = ["EvidenceEntry", "evidence_entries", "value_zh"]

_QUARTER: Final = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH: Final = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class EvidenceEntry:
    """One field of the evidence: ``text`` for a single value, ``columns``/``rows`` for a list."""

    label: str
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    figures: list[bool] = field(default_factory=list)  # per column: a figure (right-aligned)
    key: str = ""  # the evidence's own path, shown only when the form does not name the field


def value_zh(value: Any, kind: str, unit_zh: str | None = None,
             choices: list[Mapping[str, Any]] | None = None) -> str:
    """One value as people read it; what cannot be read as its kind is shown as given."""
    if value is None or value == "":
        return "—"
    if kind == "boolean" or isinstance(value, bool):
        return "是" if value else "否"
    for c in choices or []:
        if str(c.get("value")) == str(value):
            return str(c["label_zh"])
    text = str(value)
    try:
        if kind == "yuan":
            return yuan_zh(parse_yuan(text))
        if kind == "date":
            return date_zh(text)
    except (TypeError, ValueError, OverflowError):
        return text
    if kind == "quarter" and (m := _QUARTER.match(text)):
        return f"{m[1]}年第{m[2]}季度"
    if kind == "month" and (m := _MONTH.match(text)):
        return f"{m[1]}年{int(m[2])}月"
    if kind == "year" and text.isdigit():
        return f"{text}年"
    if isinstance(value, int):
        text = f"{value:,}"
    return f"{text} {unit_zh}" if unit_zh else text


def _at(evidence: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = evidence
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _leaves(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}.{k}" if prefix else str(k))]
    return [(prefix, value)]


def _raw(value: Any) -> str:
    """A value the form does not describe: plain text, lists and objects as compact JSON text."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def evidence_entries(evidence: Mapping[str, Any], form: Mapping[str, Any] | None) -> list[EvidenceEntry]:
    """The evidence's fields in the form's order, then any the form does not name (by key)."""
    out: list[EvidenceEntry] = []
    described: set[str] = set()
    for f in (form or {}).get("fields", []):
        found, value = _at(evidence, f["name"])
        if not found:
            continue
        described.add(f["name"])
        if f["input"] == "rows" and isinstance(value, list):
            cols = f.get("columns") or []
            out.append(EvidenceEntry(
                f["label_zh"], columns=[c["label_zh"] for c in cols],
                figures=[c["input"] in ("yuan", "integer") for c in cols],
                rows=[[value_zh(row.get(c["name"]) if isinstance(row, Mapping) else None, c["input"], c.get("unit_zh"))
                       for c in cols] for row in value]))
        else:
            unit = None if f["input"] == "yuan" else f.get("unit_zh")  # money carries its 元 already
            out.append(EvidenceEntry(f["label_zh"], value_zh(value, f["input"], unit, f.get("choices"))))
    for path, value in _leaves(evidence, ""):
        if path and not any(path == d or path.startswith(d + ".") for d in described):
            out.append(EvidenceEntry("", _raw(value), key=path))
    return out
