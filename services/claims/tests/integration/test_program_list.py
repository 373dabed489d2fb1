"""GET /programs lists every program, paged; unknown query parameters are refused (#17)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_programs_are_listed_by_code_with_their_budget_and_paged(claims) -> None:
    await claims.load_xinping()
    await claims.load_program_file("ruyuan-2021-p2.yaml")
    first = await claims.http.get("/programs", params={"limit": 1}, headers=claims.ENTERPRISE)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [p["code"] for p in page["items"]] == ["ruyuan-2021-p2"] and page["next_cursor"]
    second = await claims.http.get("/programs", params={"limit": 1, "cursor": page["next_cursor"]},
                                   headers=claims.ENTERPRISE)
    (xinping,) = second.json()["items"]
    assert xinping["code"] == "xinping-2021" and xinping["county_name"].startswith("新平")
    assert xinping["status"] == "active" and xinping["total_yuan"].endswith(".00")
    assert second.json()["next_cursor"] is None


async def test_listing_programs_needs_a_token_and_refuses_unknown_filters(claims) -> None:
    assert (await claims.http.get("/programs")).status_code == 401
    r = await claims.http.get("/programs", params={"county": "530427"}, headers=claims.ADMIN)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "UNKNOWN_QUERY_PARAMETER" and problem["field"] == "county"
    assert "county" in problem["detail_zh"] and problem["title_zh"] == "未知的查询参数"


async def test_an_unknown_filter_on_claims_is_refused_not_ignored(claims) -> None:
    """Before #17 ``?statuss=approved`` answered every claim as if it had filtered them."""
    r = await claims.http.get("/claims", params={"statuss": "approved"}, headers=claims.ADMIN)
    assert r.status_code == 400 and r.json()["field"] == "statuss", r.text
    known = await claims.http.get("/claims", params={"status": "approved", "limit": 5}, headers=claims.ADMIN)
    assert known.status_code == 200, known.text
