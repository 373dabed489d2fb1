"""Issue 16 item 8 (Xinping §六 收回全部项目建设资金) in claims: funds' default and repayment
events reach the execution report - what went back to the finance bureau, what is receivable
from the defaulter, what it repaid - and a re-delivered or repeated fact is counted once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from ruralfund_common.contracts.funds.clawback_repaid import ClawbackRepaid
from ruralfund_common.contracts.funds.contractor_defaulted import ContractorDefaulted
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

PROGRAM = "ruyuan-2021-p2"
PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
REPORT = f"/programs/{PROGRAM}/execution-report"
PROVIDER = with_check_character("91440232MA4W00031")
AT = datetime(2023, 11, 20, 2, 0, tzinfo=UTC)


def _default(receivable_fen: int = 1_540_000_00) -> ContractorDefaulted:
    return ContractorDefaulted(
        program_code=PROGRAM, credit_code=PROVIDER, receivable_fen=receivable_fen,
        resolution_no="乳电商领〔2023〕5号", resolution_date=date(2023, 11, 20), declared_by="u-zhao",
        declared_at=AT, returned_fen=2_310_000_00, joint_account_frozen=True,
    )  # fmt: skip


def _repaid(repayment_id: str, amount_fen: int, outstanding_fen: int) -> ClawbackRepaid:
    return ClawbackRepaid(
        repayment_id=repayment_id, program_code=PROGRAM, credit_code=PROVIDER, amount_fen=amount_fen,
        outstanding_fen=outstanding_fen, recorded_at=AT, paid_to="finance:bureau",
    )  # fmt: skip


async def test_the_report_shows_the_defaulters_clawback_once(claims, funds) -> None:  # type: ignore[no-untyped-def]
    http, admin = claims.http, claims.ADMIN
    await http.post("/admin/clock", json={"set_to": "2023-12-14T17:30:00Z"}, headers=admin)
    r = await http.post("/programs", content=(PROGRAMS / "ruyuan-2021-p2.yaml").read_bytes(),
                        headers={**admin, "Content-Type": "application/yaml"})  # fmt: skip
    assert r.status_code == 201, r.text
    await claims.register(PROVIDER, name="乳源某电商服务有限公司", kind="service_provider",
                          program_code=PROGRAM)  # fmt: skip

    await funds(_repaid("rp-1", 300_000_00, 1_240_000_00), PROVIDER)  # before the default: kept
    await funds(_default(), PROVIDER)
    await funds(_default(receivable_fen=1), PROVIDER)  # a second default of the same: ignored
    await funds(_repaid("rp-1", 300_000_00, 1_240_000_00), PROVIDER)  # the same repayment again
    await funds(_repaid("rp-2", 200_000_00, 1_040_000_00), PROVIDER)

    async def clawback() -> dict[str, Any] | None:
        report = (await http.get(REPORT, headers=claims.AUDITOR)).json()
        rows = report["clawbacks"]
        if len(rows) != 1 or rows[0]["repaid_fen"] != 500_000_00:
            return None  # funds' facts not all applied yet
        return {**rows[0], "notes": report["notes"]}

    row = await eventually(clawback)
    assert (row["returned_yuan"], row["receivable_yuan"], row["repaid_yuan"], row["outstanding_yuan"]) == (
        "2,310,000.00", "1,540,000.00", "500,000.00", "1,040,000.00")  # fmt: skip
    assert row["name"] == "乳源某电商服务有限公司"
    assert "已退回财政 2,310,000.00 元，应收违约方 1,540,000.00 元，已收回 500,000.00 元" in row["summary_zh"]
    assert row["summary_zh"] in row["notes"]
