"""The bureau resolves objections to publicity notices in the console, against a real notify
(and funds, which held the award when the objection came in)."""

from __future__ import annotations

import re

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ADMIN = person("Admin Wang", Role.BUREAU_ADMIN)


async def test_the_bureau_dismisses_an_objection_with_a_reason(objected) -> None:
    world, oid = objected.world, objected.objection_id
    home = await world.sign_in("王科长")
    assert 'href="/staff/objections"' in home
    page = await world.console.get("/staff/objections")
    assert page.status_code == 200, page.text
    card = page.text.split(f'id="objection-{oid}"')[1].split("</article>")[0]
    assert objected.notice["awardee_name"] in card and "50,000.00 元" in card and "李四" in card
    assert "申报数量不实" in card and "XINPING-2021-" in card and "待处理" in card
    csrf = CSRF.search(page.text).group(1)

    # no reason: refused by notify in Chinese, beside this objection; nothing changes
    r = await world.console.post(f"/staff/objections/{oid}/resolve",
                                 data={"csrf": csrf, "outcome": "dismissed", "reason": " "})
    assert r.status_code == 422, r.text
    assert f'id="err-{oid}"' in r.text and "处理异议须写明理由" in r.text
    status = (await objected.notify.get(f"/objections/{oid}", headers=bearer(ADMIN))).json()["status"]
    assert status == "pending"

    reason = "经核查，包装箱采购发票与出库单一致，异议不成立。"
    r = await world.console.post(f"/staff/objections/{oid}/resolve",
                                 data={"csrf": csrf, "outcome": "dismissed", "reason": reason})
    assert r.status_code == 303 and r.headers["location"] == "/staff/objections", r.text
    resolved = (await objected.notify.get(f"/objections/{oid}", headers=bearer(ADMIN))).json()
    assert (resolved["status"], resolved["resolution_reason"]) == ("dismissed", reason)
    page = await world.console.get("/staff/objections")
    assert f'id="objection-{oid}"' not in page.text and "暂无待处理的异议" in page.text
    page = await world.console.get("/staff/objections", params={"status": "dismissed"})
    assert reason in page.text and "异议不成立" in page.text

    # resolving again is refused, in Chinese, with the recorded outcome
    r = await world.console.post(f"/staff/objections/{oid}/resolve",
                                 data={"csrf": csrf, "outcome": "upheld", "reason": "再议"})
    assert r.status_code == 409 and "已处理（异议不成立）" in r.text


async def test_a_leading_group_member_reads_objections_but_resolves_none(objected) -> None:
    world, oid = objected.world, objected.objection_id
    await world.sign_in("赵组长")
    page = await world.console.get("/staff/objections")
    assert page.status_code == 200 and f'id="objection-{oid}"' in page.text
    assert f'action="/staff/objections/{oid}/resolve"' not in page.text
    # 孙委员's relative runs the awardee (the payee 91530427MA6K0B0Q1Y): told to recuse
    await world.sign_in("孙委员")
    page = await world.console.get("/staff/objections")
    card = page.text.split(f'id="objection-{oid}"')[1].split("</article>")[0]
    assert "您与该企业存在利害关系，须回避" in card
