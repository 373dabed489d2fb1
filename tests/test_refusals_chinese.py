"""Every refusal a person can meet says, in Chinese, what it is and why (issue 17).

Read from the source (no service runs): each place that makes a ``DomainError`` (or one of its
subclasses, wherever defined) must give

- a Chinese detail: a ``detail_zh=`` argument, or a subclass whose own ``__init__`` gives one;
  a literal (plain or f-string) must contain Chinese, so ``detail_zh=""`` or an English text
  does not count;
- a specific Chinese title: a ``title_zh=`` argument, or its code in the service's title map
  (the one it hands to ``build_service_app``) or in the shared one; never one of the generic
  by-status titles ("冲突" for every 409).

tests/hostile/test_refusals_chinese.py checks the same on the wire, per service.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from ruralfund_common.http import _TITLE_ZH_BY_CODE, GENERIC_TITLES_ZH

ROOT: Final = Path(__file__).resolve().parents[1]
BASES: Final = frozenset({"DomainError", "InvalidInput", "NotFound", "Forbidden", "Conflict"})
CJK: Final = re.compile(r"[\u3400-\u9fff]")

# Where refusals are made, and the title map each hands to build_service_app.
SOURCES: Final[Mapping[str, tuple[Path, str | None]]] = {
    "shared": (ROOT / "shared/src", None),
    "claims": (ROOT / "services/claims/src", "ruralfund_claims.domain.refusals:TITLES_ZH"),
    "funds": (ROOT / "services/funds/src", "ruralfund_funds.entrypoints.api:TITLES_ZH"),
    "logistics": (ROOT / "services/logistics/src", "ruralfund_logistics.domain.refusals:TITLES_ZH"),
    "notify": (ROOT / "services/notify/src", "ruralfund_notify.domain.refusals:TITLES_ZH"),
}


@dataclass(frozen=True)
class Site:
    where: str
    code: str | None  # None: the code is computed
    call: ast.Call


@functools.cache
def _trees() -> dict[Path, ast.Module]:
    files = [p for root, _ in SOURCES.values() for p in sorted(root.rglob("*.py"))]
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in files}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _family(trees: Mapping[Path, ast.Module]) -> dict[str, ast.ClassDef | None]:
    """Every DomainError subclass by name (None: the shared bases), to a fixed point."""
    classes = [c for t in trees.values() for c in ast.walk(t) if isinstance(c, ast.ClassDef)]
    family: dict[str, ast.ClassDef | None] = dict.fromkeys(BASES)
    grew = True
    while grew:
        grew = False
        for c in classes:
            if c.name not in family and any(_name(b) in family for b in c.bases):
                family[c.name], grew = c, True
    for name in BASES:  # the shared bases themselves, not a same-named class elsewhere
        family[name] = None
    return family


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _literal_text(node: ast.expr) -> str | None:
    """A literal's text (an f-string's fixed parts), None for a computed value."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        return None if left is None or right is None else left + right  # a computed part: judged at run time
    if isinstance(node, ast.IfExp):
        texts = [_literal_text(node.body), _literal_text(node.orelse)]
        return None if None in texts else min(texts, key=lambda t: len(CJK.findall(t or "")))
    return None


def _chinese(node: ast.expr | None) -> bool:
    """Given, and when literal, Chinese: an empty or English text is no detail."""
    if node is None:
        return False
    text = _literal_text(node)
    return text is None or bool(CJK.search(text))


def _super_init(cls: ast.ClassDef) -> ast.Call | None:
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _name(call.func) == "__init__":
                    return call
    return None


def _gives(cls: ast.ClassDef | None, family: Mapping[str, ast.ClassDef | None], member: str) -> bool:
    """Whether constructing ``cls`` supplies ``member`` itself (its __init__ passes a Chinese literal
    or a value it computes, rather than forwarding a parameter of the same name)."""
    while cls is not None:
        init = _super_init(cls)
        value = _keyword(init, member) if init is not None else None
        if value is not None:  # given here; a parameter of the same name is the caller's to give
            return not (isinstance(value, ast.Name) and value.id == member) and _chinese(value)
        cls = next((family.get(n) for b in cls.bases if (n := _name(b)) in family), None)
    return False


def _code(call: ast.Call, cls: ast.ClassDef | None, family: Mapping[str, ast.ClassDef | None]) -> str | None:
    while cls is not None and _super_init(cls) is None:  # the nearest class that calls its base
        cls = next((family.get(n) for b in cls.bases if (n := _name(b)) in family), None)
    init = _super_init(cls) if cls is not None else None
    for made in (init, call) if init is not None else (call,):  # a subclass may name its code itself
        node = made.args[0] if made.args else _keyword(made, "code")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    for stmt in cls.body if cls is not None else ():  # class attribute `code = "..."`
        if (isinstance(stmt, ast.Assign) and any(_name(t) == "code" for t in stmt.targets)
                and isinstance(stmt.value, ast.Constant)):  # fmt: skip
            return stmt.value.value
    return None


def _sites(service: str) -> Iterator[tuple[Site, bool, bool]]:
    """(site, gives a Chinese detail, gives a specific Chinese title) for each refusal made."""
    trees = _trees()
    family = _family(trees)
    root, map_path = SOURCES[service]
    titles = dict(_TITLE_ZH_BY_CODE)
    if map_path:
        module, attr = map_path.split(":")
        titles |= getattr(importlib.import_module(module), attr)
    for path, tree in trees.items():
        if not path.is_relative_to(root):
            continue
        classes = {c.name: c for c in ast.walk(tree) if isinstance(c, ast.ClassDef)}
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = _name(call.func)
            if name == "__init__":  # super().__init__ inside a refusal class: judged at its construction
                continue
            if name not in family:
                continue
            cls = family[name] or classes.get(name) if name not in BASES else None
            code = _code(call, cls, family)
            site = Site(f"{path.relative_to(ROOT)}:{call.lineno}", code, call)
            detail = _chinese(_keyword(call, "detail_zh")) or _gives(cls, family, "detail_zh")
            title_node = _keyword(call, "title_zh")
            literal = _literal_text(title_node) if title_node is not None else None
            title = (
                (title_node is not None and _chinese(title_node) and literal not in GENERIC_TITLES_ZH)
                or _gives(cls, family, "title_zh")
                or (code is not None and titles.get(code, "") not in ("", *GENERIC_TITLES_ZH))
            )
            yield site, detail, title


@pytest.mark.parametrize("service", list(SOURCES))
def test_every_refusal_has_a_chinese_detail_and_a_specific_chinese_title(service: str) -> None:
    gaps = [f"{s.where} {s.code or '(computed code)'}: " + ", ".join(
        what for what, ok in (("no Chinese detail_zh", detail), ("no specific title_zh", title)) if not ok)
        for s, detail, title in _sites(service) if not (detail and title)]  # fmt: skip
    assert not gaps, f"{len(gaps)} refusals a person would read in English or under a generic title:\n" + "\n".join(gaps)


def test_the_check_cannot_be_fooled_by_an_empty_or_english_text() -> None:
    for source, ok in (('X("C", "m", detail_zh="")', False), ('X("C", "m", detail_zh="see docs")', False),
                       ('X("C", "m", detail_zh=f"{n} left")', False), ('X("C", "m", detail_zh=None)', False),
                       ('X("C", "m", detail_zh=f"剩余 {n}")', True), ('X("C", "m", detail_zh=text)', True)):  # fmt: skip
        call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
        assert _chinese(_keyword(call, "detail_zh")) is ok, source


def test_the_title_maps_hold_no_generic_title() -> None:
    for service, (_, map_path) in SOURCES.items():
        if map_path:
            module, attr = map_path.split(":")
            generic = {c: t for c, t in getattr(importlib.import_module(module), attr).items() if t in GENERIC_TITLES_ZH}
            assert not generic, f"{service}: {generic}"
