"""The bureau's registers in the console, against the real claims service: the enterprise
registry (search, detail), service contracts (deliverables, milestone acceptance, the
contract's acceptance refused in Chinese with its gaps) and the implementation plan."""

from __future__ import annotations

import re

import pytest
from ruralfund_common.testing.services import bearer

from .conftest import ADMIN

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _codes(html: str) -> list[str]:
    return re.findall(r'data-credit-code="([^"]+)"', html)


async def test_the_bureau_searches_the_registry_and_opens_an_enterprise(reviewing) -> None:
    world, first = reviewing.world, reviewing.first
    await world.sign_in("王科长")
    page = await world.console.get("/staff/enterprises")
    assert page.status_code == 200 and len(_codes(page.text)) == 2
    page = await world.console.get("/staff/enterprises", params={"q": "礼好"})
    assert _codes(page.text) == [first["credit_code"]]
    page = await world.console.get("/staff/enterprises", params={"q": first["credit_code"][:10]})
    assert _codes(page.text) == [first["credit_code"]]
    page = await world.console.get("/staff/enterprises", params={"q": "没有这家"})
    assert _codes(page.text) == [] and "没有符合条件的企业" in page.text
    detail = await world.console.get(f"/staff/enterprises/{first['credit_code']}")
    assert detail.status_code == 200, detail.text
    assert "新平礼好农业有限公司" in detail.text and "6228 4800 0000 0000 017" in detail.text
    assert "中国农业银行新平县支行" in detail.text and "xinping-2021" in detail.text
    assert re.findall(r'data-claim-id="([^"]+)"', detail.text) == [first["id"], reviewing.second["id"]]
    missing = await world.console.get("/staff/enterprises/91530427MA6K5XQ210")
    assert missing.status_code == 404


async def test_the_bureau_accepts_contract_milestones_and_is_told_what_the_contract_lacks(contract, reviewing) -> None:
    world = reviewing.world
    await world.sign_in("王科长")
    listing = await world.console.get("/staff/contracts", params={"program": "xinping-2021"})
    assert listing.status_code == 200, listing.text
    assert "XP-2023-FW-009" in listing.text and "480,000.00 元" in listing.text
    page = await world.console.get(f"/staff/contracts/{contract['id']}")
    assert page.status_code == 200, page.text
    assert "培训对象" in page.text and "不低于 100" in page.text and "节点「培训方案备案」尚未验收" in page.text
    csrf = CSRF.search(page.text).group(1)

    r = await world.console.post(f"/staff/contracts/{contract['id']}/milestones/course-plan/acceptance",
                                 data={"csrf": csrf, "accepted_on": "2023-06-14", "accepted_by": "王科长、李干事",
                                       "note": "方案已备案"})
    assert r.status_code == 303, r.text
    page = await world.console.get(r.headers["location"])
    assert "2023年6月14日验收，验收人员：王科长、李干事" in page.text
    assert "节点「培训方案备案」尚未验收" not in page.text

    # a day before the signing is refused in Chinese, with the days
    r = await world.console.post(f"/staff/contracts/{contract['id']}/milestones/final-report/acceptance",
                                 data={"csrf": csrf, "accepted_on": "2023-05-01"})
    assert r.status_code == 422 and "验收日期 2023年5月1日 早于合同签订日 2023年5月10日" in r.text, r.text
    # passing the contract now is refused with each gap in Chinese; failing it needs a reason
    r = await world.console.post(f"/staff/contracts/{contract['id']}/acceptance",
                                 data={"csrf": csrf, "outcome": "passed"})
    assert r.status_code == 409 and "合同尚不能验收合格" in r.text and "「培训对象」未报告，要求不低于 100" in r.text
    r = await world.console.post(f"/staff/contracts/{contract['id']}/acceptance",
                                 data={"csrf": csrf, "outcome": "failed", "note": " "})
    assert r.status_code == 422 and "验收不合格时须写明理由" in r.text
    page = await world.console.get(f"/staff/contracts/{contract['id']}")
    assert 'id="contract-status">履行中' in page.text


async def test_the_bureau_accepts_a_milestone_of_the_implementation_plan(contract, reviewing) -> None:
    world = reviewing.world
    await world.sign_in("王科长")
    page = await world.console.get("/staff/milestones", params={"program": "ruyuan-2021-p2"})
    assert page.status_code == 200, page.text
    assert "县工信局" in page.text and "2023年4月30日" in page.text
    r = await world.console.post("/staff/milestones/ruyuan-2021-p2/prep-provider-contracts/acceptance",
                                 data={"csrf": CSRF.search(page.text).group(1), "note": "中标企业合同已签订"})
    assert r.status_code == 303, r.text
    page = await world.console.get(r.headers["location"])
    row = page.text.split('id="m-prep-provider-contracts"')[1].split("</tr>")[0]
    assert "已验收" in row and "中标企业合同已签订" in row
    r = await world.console.post("/staff/milestones/ruyuan-2021-p2/prep-provider-contracts/acceptance",
                                 data={"csrf": CSRF.search(page.text).group(1)})
    assert r.status_code == 409 and "已验收过，不能重复验收" in r.text


async def test_the_bureau_reports_contract_deliverables_with_chinese_errors_beside_the_field(contract, reviewing) -> None:
    world, cid = reviewing.world, contract["id"]
    await world.sign_in("王科长")
    page = await world.console.get(f"/staff/contracts/{cid}")
    assert 'id="d-trainee-times"' in page.text and '<label for="d-trainee-times-actual">培训对象：实际完成（人次）' in page.text
    assert '<label for="d-livestream-sales-actual">项目期销售产品：实际完成（元）' in page.text
    csrf = CSRF.search(page.text).group(1)
    url = f"/staff/contracts/{cid}/deliverables/{{}}/report"

    async def reported(code: str) -> int | None:
        got = await world.claims.get(f"/contracts/{cid}", headers=bearer(ADMIN))
        return next(d["actual_value"] for d in got.json()["deliverables"] if d["code"] == code)

    # a count that is not a whole number is said beside the field, what was typed kept, nothing sent
    r = await world.console.post(url.format("trainee-times"), data={"csrf": csrf, "actual": "一百", "note": "签到表"})
    assert r.status_code == 422, r.text
    assert '<p class="field-error" id="d-trainee-times-actual-error">实际完成值须为不小于 0 的整数（单位：人次），不能填写“一百”。' in r.text
    assert 'aria-invalid="true" aria-describedby="d-trainee-times-actual-error"' in r.text
    assert 'value="一百"' in r.text and 'value="签到表"' in r.text and await reported("trainee-times") is None
    r = await world.console.post(url.format("trainee-times"), data={"csrf": csrf, "actual": " "})
    assert r.status_code == 422 and "请填写实际完成值。" in r.text
    # money the claims service cannot read: its Chinese words beside the field
    r = await world.console.post(url.format("livestream-sales"), data={"csrf": csrf, "actual": "5,000,000.005"})
    assert r.status_code == 422, r.text
    assert 'id="d-livestream-sales-actual-error">实际金额“5,000,000.005”不是有效的元金额' in r.text
    assert await reported("livestream-sales") is None
    # a forged form (no CSRF token) changes nothing
    r = await world.console.post(url.format("trainee-times"), data={"actual": "120"})
    assert r.status_code == 403 and await reported("trainee-times") is None

    r = await world.console.post(url.format("trainee-times"), data={"csrf": csrf, "actual": "1,20" + "0",
                                                                     "note": "签到表 3 份"})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/contracts/{cid}#d-trainee-times", r.text
    r = await world.console.post(url.format("livestream-sales"), data={"csrf": csrf, "actual": "5,000,000.00 元"})
    assert r.status_code == 303, r.text
    assert await reported("trainee-times") == 1_200 and await reported("livestream-sales") == 5_000_000_00
    page = await world.console.get(f"/staff/contracts/{cid}")
    shown = page.text.split('id="d-trainee-times-actual-shown">')[1].split("</td>")[0]
    assert "1,200 人次" in shown and "签到表 3 份" in shown and "报告" in shown
    assert "5,000,000.00 元" in page.text.split('id="d-livestream-sales-actual-shown">')[1].split("</td>")[0]
    assert "「培训对象」未报告" not in page.text
