"""The auditor (审计) in the console, against real claims and funds: everything read-only — the
trial balance, awards and payment orders with who signed them, the ledger's signed checkpoints
(one taken on demand, a kept one proved extended by today's ledger, a forged root caught, a leaf
proved included: the proofs checked by the console itself), the execution report's downloads;
no page offers a write the services would refuse, and a forged one is refused with nothing changed."""

from __future__ import annotations

import re

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person

from .conftest import ADMIN, FINANCE, World

pytestmark = pytest.mark.integration

P = "xinping-2021"
LEADER = person("Leader Zhao", Role.LEADING_GROUP)
POST_FORM = re.compile(r'<form method="post" action="([^"]+)"')


def _posts(html: str) -> set[str]:
    """The forms that would change something, except signing out."""
    return set(POST_FORM.findall(html)) - {"/signout"}


def _fact(html: str, ident: str) -> str:
    return re.sub(r"<[^>]+>", "", html.split(f'id="{ident}">')[1].split("</dd>")[0]).strip()


async def _checkpoint(world: World) -> tuple[str, str]:
    r = await world.console.post("/audit/checkpoints", data={"csrf": (await world.form("/audit/checkpoints"))[1]})
    assert r.status_code == 303, r.text
    page = (await world.console.get(r.headers["location"])).text
    assert 'id="cp-taken"' in page
    return _fact(page, "cp-size").replace(",", ""), re.search(r'id="cp-root">([0-9a-f]{64})<', page).group(1)


async def test_the_auditor_reads_everything_and_is_offered_no_write(world) -> None:
    await world.load_xinping()
    r = await world.funds.post(f"/payments/{world.order['payment_id']}/approvals",
                               json={"content_sha256": world.order["content_sha256"]}, headers=bearer(LEADER))
    assert r.status_code == 200, r.text
    home = await world.sign_in("吴审计")
    assert "审计查阅（只读）" in home and 'href="/audit/checkpoints"' in home and not _posts(home)

    for path in (f"/finance/ledger?program={P}", f"/finance/reconciliation?program={P}",
                 f"/finance/releases?program={P}", f"/finance/statements?program={P}", "/staff/claims",
                 f"/audit/payments?program={P}", "/audit/reports"):
        page = (await world.console.get(path)).text
        assert _posts(page) == set(), (path, _posts(page))
    ledger = (await world.console.get(f"/finance/ledger?program={P}")).text
    assert "借贷平衡" in ledger and "500,000.00 元" in ledger

    orders = (await world.console.get(f"/audit/payments?program={P}")).text
    row = orders.split(f'data-payment-id="{world.order["payment_id"]}"')[1].split("</tr>")[0]
    assert "97,531.00 元" in row and "待签批" in row and "领导小组成员 Leader Zhao" in row
    assert world.order["content_sha256"] in row
    assert 'data-award-id="award-c1"' in orders

    reports = (await world.console.get("/audit/reports")).text
    assert f'href="/audit/reports/{P}/execution-report.pdf"' in reports
    pdf = await world.console.get(f"/audit/reports/{P}/execution-report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-", pdf.text[:200]
    assert "attachment" in pdf.headers["content-disposition"]
    xlsx = await world.console.get(f"/audit/reports/{P}/execution-report.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_a_forged_write_by_the_auditor_is_refused_and_changes_nothing(world) -> None:
    await world.load_xinping()
    await world.sign_in("吴审计")
    _, csrf = await world.form("/")
    before = (await world.funds.get("/payments", headers=bearer(ADMIN))).json()["items"]
    r = await world.console.post(f"/payments/{world.order['payment_id']}/approve",
                                 data={"csrf": csrf, "content_sha256": world.order["content_sha256"]})
    assert r.status_code == 403 and "审计人员只能查阅" in r.text, r.text
    r = await world.console.post("/staff/payments", data={"csrf": csrf, "award_id": "award-c1"})
    assert r.status_code == 403 and "审计人员只能查阅" in r.text, r.text
    after = (await world.funds.get("/payments", headers=bearer(ADMIN))).json()["items"]
    assert after == before
    order = (await world.funds.get(f"/payments/{world.order['payment_id']}", headers=bearer(ADMIN))).json()
    assert order["approvals"] == []


async def test_the_auditor_takes_a_checkpoint_and_proves_the_ledger_only_grew(world) -> None:
    await world.load_xinping()
    await world.sign_in("吴审计")
    size, root = await _checkpoint(world)
    page = (await world.console.get("/audit/checkpoints")).text
    assert _fact(page, "cp-key") and "年" in _fact(page, "cp-signed")

    # the ledger grows: the finance bureau releases more money; a new checkpoint is signed
    r = await world.funds.post(f"/programs/{P}/releases", json={"amount_yuan": "1.00", "approval_reference": "x"},
                               headers=bearer(FINANCE))
    assert r.status_code == 201, r.text
    new_size, new_root = await _checkpoint(world)
    assert int(new_size) > int(size) and new_root != root

    page = (await world.console.get("/audit/checkpoints", params={"kept_size": size, "kept_root": root})).text
    assert "验证通过" in page.split('id="consistency-result"')[1], page
    forged = ("0" if root[0] != "0" else "1") + root[1:]
    page = (await world.console.get("/audit/checkpoints", params={"kept_size": size, "kept_root": forged})).text
    assert "验证未通过" in page.split('id="consistency-result"')[1]
    r = await world.console.get("/audit/checkpoints", params={"kept_size": "十", "kept_root": "abc"})
    assert r.status_code == 422 and "树大小须为非负整数" in r.text and "您输入了 3 位" in r.text

    page = (await world.console.get("/audit/checkpoints", params={"leaf_index": "0"})).text
    assert "验证通过" in page.split('id="inclusion-result"')[1]
    r = await world.console.get("/audit/checkpoints", params={"leaf_index": str(int(new_size) + 5)})
    assert r.status_code == 422 and "叶子序号须为 0 至" in r.text
