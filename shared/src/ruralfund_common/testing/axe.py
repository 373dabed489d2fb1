"""An accessibility audit of a page open in a real browser: axe-core (npm ``axe-core``, pinned in
package.json, installed by ``make node-tools``) run inside the page by Playwright.

:func:`assert_accessible` fails on any ``serious`` or ``critical`` violation with one readable
line per offending element: rule id, impact, the element's selector, axe's help text and link.

How axe gets into the page: ``page.evaluate(<axe.min.js>)`` goes through the DevTools protocol,
which the page's Content-Security-Policy (the console's ``default-src 'self'``, notify's
``default-src 'none'``: no inline or injected script) does not govern, so the audit needs no
``bypass_csp`` (shared/tests/unit/test_axe.py proves it under ``default-src 'none'``). That matters: ``bypass_csp`` would also let inline
styles apply that real visitors' browsers block, and axe would judge a page nobody sees.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Final

__all__ = ["AXE_ENV", "FAILING_IMPACTS", "AccessibilityViolations", "assert_accessible", "axe_source"]

AXE_ENV: Final = "RURALFUND_AXE_JS"  # another axe.min.js, else node_modules/axe-core/axe.min.js
FAILING_IMPACTS: Final = ("serious", "critical")
# WCAG 2.1 A and AA (what #17 asks of every page) and axe's best practices (landmarks, one h1...)
RULE_TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


class AccessibilityViolations(AssertionError):
    """axe found serious or critical violations on a page."""


@cache
def axe_source() -> str:
    """axe.min.js from the repository's node_modules (found upwards from here or the working
    directory). Missing is a failure that says how to install it, never a skip."""
    wanted = os.environ.get(AXE_ENV)
    if wanted:
        return Path(wanted).read_text(encoding="utf-8")
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / "axe-core" / "axe.min.js"
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
    raise AccessibilityViolations(
        "axe-core is not installed: run `make node-tools` (npm ci; package.json pins axe-core) "
        f"or set {AXE_ENV} to an axe.min.js"
    )


async def audit(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (all impacts)."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    result = await page.evaluate(
        """async (tags) => {
            const r = await window.axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                      resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''}))}));
        }""",
        RULE_TAGS,
    )
    return list(result)


async def assert_accessible(page: Any, where: str) -> list[dict[str, Any]]:
    """Fails when axe reports a serious or critical violation on ``page`` (``where`` names the
    page in the message); returns the milder ones (moderate, minor) for the caller to report."""
    violations = await audit(page)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    if failing:
        lines = [f"axe-core: {len(failing)} serious/critical rule(s) violated on {where} ({page.url}):"]
        for v in failing:
            lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:10]:
                summary = " ".join(node["summary"].split())
                lines.append(f"    {node['target']}: {summary[:300]}")
        raise AccessibilityViolations("\n".join(lines))
    return [v for v in violations if v["impact"] not in FAILING_IMPACTS]
