"""WCAG 2.1 AA contrast of the public pages (1.4.3): every text colour of the stylesheet in
base.html against the background it is drawn on is at least 4.5:1. The old footer and
withdrawn rows (#777 on white, 4.48:1; on the revoked row's pink, 3.9:1) were below it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import ruralfund_notify

BASE_HTML = Path(ruralfund_notify.__file__).parent / "templates/public/base.html"
AA_TEXT_RATIO = 4.5
# The browser's own link colours (the stylesheet does not set them): links are text too.
UA_LINK_COLOURS = ("#0000ee", "#551a8b")
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _hex_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rules() -> list[tuple[str, dict[str, str]]]:
    css = BASE_HTML.read_text().split("<style>")[1].split("</style>")[0]
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    rules = []
    for selector, body in RULE.findall(css):
        declarations = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                declarations[name.strip()] = value.strip()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def _colour(value: str | None) -> str | None:
    found = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value or "")
    if not found:
        return None
    digits = found.group(0)[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _background(declarations: dict[str, str]) -> str | None:
    return _colour(declarations.get("background-color") or declarations.get("background"))


def colour_pairs() -> list[tuple[str, str, str]]:
    """(where, text colour, background). A rule with both is one pair; a text colour without its
    own background is drawn on its ancestor's (``header a`` on ``header``) or, when no rule
    says, on every surface of the page (the body's, those of rules that set no text colour,
    the white ``main``): conservative, a colour must be readable on all of them."""
    rules = _rules()
    backgrounds = {sel: bg for sel, d in rules if (bg := _background(d))}
    surfaces = {bg for sel, d in rules if (bg := _background(d)) and ("color" not in d or sel == "body")}
    surfaces.add("#ffffff")
    pairs = []
    for selector, declarations in rules:
        text = _colour(declarations.get("color"))
        if text is None:
            continue
        if own := _background(declarations):
            pairs.append((selector, text, own))
            continue
        ancestor = selector.split()[0].split("::")[0]
        classes = {f".{c}" for c in re.findall(r"\.([\w-]+)", ancestor)}
        on = [bg for sel, bg in backgrounds.items() if sel in ({ancestor} | classes) and sel != selector]
        pairs += [(selector, text, bg) for bg in (on or surfaces)]
    pairs += [(f"link {link}", link, bg) for link in UA_LINK_COLOURS for bg in surfaces]
    return pairs


def test_the_ratio_is_wcags():
    assert contrast_ratio("#000", "#fff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#595959", "#ffffff") == pytest.approx(7.0, abs=0.01)


def test_the_stylesheet_has_colour_pairs_to_check():
    pairs = colour_pairs()
    assert ("header a", "#ffffff", "#b71c1c") in pairs  # on its ancestor's background
    assert ("footer", "#595959", "#f6f6f6") in pairs  # on every surface
    assert len(pairs) >= 10


@pytest.mark.parametrize(("where", "text", "background"), colour_pairs())
def test_every_text_colour_meets_aa_on_its_background(where, text, background):
    ratio = contrast_ratio(text, background)
    assert ratio >= AA_TEXT_RATIO, f"{where}: {text} on {background} is {ratio:.2f}:1, below 4.5:1"
