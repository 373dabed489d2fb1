"""FIXED (was a finding): GET /programs/{program_code}/postings.csv puts the raw path
parameter into the Content-Disposition header (services/funds/src/ruralfund_funds/entrypoints/
api.py, postings_csv, the `headers={"Content-Disposition": f'attachment; filename="{program_code}
-postings.csv"'}` line). A program code with a character outside Latin-1 (新平) makes Starlette
raise UnicodeEncodeError: a 500. A `"` in the code breaks the header's quoting. An unknown
program also answers 200 with an empty CSV instead of 404 like the other program reads.

Expected: 404 problem+json PROGRAM_NOT_FOUND for an unknown code (or, at the very least, a
4xx problem); the filename encoded per RFC 6266 (filename*=UTF-8''...), as claims' file
download does (services/claims/.../files_api.py).
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("code", ["新平-2021", 'x"; filename="evil.exe', "no-such-program"])
async def test_postings_csv_of_an_odd_or_unknown_program_is_a_problem_not_a_500(
    serve: Any, hostile: Any, code: str
) -> None:
    funds = await serve("funds")
    auditor = hostile.PEOPLE["auditor"]
    r = await funds.call("GET", f"/programs/{code}/postings.csv", auditor)
    assert hostile.problem_violation(r.status_code, r.headers, r.content) is None
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "PROGRAM_NOT_FOUND"
