"""The execution report over HTTP: Ruyuan phase 2 loaded, a signed contract with a reported
deliverable and an accepted milestone, a station award paid through funds' event; the report as
JSON, xlsx and PDF with their content types, file names and figures; who may read it."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from pypdf import PdfReader
from ruralfund_common.auth import Role
from ruralfund_common.contracts import BankInstruction, PaymentApproval, PaymentExecuted
from ruralfund_common.contracts.funds.contract_payment_executed import ContractPaymentExecuted
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

PROGRAM = "ruyuan-2021-p2"
PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
REPORT = f"/programs/{PROGRAM}/execution-report"
PROVIDER = with_check_character("91440232MA4W00011")  # a livestream company in Ruyuan
OPERATOR = with_check_character("92440232MA4X00021")  # a village station operator in Ruyuan
OPERATOR_USER = bearer(person("Pan Operator", Role.ENTERPRISE, credit_code=OPERATOR))
# 01:30 on 15 December in Asia/Shanghai: the report's day is the county's, not UTC's 14th.
NOW = "2023-12-14T17:30:00Z"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


async def _ruyuan_with_a_contract_and_a_paid_award(claims, funds) -> None:
    """The livestream centre's contract (88万: advance 26.4万 and the studio instalment 35.2万,
    classified as hardware, paid) and a 1万 station award paid."""  # type: ignore[no-untyped-def]
    http, admin = claims.http, claims.ADMIN
    await _ok(await http.post("/admin/clock", json={"set_to": NOW}, headers=admin))
    # the station award is an example not in the original: this county opts into it
    opted_in = (PROGRAMS / "ruyuan-2021-p2.yaml").read_bytes() + b"\nopt_in: [station-operation-reward]\n"
    await _ok(await http.post("/programs", content=opted_in,
                              headers={**admin, "Content-Type": "application/yaml"}), 201)  # fmt: skip
    await claims.register(PROVIDER, name="乳源瑶族自治县直播科技有限公司", kind="service_provider",
                          program_code=PROGRAM)  # fmt: skip
    await claims.register(OPERATOR, name="乳源县大桥镇电商服务站", kind="station_operator",
                          program_code=PROGRAM)  # fmt: skip
    package = {
        "code": "lot-3-livestream", "name": "直播中心建设运营服务包组",
        "line_code": "public-service-system", "item_codes": ["livestream-center"],
        "budget_yuan": "900,000.00", "method": "public_tender", "winner_credit_code": PROVIDER,
        "awarded_on": "2023-05-25", "tender_ref": "RYCG-2023-017",
    }  # fmt: skip
    await _ok(await http.post(f"/programs/{PROGRAM}/packages", json=package, headers=admin), 201)
    contract = await _ok(
        await http.post(
            f"/programs/{PROGRAM}/contracts",
            json={
                "item_code": "livestream-center",
                "package_code": "lot-3-livestream",
                "contract_no": "RY-2023-ZB-03",
                "provider_credit_code": PROVIDER,
                "amount_yuan": "880,000.00",
                "signed_on": "2023-06-01",
                "ends_on": "2023-11-30",
                "procurement": "公开招标",
                "milestones": [
                    {"code": "studio-built", "name": "固定直播间建成", "due_on": "2023-08-31"},
                    {"code": "shared-built", "name": "共享直播间建成", "due_on": "2023-10-31"},
                ],
                "payment_schedule": [
                    {"code": "advance", "kind": "advance", "amount_yuan": "264,000.00"},
                    {
                        "code": "studio",
                        "kind": "instalment",
                        "amount_yuan": "352,000.00",
                        "milestone_code": "studio-built",
                        "spending_category": "hardware",
                    },
                    {"code": "balance", "kind": "balance", "amount_yuan": "264,000.00"},
                ],
            },
            headers=admin,
        ),
        201,
    )
    cid = contract["id"]
    await _ok(await http.post(f"/contracts/{cid}/deliverables/fixed-studio-area/report",
                              json={"actual_value": 25}, headers=admin))  # fmt: skip
    await _pay_tranche(claims, funds, contract, "advance")  # due on signing
    await _ok(
        await http.post(f"/contracts/{cid}/milestones/studio-built/acceptance", headers=admin)
    )
    await _pay_tranche(claims, funds, contract, "studio")  # due on the accepted milestone
    await _ok(
        await http.post(f"/programs/{PROGRAM}/milestones/prep-tendering/acceptance", headers=admin)
    )
    claim = await _ok(
        await http.post(
            "/claims",
            json={
                "program_code": PROGRAM,
                "item_code": "station-operation-reward",
                "evidence": {
                    "year": 2023,
                    "figures": {
                        "operated_full_year": True,
                        "annual_parcels": 3_500,
                        "quality_check_passed": True,
                    },
                },
            },
            headers=OPERATOR_USER,
        ),
        201,
    )
    assert claim["amount_fen"] == 1_000_000, claim
    await _ok(await http.post(f"/claims/{claim['id']}/review", json={"outcome": "complete"},
                              headers=admin))  # fmt: skip
    approved = await _ok(await http.post(f"/claims/{claim['id']}/decision",
                                         json={"decision": "approve"}, headers=claims.MEMBER))  # fmt: skip
    await funds(_payment(claim["id"], approved["award_id"]), approved["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="paid")


async def _pay_tranche(claims, funds, contract: dict[str, Any], code: str) -> None:  # type: ignore[no-untyped-def]
    """Funds pays a due tranche (ContractPaymentExecuted); claims records it as paid."""
    path = f"/contracts/{contract['id']}"

    async def tranche(status: str) -> dict[str, Any]:
        got = (await claims.http.get(path, headers=claims.ADMIN)).json()
        found = next(t for t in got["payment_schedule"] if t["code"] == code)
        assert found["status"] == status, f"{code} is {found['status']}, waiting for {status}"
        return found

    due = await eventually(lambda: tranche("due"))
    at = datetime(2023, 12, 10, 2, 0, tzinfo=UTC)
    approvals = [
        PaymentApproval(person=p, name=p, role=r, content_sha256="ab" * 32, approved_at=at)
        for p, r in (("u-zhao", "leading_group"), ("u-sig", "contractor_signatory"))
    ]
    executed = ContractPaymentExecuted(
        payment_id=f"pay-{code}", payment_due_id=due["payment_due_id"],
        contract_id=contract["id"], tranche_code=code, program_code=PROGRAM,
        line_code="public-service-system", item_code="livestream-center",
        provider_credit_code=PROVIDER, provider_name=contract["provider_name"],
        amount_fen=due["amount_fen"], spending_category=due.get("spending_category"),
        content_sha256="ab" * 32, approvals=approvals,
        bank_instruction=BankInstruction(
            from_account="joint", to_account="6228 4800 0000 0000 017",
            to_bank_name="中国农业银行新平县支行", to_name=contract["provider_name"],
            amount_fen=due["amount_fen"], reference=f"pay-{code}",
        ),
        executed_at=at,
    )  # fmt: skip
    await funds(executed, due["payment_due_id"])
    await eventually(lambda: tranche("paid"))


def _payment(claim_id: str, award_id: str) -> PaymentExecuted:
    at = datetime(2023, 12, 10, 2, 0, tzinfo=UTC)
    approvals = [
        PaymentApproval(person=p, name=p, role=r, content_sha256="0" * 64, approved_at=at)
        for p, r in (("u-zhao", "leading_group"), ("u-sig", "contractor_signatory"))
    ]
    instruction = BankInstruction(
        from_account="0000", to_account="6228 4800 0000 0000 017", to_bank_name="乳源农商银行",
        to_name="乳源县大桥镇电商服务站", amount_fen=1_000_000, reference="pay-ry-1",
    )  # fmt: skip
    return PaymentExecuted(
        award_id=award_id, claim_id=claim_id, program_code=PROGRAM, payment_id="pay-ry-1",
        item_code="station-operation-reward", payee_credit_code=OPERATOR,
        payee_name="乳源县大桥镇电商服务站", amount_fen=1_000_000, content_sha256="0" * 64,
        approvals=approvals, bank_instruction=instruction, executed_at=at,
    )  # fmt: skip


async def test_report_as_json_xlsx_and_pdf(claims, funds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await _ruyuan_with_a_contract_and_a_paid_award(claims, funds)

    response = await claims.http.get(REPORT, headers=claims.AUDITOR)
    assert response.headers["content-type"] == "application/json"
    report = await _ok(response)
    header = report["header"]
    assert (header["title"], header["as_of"], header["generated_by"]) == (
        "乳源瑶族自治县电子商务进农村综合示范项目执行情况报告", "2023-12-15", "Zhou Auditor",
    )  # fmt: skip
    public = report["lines"][0]["figures"]
    # committed: the 880,000.00 contract + the 10,000.00 award; paid: the award + 2 tranches
    assert (public["budget_yuan"], public["committed_yuan"], public["paid_yuan"]) == (
        "4,900,000.00", "890,000.00", "626,000.00",
    )  # fmt: skip
    assert (public["paid_awards_yuan"], public["paid_contracts_yuan"]) == (
        "10,000.00",
        "616,000.00",
    )
    assert public["remaining_yuan"] == "4,274,000.00"
    assert (report["totals"]["paid_fen"], report["totals"]["remaining_fen"]) == (
        62_600_000, 937_400_000,
    )  # fmt: skip
    targets = {t["code"]: t for t in report["targets"]}
    assert (targets["fixed-studio-area"]["status"], targets["fixed-studio-area"]["actual"]) == (
        "met", "25",
    )  # fmt: skip
    assert targets["cloud-supermarkets"]["status"] == "not_reported"
    milestones = {(m["plan"], m["code"]): m for m in report["milestones"]}
    tendering = milestones[("实施计划", "prep-tendering")]  # due 2023-04-30
    assert (tendering["status"], tendering["accepted_on"], tendering["days_late"]) == (
        "late", "2023-12-15", 229,
    )  # fmt: skip
    assert milestones[("实施计划", "accept-final")]["status"] == "pending"
    assert milestones[("合同 RY-2023-ZB-03", "shared-built")]["status"] == "overdue"
    (contract,) = report["contracts"]
    assert (contract["amount_yuan"], contract["paid_yuan"], contract["unpaid_yuan"]) == (
        "880,000.00", "616,000.00", "264,000.00",
    )  # fmt: skip
    assert (contract["milestones_accepted"], contract["package_code"]) == (1, "lot-3-livestream")
    (package,) = report["packages"]
    assert (package["method_zh"], package["budget_yuan"], package["uncontracted_yuan"]) == (
        "公开招标", "900,000.00", "20,000.00",
    )  # fmt: skip
    assert [(t["code"], t["status"], t["paid_yuan"]) for t in report["tranches"]] == [
        ("advance", "paid", "264,000.00"),
        ("studio", "paid", "352,000.00"),
        ("balance", "scheduled", "0.00"),
    ]
    ratios = {r["code"]: r for r in report["ratios"]}
    assert ratios["logistics-min"]["plan"]["share_percent"] == "28.75"
    hardware = ratios["hardware-decoration-max"]  # the studio instalment, classified hardware
    assert (hardware["paid_this_phase_yuan"], hardware["actual"]["share_percent"]) == (
        "352,000.00", "1.76",
    )  # fmt: skip
    assert hardware["actual"]["status"] == "unverified"  # phase 1's hardware is not recorded
    assert not any("尚未接入" in note for note in report["notes"])  # tranches are known

    xlsx = await claims.http.get(REPORT, params={"format": "xlsx"}, headers=claims.ADMIN)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"] == XLSX
    disposition = xlsx.headers["content-disposition"]
    assert 'filename="execution-report-ruyuan-2021-p2-2023-12-15.xlsx"' in disposition
    assert (
        "filename*=UTF-8''" + quote("乳源瑶族自治县执行情况报告-ruyuan-2021-p2-2023-12-15.xlsx")
        in disposition
    )
    wb = openpyxl.load_workbook(BytesIO(xlsx.content))
    assert wb.sheetnames == ["总表", "资金", "绩效目标", "合同", "进度", "比例"]
    lines = {r[0]: r for r in wb["总表"].iter_rows(values_only=True) if r[0]}
    assert lines["完善农村电子商务公共服务体系"][1:3] == (4_900_000, 890_000)
    assert lines["完善农村电子商务公共服务体系"][6] == 4_274_000  # remaining
    assert next(wb["合同"].iter_rows(min_row=2, values_only=True))[0] == "RY-2023-ZB-03"

    pdf = await claims.http.get(REPORT, params={"format": "pdf"}, headers=claims.MEMBER)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert (
        'filename="execution-report-ruyuan-2021-p2-2023-12-15.pdf"'
        in pdf.headers["content-disposition"]
    )
    (tmp_path / "report.pdf").write_bytes(pdf.content)  # kept by pytest for a look at the pages
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    for expected in ("乳源瑶族自治县电子商务进农村综合示范项目执行情况报告", "四、采购包组、购买服务合同及交付物",
                     "RY-2023-ZB-03", "4,274,000.00", "已逾期未完成", "统计截至"):  # fmt: skip
        assert expected in text, expected
    flat = "".join(text.split())
    # the stored program's source reference (a file path) is not part of the basis document
    assert "seeds" not in text and ".txt" not in text and "依据文件乳源瑶族自治县人民政府办公室" in flat
    assert "第2期进度款（节点验收后）固定直播间建成" in flat  # the tranche by number, its milestone by name
    assert "RYCG-2023-017" in text and "lot-3-livestream" not in text  # the tender's number
    assert "编制单位（盖章）：乳源瑶族自治县工信局" in flat and "日期：2023年12月15日" in flat
    fonts = [f.get_object() for page in PdfReader(BytesIO(pdf.content)).pages
             for f in page["/Resources"]["/Font"].values()]  # type: ignore[index]  # fmt: skip
    assert fonts and all("/FontFile2" in f["/FontDescriptor"].get_object() for f in fonts)


async def test_who_may_read_the_report(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_program_file("ruyuan-2021-p2.yaml")
    for who, expected in (
        (claims.ADMIN, 200),
        (claims.AUDITOR, 200),
        (claims.MEMBER, 200),
        (bearer(person("Lu Finance", Role.FINANCE_BUREAU)), 200),
        (bearer(person("Ma Signatory", Role.CONTRACTOR_SIGNATORY)), 200),
        (OPERATOR_USER, 403),
        (bearer(person("Xu System", Role.SYSTEM)), 403),
        ({}, 401),
    ):
        response = await claims.http.get(REPORT, headers=who)
        assert response.status_code == expected, (who, response.text)
    refused = (await claims.http.get(REPORT, headers=OPERATOR_USER)).json()
    assert refused["code"] == "ROLE_REQUIRED"
    missing = await claims.http.get("/programs/no-such/execution-report", headers=claims.ADMIN)
    assert (missing.status_code, missing.json()["code"]) == (404, "PROGRAM_NOT_FOUND")
    wrong = await claims.http.get(REPORT, params={"format": "docx"}, headers=claims.ADMIN)
    assert wrong.status_code == 422
    assert "format" in wrong.text
