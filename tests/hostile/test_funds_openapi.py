"""schemathesis against the funds service's OpenAPI: no 5xx, every 4xx a problem+json body.

Bounded (`FUZZ_EXAMPLES` per operation, caller and mode); `RURALFUND_HOSTILE_DEEP=1` runs a
deeper, randomised search with shrinking.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

# "METHOD /path" -> the finding it is excluded for (see tests/hostile/pending/).
KNOWN: dict[str, str] = {}


async def test_funds_openapi_holds_against_generated_input(serve: Any, hostile: Any) -> None:
    served = await serve("funds")
    report = await hostile.fuzz(served, skip=KNOWN)
    print(f"funds: {report.summary()}; not generated: {report.not_generated}")
    assert report.operations >= 20 and report.requests > report.operations
    assert not report.findings, "\n\n".join(report.findings)
