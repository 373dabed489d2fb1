"""The claim state machine and the assessment of a claim (pure domain)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from ruralfund_claims.domain.claim import (
    MAX_EVIDENCE_BYTES,
    ClaimAction,
    ClaimStatus,
    allowed_actions,
    assess_claim,
    transition,
)
from ruralfund_claims.domain.enterprise import (
    Enterprise,
    EnterpriseChange,
    check_registered_in_county,
)
from ruralfund_claims.domain.program import Program, check_program
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.errors import Conflict, DomainError, InvalidInput

S, A = ClaimStatus, ClaimAction
PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
LOCAL = with_check_character("91530427MA6K5XQ21")  # registered in Xinping (530427)
ELSEWHERE = with_check_character("91530400MA6Q00031")  # registered at Yuxi city level (530400)

# Every legal step; anything else must be refused.
LEGAL = {
    (S.SUBMITTED, A.COMPLETE_REVIEW): S.AWAITING_DECISION,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.RETURNED, A.RESUBMIT): S.SUBMITTED,
    (S.AWAITING_DECISION, A.APPROVE): S.APPROVED,
    (S.AWAITING_DECISION, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.RETURNED, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_DECISION, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.REFUSE_RESERVATION): S.RESERVATION_REFUSED,
    (S.RESERVATION_REFUSED, A.REFUSE_RESERVATION): S.RESERVATION_REFUSED,
    # funds' facts: in order, repeated, ahead of time or late, never backwards
    (S.APPROVED, A.RESERVE): S.RESERVED,
    (S.APPROVED, A.OPEN_PUBLICITY): S.IN_PUBLICITY,
    (S.APPROVED, A.PAY): S.PAID,
    (S.RESERVED, A.RESERVE): S.RESERVED,
    (S.RESERVED, A.OPEN_PUBLICITY): S.IN_PUBLICITY,
    (S.RESERVED, A.PAY): S.PAID,
    (S.IN_PUBLICITY, A.RESERVE): S.IN_PUBLICITY,
    (S.IN_PUBLICITY, A.OPEN_PUBLICITY): S.IN_PUBLICITY,
    (S.IN_PUBLICITY, A.PAY): S.PAID,
    (S.PAID, A.RESERVE): S.PAID,
    (S.PAID, A.OPEN_PUBLICITY): S.PAID,
    (S.PAID, A.PAY): S.PAID,
    # an upheld objection revokes before payment; late stage reports leave it revoked
    (S.APPROVED, A.REVOKE): S.REVOKED,
    (S.RESERVED, A.REVOKE): S.REVOKED,
    (S.IN_PUBLICITY, A.REVOKE): S.REVOKED,
    (S.RESERVATION_REFUSED, A.REVOKE): S.REVOKED,
    (S.REVOKED, A.REVOKE): S.REVOKED,
    (S.REVOKED, A.RESERVE): S.REVOKED,
    (S.REVOKED, A.OPEN_PUBLICITY): S.REVOKED,
}


def test_the_whole_way_from_submission_to_payment() -> None:
    status = S.SUBMITTED
    for action in (A.COMPLETE_REVIEW, A.APPROVE, A.RESERVE, A.OPEN_PUBLICITY, A.PAY):
        status = transition(status, action)
    assert status is S.PAID


def test_returned_claim_can_be_resubmitted() -> None:
    assert transition(transition(S.SUBMITTED, A.RETURN), A.RESUBMIT) is S.SUBMITTED


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL, key=str))
def test_legal_steps(status: ClaimStatus, action: ClaimAction) -> None:
    assert transition(status, action) is LEGAL[(status, action)]


ILLEGAL = sorted((set(itertools.product(S, A)) - set(LEGAL)), key=str)


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_every_other_step_is_refused_with_a_code(status: ClaimStatus, action: ClaimAction) -> None:
    with pytest.raises(Conflict) as refused:
        transition(status, action)
    assert refused.value.code == "CLAIM_STATE_INVALID"
    assert refused.value.details["status"] == status.value
    assert refused.value.title_zh == "申报当前状态不允许此操作" and refused.value.detail_zh


def test_a_refused_step_says_it_in_chinese() -> None:
    with pytest.raises(Conflict) as refused:
        transition(ClaimStatus.PAID, ClaimAction.WITHDRAW)
    assert refused.value.detail_zh == "该申报当前为“已拨付”，不能撤回。"


def test_every_claim_refusal_code_has_a_chinese_title() -> None:
    # the codes claims raises at people who submit, review and decide claims
    from ruralfund_claims.domain.refusals import TITLES_ZH

    codes = {
        "ITEM_NOT_CLAIMABLE", "ITEM_NOT_ACTIVE", "EVIDENCE_INVALID", "EVIDENCE_TOO_LARGE",
        "PERIOD_MISMATCH", "CLAIM_INELIGIBLE", "CLAIM_OUTSIDE_PROGRAM_PERIOD", "STORE_NOT_NEW",
        "PRODUCT_NOT_NEW", "DUPLICATE_CLAIM", "MONTHS_ALREADY_CLAIMED", "ALREADY_CLAIMED",
        "ENTERPRISE_NOT_REGISTERED", "STATION_AMBIGUOUS", "CLAIM_STATE_INVALID",
        "CLAIM_NOT_FOUND", "NOTE_REQUIRED", "REASON_REQUIRED", "ITEM_NOT_FOUND",
        "PROGRAM_NOT_FOUND",
    }  # fmt: skip
    assert codes <= set(TITLES_ZH)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in TITLES_ZH[c]) for c in codes)


def test_examples_of_refusals() -> None:
    illegal = {
        (S.SUBMITTED, A.APPROVE),
        (S.APPROVED, A.WITHDRAW),
        (S.PAID, A.REFUSE_RESERVATION),
        (S.RESERVED, A.REFUSE_RESERVATION),
        (S.REJECTED, A.PAY),
        (S.WITHDRAWN, A.RESUBMIT),
        (S.PAID, A.REVOKE),  # funds never revokes a paid award: a contradiction
        (S.REVOKED, A.PAY),
        (S.SUBMITTED, A.REVOKE),
    }
    assert illegal <= set(ILLEGAL)


def test_allowed_actions_match_the_table() -> None:
    for status in S:
        expected = sorted(a.value for (s, a) in LEGAL if s == status)
        assert sorted(allowed_actions(status)) == expected


# --------------------------------------------------------------------------- assessment


@pytest.fixture(scope="module")
def program() -> Program:
    check = check_program(
        yaml.safe_load((PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    )
    assert check.program is not None
    return check.program


def _enterprise(code: str = LOCAL) -> Enterprise:
    return Enterprise(
        credit_code=code,
        name="新平礼好农业有限公司",
        kind="enterprise",
        contact={"name": "李华", "phone": "0877-7012345"},
        bank_account={
            "bank_name": "中国农业银行新平县支行",
            "account_no": "6228 4800 0000 0000 017",
        },
    )


def test_assessment_adds_the_county_check(program: Program) -> None:
    evidence, result = assess_claim(
        program=program,
        item=program.item("brand-packaging"),
        enterprise=_enterprise(),
        raw_evidence={"quarter": "2023Q3", "units": 12_345},
        declared_period="2023Q3",
    )
    assert result.amount_fen == 246_900 and evidence == {"quarter": "2023Q3", "units": 12_345}
    assert [r.check for r in result.reasons] == [
        "registered_in_county", "min_units", "within_program_period"
    ]


def test_enterprise_registered_outside_the_county_is_ineligible(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program,
            item=program.item("brand-packaging"),
            enterprise=_enterprise(ELSEWHERE),
            raw_evidence={"quarter": "2023Q3", "units": 12_345},
            declared_period=None,
        )
    assert refused.value.code == "CLAIM_INELIGIBLE"
    failed = [r for r in refused.value.details["reasons"] if not r["passed"]]
    assert [(r["check"], r["required"], r["actual"]) for r in failed] == [
        ("registered_in_county", "530427", "530400")
    ]


def test_ineligible_claim_is_refused_with_the_reasons(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program,
            item=program.item("brand-packaging"),
            enterprise=_enterprise(),
            raw_evidence={"quarter": "2023Q3", "units": 9_999},
            declared_period=None,
        )
    assert refused.value.code == "CLAIM_INELIGIBLE" and "9,999" in refused.value.message


def test_an_ineligible_claim_says_why_in_chinese_with_the_figures(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program, item=program.item("sales-reward"), enterprise=_enterprise(),
            raw_evidence=_sales([("2023-07", "40,000.00"), ("2023-08", "40,000.00"),
                                 ("2023-09", "40,000.00")]),
            declared_period=None,
        )  # fmt: skip
    assert refused.value.code == "CLAIM_INELIGIBLE"
    assert refused.value.title_zh == "不符合奖补条件"
    assert refused.value.detail_zh == (
        "申报不符合奖补条件：累计销售额：120,000.00 元，要求不低于 150,000.00 元。"
    )


def _sales(months: list[tuple[str, str]], opened_on: str = "2023-07-01") -> dict:
    return {"platform": "taobao", "store_id": "66001", "opened_on": opened_on,
            "months": [{"month": m, "sales_yuan": a} for m, a in months]}  # fmt: skip


# Xinping: claims may cover only the plan's period, from its publication (2022-10-23, an
# estimate: the original prints no date) until acceptance. Packaging for 2019Q1 and sales
# months of 2015 were eligible.


def test_packaging_for_2019q1_is_outside_the_program_period(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(program=program, item=program.item("brand-packaging"),
                     enterprise=_enterprise(), raw_evidence={"quarter": "2019Q1", "units": 12_345},
                     declared_period=None)  # fmt: skip
    assert refused.value.code == "CLAIM_OUTSIDE_PROGRAM_PERIOD"
    assert refused.value.title_zh == "申报期间不在方案期间内"
    assert refused.value.detail_zh == (
        "申报不符合奖补条件：申报的 2019Q1 不在方案申报期间 2022年10月23日至项目验收内。"
    )


def test_sales_months_of_2015_are_outside_the_program_period(program: Program) -> None:
    evidence = _sales([("2015-01", "60,000.00"), ("2015-02", "60,000.00"),
                       ("2015-03", "60,000.00")], opened_on="2015-01-01")  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        assess_claim(program=program, item=program.item("sales-reward"),
                     enterprise=_enterprise(), raw_evidence=evidence, declared_period=None)
    assert refused.value.code == "CLAIM_OUTSIDE_PROGRAM_PERIOD"
    failed = {r["check"] for r in refused.value.details["reasons"] if not r["passed"]}
    assert failed == {"within_program_period", "store_opened_after_publication"}


def test_the_quarter_of_the_publication_is_inside_the_period(program: Program) -> None:
    _, result = assess_claim(program=program, item=program.item("brand-packaging"),
                             enterprise=_enterprise(), raw_evidence={"quarter": "2022Q4", "units": 10_000},
                             declared_period=None)  # fmt: skip
    assert result.eligible


def test_a_store_opened_before_publication_is_refused_as_not_new(program: Program) -> None:
    # 新开设店铺: a store opened in 2021 that sells in 2023 is not a new store
    evidence = _sales([("2023-07", "60,000.00"), ("2023-08", "60,000.00"),
                       ("2023-09", "60,000.00")], opened_on="2021-05-01")  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        assess_claim(program=program, item=program.item("sales-reward"),
                     enterprise=_enterprise(), raw_evidence=evidence, declared_period=None)
    assert refused.value.code == "STORE_NOT_NEW"
    assert refused.value.detail_zh == (
        "申报不符合奖补条件：开店日期（新开设店铺：方案公布之日起）：2021年5月1日，要求不低于 2022年10月23日。"
    )


def test_ruyuan_station_operation_reward_is_an_example_not_active() -> None:
    # Not in the Ruyuan original: kept as an example a program must opt into.
    ruyuan = check_program(
        yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    )
    assert ruyuan.program is not None and ruyuan.can_activate
    assert "EXAMPLE_ITEMS_INACTIVE" in {w.code for w in ruyuan.warnings}
    item = ruyuan.program.item("station-operation-reward")
    assert item.example and not item.active
    with pytest.raises(InvalidInput) as refused:
        assess_claim(program=ruyuan.program, item=item,
                     enterprise=_enterprise(with_check_character("91440232MA4W00012")),
                     raw_evidence={"year": 2024, "figures": {}}, declared_period=None)  # fmt: skip
    assert refused.value.code == "ITEM_NOT_ACTIVE" and refused.value.title_zh


def test_service_items_take_no_claims(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program,
            item=program.item("trade-fairs"),
            enterprise=_enterprise(),
            raw_evidence={},
            declared_period=None,
        )
    assert refused.value.code == "ITEM_NOT_CLAIMABLE"


def test_declared_period_must_be_the_evidences(program: Program) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program,
            item=program.item("brand-packaging"),
            enterprise=_enterprise(),
            raw_evidence={"quarter": "2023Q3", "units": 12_345},
            declared_period="2023Q4",
        )
    assert refused.value.code == "PERIOD_MISMATCH"


def test_evidence_size_is_limited(program: Program) -> None:
    raw = {"platform": "jd", "store_name": "x" * (MAX_EVIDENCE_BYTES + 1), "months": []}
    with pytest.raises(InvalidInput) as refused:
        assess_claim(
            program=program,
            item=program.item("sales-reward"),
            enterprise=_enterprise(),
            raw_evidence=raw,
            declared_period=None,
        )
    assert refused.value.code == "EVIDENCE_TOO_LARGE"


def test_unknown_item_is_not_found(program: Program) -> None:
    with pytest.raises(DomainError) as refused:
        program.item("no-such-item")
    assert (refused.value.code, refused.value.status) == ("ITEM_NOT_FOUND", 404)


# --------------------------------------------------------------------------- enterprises


def test_enterprise_county_is_its_registration_division() -> None:
    assert _enterprise().county_code == "530427"
    check_registered_in_county(_enterprise(), "530427", program_code="xinping-2021")
    with pytest.raises(InvalidInput) as refused:
        check_registered_in_county(_enterprise(ELSEWHERE), "530427", program_code="xinping-2021")
    assert refused.value.code == "ENTERPRISE_NOT_IN_COUNTY"


def test_enterprise_credit_code_is_checked() -> None:
    with pytest.raises(InvalidInput) as refused:
        _enterprise(LOCAL[:17] + ("0" if LOCAL[17] != "0" else "1"))
    assert refused.value.code == "CREDIT_CODE_INVALID"


def test_enterprise_change_needs_something_to_change() -> None:
    with pytest.raises(InvalidInput) as refused:
        EnterpriseChange().apply(_enterprise())
    assert refused.value.code == "NOTHING_TO_CHANGE"
    changed = EnterpriseChange(
        bank_account={"bank_name": "富滇银行新平支行", "account_no": "1234 5678 90"}
    ).apply(_enterprise())
    assert (
        changed.bank_account.bank_name == "富滇银行新平支行" and changed.name == _enterprise().name
    )
