"""Values PostgreSQL cannot store whatever the column: a NUL character (U+0000) in text or in
a JSON document. Found by the OpenAPI fuzzing (funds' POST /payment-approvals answered 500):
the common edge now answers 422 VALUE_NOT_STORABLE (problem+json), a name refuses it as a control
character (422 INVALID_INPUT naming the field), and nothing is stored.
notify's public form drops control characters before storing, so there it is accepted."""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

NUL: Final = "新平\u0000礼好"


def _cases(hostile: Any) -> dict[str, tuple[str, str, dict[str, Any], str]]:
    """service -> (who, path, body, table that must not grow)."""
    station = hostile.center_body() | {"name": NUL}
    enterprise = hostile.enterprise_body(hostile.CONTRACTOR, NUL) | {"program_code": None}
    return {
        "claims": ("bureau_admin", "/enterprises", enterprise, "enterprises"),
        "funds": (
            "leading_group", "/payment-approvals",
            {"approvals": [{"payment_id": NUL, "content_sha256": "ab" * 32}]}, "approvals",
        ),
        "logistics": ("bureau_admin", "/stations", station, "stations"),
    }  # fmt: skip


@pytest.mark.parametrize("service", ["claims", "funds", "logistics"])
async def test_a_nul_character_is_refused_as_input_not_a_500(
    serve: Any, hostile: Any, service: str
) -> None:
    served = await serve(service, seed=False)
    who, path, body, table = _cases(hostile)[service]
    before = await served.sql(f"SELECT count(*) FROM {table}")
    r = await served.call(
        "POST", path, hostile.PEOPLE[who], json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    problem = hostile.assert_refused(r, None)
    # names refuse every control character at input (SingleLine: INVALID_INPUT naming the
    # field); elsewhere the common edge refuses what PostgreSQL cannot store
    assert problem["code"] in ("VALUE_NOT_STORABLE", "INVALID_INPUT"), problem
    if problem["code"] == "INVALID_INPUT":
        assert problem.get("field") == "name" and "U+0000" in problem["detail"], problem
    assert await served.sql(f"SELECT count(*) FROM {table}") == before


async def test_notify_drops_a_nul_character_from_a_public_objection(serve: Any) -> None:
    """The public form cleans control characters out of what people type (a NUL included)."""
    notify = await serve("notify")
    notices = await eventually(_published(notify), description="the seeded notice is published")
    page = await notify.http.get(
        f"/publicity/notices/{notices[0]}", headers={"Accept": "text/html"}
    )
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token, "the notice page offers an objection form"
    form = {
        "form_token": token.group(1),
        "name": "李四",
        "contact": "13987654321",
        "email": "lisi@example.cn",
        "reason": "该企业实际使用的带标识包装箱数量与申报不符\u0000，请核查。",
    }
    r = await notify.http.post(f"/publicity/notices/{notices[0]}/objections", data=form)
    assert r.status_code == 201, r.text
    reason = await notify.sql("SELECT reason FROM objections")
    assert reason == "该企业实际使用的带标识包装箱数量与申报不符，请核查。"


def _published(notify: Any) -> Any:
    async def ids() -> list[str]:
        items = (await notify.http.get("/publicity/notices.json")).json()["items"]
        return [n["id"] for n in items]

    return ids
