"""The bureau's search over claims and the registry (#17): by credit code, name fragment,
period and status, paged; and ``recusal_required`` computed for the caller, so a page can
say "须回避" before anyone clicks."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def _two_enterprises_with_claims(claims) -> tuple[dict, dict, dict]:
    await claims.load_xinping()
    await claims.register()
    await claims.register(claims.OTHER, name="新平_百分%合作社", kind="enterprise")
    first = (await claims.submit(quarter="2023Q3")).json()
    second = (await claims.submit(quarter="2023Q4")).json()
    other = await claims.submit(quarter="2023Q3", headers=claims.OTHER_ENTERPRISE)
    assert other.status_code == 201, other.text
    return first, second, other.json()


async def _ids(claims, headers=None, **params) -> list[str]:
    r = await claims.http.get("/claims", params=params, headers=headers or claims.ADMIN)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def test_the_bureau_finds_claims_by_credit_code_name_period_and_status(claims) -> None:
    first, second, other = await _two_enterprises_with_claims(claims)
    assert await _ids(claims, credit_code=claims.LOCAL) == [first["id"], second["id"]]
    assert await _ids(claims, credit_code=claims.LOCAL.lower(), period="2023Q4") == [second["id"]]
    assert await _ids(claims, period="2023Q3") == [first["id"], other["id"]]
    assert await _ids(claims, enterprise="礼好") == [first["id"], second["id"]]
    # the name's own % and _ are letters, not wildcards
    assert await _ids(claims, enterprise="_百分%") == [other["id"]]
    assert await _ids(claims, enterprise="%") == [other["id"]]
    review = await claims.http.post(f"/claims/{second['id']}/review", json={"outcome": "complete"},
                                    headers=claims.ADMIN)
    assert review.status_code == 200, review.text
    assert await _ids(claims, credit_code=claims.LOCAL, status="submitted") == [first["id"]]
    assert await _ids(claims, status="awaiting_decision", item="brand-packaging") == [second["id"]]
    # an enterprise searching for another's claims finds none
    assert await _ids(claims, claims.ENTERPRISE, credit_code=claims.OTHER) == []


async def test_search_pages_and_refuses_bad_or_unknown_parameters(claims) -> None:
    first, second, _ = await _two_enterprises_with_claims(claims)
    r = await claims.http.get("/claims", params={"credit_code": claims.LOCAL, "limit": 1}, headers=claims.ADMIN)
    page = r.json()
    assert [c["id"] for c in page["items"]] == [first["id"]] and page["next_cursor"]
    r = await claims.http.get("/claims", params={"credit_code": claims.LOCAL, "limit": 1,
                                                 "cursor": page["next_cursor"]}, headers=claims.ADMIN)
    assert [c["id"] for c in r.json()["items"]] == [second["id"]] and r.json()["next_cursor"] is None
    r = await claims.http.get("/claims", params={"credit_code": "123"}, headers=claims.ADMIN)
    assert r.status_code in (400, 422) and r.json()["field"].endswith("credit_code"), r.text
    r = await claims.http.get("/claims", params={"name": "礼好"}, headers=claims.ADMIN)
    assert r.status_code == 400 and r.json()["field"] == "name", r.text
    assert "name" in r.json()["detail_zh"]
    r = await claims.http.get("/enterprises", params={"search": "礼好"}, headers=claims.ADMIN)
    assert r.status_code == 400 and r.json()["field"] == "search", r.text


async def test_the_registry_is_searched_by_name_or_code(claims) -> None:
    await _two_enterprises_with_claims(claims)

    async def codes(**params) -> list[str]:
        r = await claims.http.get("/enterprises", params=params, headers=claims.ADMIN)
        assert r.status_code == 200, r.text
        return [e["credit_code"] for e in r.json()["items"]]

    assert await codes(q="礼好") == [claims.LOCAL]
    assert await codes(q=claims.OTHER[:12].lower()) == [claims.OTHER]
    assert await codes(q="合作社") == [claims.OTHER]
    assert sorted(await codes()) == sorted([claims.LOCAL, claims.OTHER])
    assert await codes(q="没有这个企业") == []


async def test_recusal_required_is_said_to_the_conflicted_member_before_they_decide(claims) -> None:
    first, _, other = await _two_enterprises_with_claims(claims)
    for claim in (first, other):
        r = await claims.http.post(f"/claims/{claim['id']}/review", json={"outcome": "complete"},
                                   headers=claims.ADMIN)
        assert r.status_code == 200, r.text
    r = await claims.http.get("/claims", params={"status": "awaiting_decision"}, headers=claims.LINKED_MEMBER)
    seen = {c["id"]: c["recusal_required"] for c in r.json()["items"]}
    assert seen == {first["id"]: True, other["id"]: False}
    detail = await claims.http.get(f"/claims/{first['id']}", headers=claims.LINKED_MEMBER)
    assert detail.json()["recusal_required"] is True
    texts = [r["text_zh"] for r in detail.json()["reasons"]]
    assert "使用数量：12,345，要求不低于 10,000" in texts  # the rule, in Chinese
    assert (await claims.http.get(f"/claims/{first['id']}", headers=claims.MEMBER)).json()["recusal_required"] is False
    # the decision itself still refuses, in Chinese, naming the enterprise
    r = await claims.http.post(f"/claims/{first['id']}/decision", json={"decision": "approve"},
                               headers=claims.LINKED_MEMBER)
    assert r.status_code == 403 and r.json()["code"] == "RECUSAL_REQUIRED", r.text
    assert claims.LOCAL in r.json()["detail_zh"] and r.json()["title_zh"] == "存在利害关系，须回避"
