"""The execution report's model with the Ruyuan phase 2 figures: budgets by line (490/220/235/55
万) and item, committed and paid, remaining = budget − paid, totals that add up in fen, targets
and deliverables met or not, milestones on time / late / overdue, share rules on the plan and on
paid money."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml
from ruralfund_claims import reports
from ruralfund_claims.domain.program import ProgramCheck, check_program
from ruralfund_claims.domain.targets import TargetValue
from ruralfund_claims.reports.model import (
    ContractFacts,
    DeliverableFacts,
    ExecutionReport,
    ItemSpend,
    MilestoneFacts,
    PackageFacts,
    TrancheFacts,
    build_report,
    milestone_status,
)

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
WAN = 1_000_000  # 1万 yuan in fen
PROVIDER = "91440232MA4W000011"
AS_OF = date(2023, 12, 15)


@pytest.fixture(scope="module")
def ruyuan() -> ProgramCheck:
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    check = check_program(doc)
    assert check.can_activate
    return check


def livestream_contract(**overrides: object) -> ContractFacts:
    contract = ContractFacts(
        contract_no="RY-2023-ZB-03",
        item_code="livestream-center",
        provider_name="乳源瑶族自治县直播科技有限公司",
        provider_credit_code=PROVIDER,
        amount_fen=88 * WAN,
        signed_on=date(2023, 6, 1),
        ends_on=date(2023, 11, 30),
        procurement="公开招标",
        status="active",
        paid_fen=264_000_00,
        deliverables=(
            DeliverableFacts(
                "fixed-studio-area",
                "固定式乳源特色直播间面积",
                "平方米",
                TargetValue("at_least", 20),
                25,
            ),
            DeliverableFacts(
                "shared-studios", "农旅产业场景式共享直播间", "个", TargetValue("at_least", 4), 3
            ),
            DeliverableFacts("mobile-studios", "移动式直播间", "个", TargetValue(None, None), None),
        ),
        milestones=(
            MilestoneFacts("studio-built", "固定直播间建成", date(2023, 8, 31), date(2023, 9, 5)),
            MilestoneFacts("shared-built", "共享直播间建成", date(2023, 10, 31), None),
        ),
        tranches=(
            TrancheFacts(
                "advance",
                "advance",
                264_000_00,
                "paid",
                paid_fen=264_000_00,
                paid_on=date(2023, 6, 15),
            ),
            TrancheFacts(
                "studio",
                "instalment",
                352_000_00,
                "refused",
                "studio-built",
                "hardware",
                refusal_code="RATIO_LIMIT_EXCEEDED",
            ),
            TrancheFacts("balance", "balance", 264_000_00, "scheduled"),
        ),
    )
    return replace(contract, **overrides)  # type: ignore[arg-type]


def report(check: ProgramCheck, **overrides: object) -> ExecutionReport:
    program = check.program
    assert program is not None
    accepted = {"prep-tendering": date(2023, 4, 20), "prep-provider-contracts": date(2023, 7, 3)}
    kwargs: dict[str, object] = {
        "plan_ratios": check.ratios,
        "spend": {
            "livestream-center": ItemSpend(
                contracts_fen=88 * WAN,
                tranches_paid_fen=264_000_00,
                tranches_paid_by_category={"hardware": 10 * WAN},
            ),
            "station-operation-reward": ItemSpend(
                awards_approved_fen=3 * WAN, awards_paid_fen=2 * WAN
            ),
            "smart-logistics-center": ItemSpend(contracts_fen=150 * WAN, tranches_paid_fen=45 * WAN),
        },
        "contracts": [livestream_contract()],
        "milestones": [
            MilestoneFacts(m.code, m.name, m.due_on, accepted.get(m.code), m.responsible_text, m.stage)
            for m in program.milestones
        ],
        "target_actuals": {"fixed-studio-area": 25, "shared-studios": 3},
        "as_of": AS_OF,
        "generated_by": "王工（bureau_admin）",
        "document": "乳府办〔2023〕19号",
    }  # fmt: skip
    return build_report(program, **{**kwargs, **overrides})  # type: ignore[arg-type]


def test_money_by_line_with_the_originals_budgets_and_remaining_is_budget_minus_paid(
    ruyuan: ProgramCheck,
) -> None:
    r = report(ruyuan)
    assert [(line.name, line.figures.budget_fen // WAN) for line in r.lines] == [
        ("完善农村电子商务公共服务体系", 490),
        ("健全县镇村三级物流配送体系", 220),
        ("推动农村商贸流通企业转型升级", 235),
        ("培育农村电商创业带头人", 55),
    ]
    public, logistics, retail, training = (line.figures for line in r.lines)
    # 直播中心 contract 88万 + approved station awards 3万; paid 26.4万 + 2万
    assert (public.committed_fen, public.paid_fen) == (91 * WAN, 28_400_000)
    assert public.remaining_fen == 490 * WAN - 28_400_000 == 461_600_000
    assert public.uncommitted_fen == 399 * WAN
    assert (logistics.committed_fen, logistics.paid_fen, logistics.remaining_fen) == (
        150 * WAN, 45 * WAN, 175 * WAN,
    )  # fmt: skip
    assert retail.paid_fen == training.paid_fen == 0
    assert r.totals.budget_fen == 1000 * WAN == r.header.total_fen
    assert r.totals.paid_fen == 73_400_000 == r.totals.paid_awards_fen + r.totals.paid_contracts_fen
    assert r.totals.remaining_fen == 1000 * WAN - 73_400_000


def test_items_add_up_to_their_lines_and_lines_to_the_total_in_fen(ruyuan: ProgramCheck) -> None:
    r = report(ruyuan)
    for line in r.lines:
        for name in ("budget_fen", "committed_fen", "paid_fen", "remaining_fen", "uncommitted_fen"):
            assert getattr(line.figures, name) == sum(getattr(i.figures, name) for i in line.items)
    livestream = next(i for line in r.lines for i in line.items if i.code == "livestream-center")
    assert (livestream.figures.budget_fen, livestream.figures.remaining_fen) == (
        90 * WAN,
        636_000_00,
    )
    reward = next(i for line in r.lines for i in line.items if i.code == "station-operation-reward")
    assert (reward.mode_zh, reward.figures.paid_awards_fen, reward.figures.paid_contracts_fen) == (
        "以奖代补", 2 * WAN, 0,
    )  # fmt: skip


def test_spend_for_an_item_the_program_does_not_have_is_refused(ruyuan: ProgramCheck) -> None:
    with pytest.raises(AssertionError, match="no-such-item"):
        report(ruyuan, spend={"no-such-item": ItemSpend(awards_paid_fen=1)})


def test_header_title_county_document_and_as_of(ruyuan: ProgramCheck) -> None:
    h = report(ruyuan).header
    assert h.title == "乳源瑶族自治县电子商务进农村综合示范项目执行情况报告"
    assert (h.county_name, h.county_code, h.phase_zh, h.as_of, h.document) == (
        "乳源瑶族自治县", "440232", "二期", AS_OF, "乳府办〔2023〕19号",
    )  # fmt: skip


def test_targets_met_not_met_not_reported_and_not_measured(ruyuan: ProgramCheck) -> None:
    targets = {t.code: t for t in report(ruyuan).targets}
    assert (targets["fixed-studio-area"].status, targets["fixed-studio-area"].actual) == (
        "met",
        "25",
    )
    assert (targets["shared-studios"].status_zh, targets["shared-studios"].target) == (
        "未达成",
        "≥ 4",
    )
    assert targets["cloud-supermarkets"].status == "not_reported"
    assert targets["county-to-village-hours"].target == "≤ 24"
    assert targets["online-retail-growth"].status == "not_measured"
    assert "直播中心" in targets["fixed-studio-area"].source


def test_contract_deliverables_and_progress(ruyuan: ProgramCheck) -> None:
    r = report(ruyuan)
    assert [(d.code, d.status) for d in r.deliverables] == [
        ("fixed-studio-area", "met"),
        ("shared-studios", "not_met"),
        ("mobile-studios", "tracked"),
    ]
    (c,) = r.contracts
    assert (c.item_name, c.amount_fen, c.paid_fen, c.unpaid_fen, c.status_zh) == (
        "直播中心（1+4+N场景式直播中心）", 88 * WAN, 264_000_00, 616_000_00, "执行中",
    )  # fmt: skip
    assert (c.deliverables_met, c.deliverables_total, c.milestones_accepted, c.milestones_total) == (
        2, 3, 1, 2,
    )  # fmt: skip


def test_milestones_on_time_late_overdue_and_pending(ruyuan: ProgramCheck) -> None:
    rows = {(m.plan, m.code): m for m in report(ruyuan).milestones}
    tendering = rows[("实施计划", "prep-tendering")]  # due 2023-04-30, accepted 04-20
    assert (tendering.status_zh, tendering.days_late) == ("按时完成", 0)
    contracts = rows[("实施计划", "prep-provider-contracts")]  # due 2023-06-30, accepted 07-03
    assert (contracts.status, contracts.days_late) == ("late", 3)
    survey = rows[("实施计划", "prep-survey")]  # due 2023-01-31, never accepted
    assert (survey.status, survey.days_late) == ("overdue", (AS_OF - date(2023, 1, 31)).days)
    assert rows[("实施计划", "accept-final")].status_zh == "未到期"  # due 2024-03-31
    assert rows[("合同 RY-2023-ZB-03", "studio-built")].status == "late"
    assert rows[("合同 RY-2023-ZB-03", "shared-built")].status == "overdue"
    assert len(rows) == 16 + 2


@pytest.mark.parametrize(
    ("due", "accepted", "expected"),
    [
        (date(2023, 11, 30), date(2023, 11, 30), ("on_time", 0)),
        (date(2023, 11, 30), date(2023, 12, 1), ("late", 1)),
        (date(2023, 11, 30), None, ("overdue", 15)),
        (date(2023, 12, 15), None, ("pending", 0)),  # due today: not yet overdue
    ],
)
def test_milestone_status_boundaries(due: date, accepted: date | None, expected: tuple) -> None:
    assert milestone_status(due, accepted, AS_OF) == expected


def test_share_rules_on_the_plan_and_on_paid_money(ruyuan: ProgramCheck) -> None:
    ratios = {r.code: r for r in report(ruyuan).ratios}
    logistics = ratios["logistics-min"]
    # plan: (355 + 220)万 of 2000万 = 28.75 % < 50 %, the original's own warning
    assert (logistics.plan.share_percent, logistics.plan.status, logistics.limit_text) == (
        "28.75", "breached_min", "≥ 50%",
    )  # fmt: skip
    # paid: phase 1's 355万 + the 45万 paid so far, on the cumulative 2000万 = 20.00 %
    assert (logistics.paid_this_phase_fen, logistics.actual.numerator_fen) == (45 * WAN, 400 * WAN)
    assert (logistics.actual.denominator_fen, logistics.actual.share_percent) == (
        2000 * WAN,
        "20.00",
    )
    training = ratios["training-max"]
    assert (training.plan.share_percent, training.actual.share_percent, training.actual.status) == (
        "7.50", "4.75", "met",
    )  # fmt: skip
    hardware = ratios["hardware-decoration-max"]
    # the 10万 of the studio tranche classified as hardware; phase 1's hardware is not recorded
    assert (hardware.paid_this_phase_fen, hardware.actual.status) == (10 * WAN, "unverified")
    assert hardware.actual.missing == ("首期",)


def test_json_carries_fen_and_yuan_text(ruyuan: ProgramCheck) -> None:
    data = report(ruyuan).to_dict()
    assert data["header"]["as_of"] == "2023-12-15"
    assert data["totals"]["budget_fen"] == 1_000_000_000
    assert data["totals"]["budget_yuan"] == "10,000,000.00"
    assert data["lines"][0]["figures"]["remaining_yuan"] == "4,616,000.00"
    assert any("预拨" in note for note in data["notes"])


def test_payment_schedule_of_a_contract(ruyuan: ProgramCheck) -> None:
    tranches = report(ruyuan).tranches
    assert [(t.code, t.kind_zh, t.status_zh, t.paid_fen) for t in tranches] == [
        ("advance", "前期资金拨付", "已支付", 264_000_00),
        ("studio", "进度款（节点验收后）", "被拒付（超过资金使用比例上限）", 0),
        ("balance", "尾款（最终验收后）", "未到付款条件", 0),
    ]
    assert tranches[0].paid_on == date(2023, 6, 15)
    assert sum(t.amount_fen for t in tranches) == 88 * WAN


def test_a_contract_paid_otherwise_than_its_tranches_is_refused(ruyuan: ProgramCheck) -> None:
    with pytest.raises(AssertionError, match="RY-2023-ZB-03: tranches paid"):
        report(ruyuan, contracts=[livestream_contract(paid_fen=1)])


def test_contract_milestones_are_the_providers_to_meet(ruyuan: ProgramCheck) -> None:
    rows = [m for m in report(ruyuan).milestones if m.plan == "合同 RY-2023-ZB-03"]
    assert {m.responsible for m in rows} == {"乳源瑶族自治县直播科技有限公司"}


def test_packages_with_their_contracted_and_uncontracted_money(ruyuan: ProgramCheck) -> None:
    package = PackageFacts(
        code="lot-3-livestream",
        name="直播中心建设运营服务包组",
        line_code="public-service-system",
        item_codes=("livestream-center",),
        budget_fen=90 * WAN,
        method="public_tender",
        winner_name="乳源瑶族自治县直播科技有限公司",
        awarded_on=date(2023, 5, 25),
        contracted_fen=88 * WAN,
    )
    (row,) = report(ruyuan, packages=[package]).packages
    assert (row.line_name, row.item_names, row.method_zh) == (
        "完善农村电子商务公共服务体系", "直播中心（1+4+N场景式直播中心）", "公开招标",
    )  # fmt: skip
    assert (row.budget_fen, row.contracted_fen, row.uncontracted_fen) == (
        90 * WAN,
        88 * WAN,
        2 * WAN,
    )


@pytest.mark.parametrize("module", ["model", "xlsx", "pdf"])
def test_the_model_and_renderers_do_no_io(module: str) -> None:
    """What import-linter says for domain/, for the report's pure part: unit tests need no DB."""
    source = (Path(reports.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    forbidden = {"asyncpg", "fastapi", "faststream", "nats", "httpx", "..adapters", "..service"}
    assert not {i for i in imported if any(i.startswith(f) for f in forbidden)}
    assert not {
        i
        for i in imported
        if i.startswith("ruralfund_common.") and i.split(".")[1] in ("db", "messaging")
    }


def test_a_failed_contracts_paid_money_is_to_be_recovered(ruyuan: ProgramCheck) -> None:
    failed = livestream_contract(status="failed")
    r = report(ruyuan, contracts=[failed])
    assert r.contracts[0].status_zh == "验收不合格（资金应追回）"
    (note,) = [n for n in r.notes if "追回" in n]
    assert "RY-2023-ZB-03" in note and "264,000.00" in note
    assert not any("追回" in n for n in report(ruyuan).notes)
