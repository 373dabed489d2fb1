"""Payment schedules of service contracts, procurement packages and milestone acceptance in the
domain, with Ruyuan's figures: the livestream centre (直播中心, 900,000.00 in the plan's
estimate) tendered as one package, paid 30 % on signing, an instalment when the fixed studio is
accepted, the balance on the final acceptance (验收)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from ruralfund_claims.domain.contracts import acceptance_record
from ruralfund_claims.domain.packages import (
    Package,
    ProcurementMethod,
    checked_package_items,
    require_package_within_items,
    require_renewal_consistent,
    require_winner,
    require_within_package,
)
from ruralfund_claims.domain.program import check_program, require_activatable
from ruralfund_claims.domain.schedule import (
    MAX_TRANCHES,
    ItemShareIn,
    Tranche,
    TrancheIn,
    TrancheStatus,
    check_schedule,
    check_split,
    payment_failed,
    require_status,
)
from ruralfund_common.errors import Conflict, DomainError, InvalidInput

PROGRAMS = Path(__file__).resolve().parents[4] / "programs"
LIVESTREAM_FEN = 90_000_000  # 900,000.00 yuan
MILESTONES = ("fixed-studio", "shared-studios")
WINNER = "91440232MA4W000010"


@pytest.fixture(scope="module")
def ruyuan():  # type: ignore[no-untyped-def]
    doc = yaml.safe_load((PROGRAMS / "ruyuan-2021-p2.yaml").read_text(encoding="utf-8"))
    return require_activatable(check_program(doc))


def _t(code: str, kind: str, yuan: str, milestone: str | None = None, **kw: str) -> TrancheIn:
    return TrancheIn(code=code, kind=kind, amount_yuan=yuan, milestone_code=milestone, **kw)  # type: ignore[arg-type]


LIVESTREAM = [
    _t("advance", "advance", "270,000.00"),  # 30 % 前期资金拨付
    _t("studio", "instalment", "360,000.00", "fixed-studio", spending_category="hardware"),
    _t("balance", "balance", "270,000.00"),
]


def _check(tranches: list[TrancheIn], amount_fen: int = LIVESTREAM_FEN) -> list[Tranche]:
    return check_schedule(
        tranches, amount_fen=amount_fen, milestone_codes=MILESTONES, default_category="livestream"
    )


def _refused(tranches: list[TrancheIn], amount_fen: int = LIVESTREAM_FEN) -> DomainError:
    with pytest.raises(DomainError) as refused:
        _check(tranches, amount_fen)
    assert refused.value.field == "payment_schedule"
    return refused.value


def test_the_livestream_centre_schedule_adds_up_to_the_fen() -> None:
    checked = _check(LIVESTREAM)
    assert [
        (t.code, t.kind, t.amount_fen, t.milestone_code, t.spending_category) for t in checked
    ] == [
        ("advance", "advance", 27_000_000, None, "livestream"),  # the item's category by default
        ("studio", "instalment", 36_000_000, "fixed-studio", "hardware"),  # the studio fit-out
        ("balance", "balance", 27_000_000, None, "livestream"),
    ]
    assert sum(t.amount_fen for t in checked) == LIVESTREAM_FEN


def test_one_fen_off_is_refused_with_the_difference() -> None:
    short = [*LIVESTREAM[:2], _t("balance", "balance", "269,999.99")]
    refused = _refused(short)
    assert (refused.code, refused.status) == ("SCHEDULE_SUM_MISMATCH", 422)
    assert refused.details == {"tranches_fen": LIVESTREAM_FEN - 1, "amount_fen": LIVESTREAM_FEN}
    assert "difference -0.01" in refused.message
    over = [*LIVESTREAM[:2], _t("balance", "balance", "270,000.01")]
    assert _refused(over).code == "SCHEDULE_SUM_MISMATCH"


def test_at_most_one_advance_and_one_balance() -> None:
    two_advances = [
        _t("a1", "advance", "100,000.00"),
        _t("a2", "advance", "170,000.00"),
        *LIVESTREAM[1:],
    ]
    assert _refused(two_advances).code == "SCHEDULE_ADVANCE_TWICE"
    two_balances = [
        *LIVESTREAM[:2],
        _t("b1", "balance", "70,000.00"),
        _t("b2", "balance", "200,000.00"),
    ]
    assert _refused(two_balances).code == "SCHEDULE_BALANCE_TWICE"


def test_an_instalment_names_an_existing_milestone_once() -> None:
    nameless = [LIVESTREAM[0], _t("studio", "instalment", "360,000.00"), LIVESTREAM[2]]
    assert _refused(nameless).code == "INSTALMENT_NEEDS_MILESTONE"
    unknown = [LIVESTREAM[0], _t("studio", "instalment", "360,000.00", "no-such"), LIVESTREAM[2]]
    assert _refused(unknown).code == "UNKNOWN_MILESTONE"
    twice = [
        LIVESTREAM[0],
        _t("studio-1", "instalment", "180,000.00", "fixed-studio"),
        _t("studio-2", "instalment", "180,000.00", "fixed-studio"),
        LIVESTREAM[2],
    ]
    assert _refused(twice).code == "MILESTONE_PAID_TWICE"
    on_signing = [_t("advance", "advance", "270,000.00", "fixed-studio"), *LIVESTREAM[1:]]
    assert _refused(on_signing).code == "MILESTONE_ONLY_FOR_INSTALMENT"


def test_codes_are_unique_and_amounts_positive_text() -> None:
    assert _refused([LIVESTREAM[0], LIVESTREAM[0]]).code == "DUPLICATE_CODE"
    zero = [*LIVESTREAM, _t("nothing", "instalment", "0.00", "shared-studios")]
    assert _refused(zero).code == "AMOUNT_INVALID"
    garbled = [_t("advance", "advance", "27万"), *LIVESTREAM[1:]]
    assert _refused(garbled).code == "AMOUNT_INVALID"


def test_a_schedule_is_bounded() -> None:
    many = [_t(f"i{n}", "instalment", "1.00", f"m{n}") for n in range(MAX_TRANCHES + 1)]
    with pytest.raises(InvalidInput) as refused:
        check_schedule(many, amount_fen=len(many) * 100, milestone_codes=[f"m{n}" for n in range(len(many))],
                       default_category=None)  # fmt: skip
    assert refused.value.code == "SCHEDULE_TOO_LONG"


def test_a_schedule_needs_no_advance_nor_balance() -> None:
    only_instalments = [
        _t("studio", "instalment", "450,000.00", "fixed-studio"),
        _t("scenes", "instalment", "450,000.00", "shared-studios"),
    ]
    assert [t.kind for t in _check(only_instalments)] == ["instalment", "instalment"]


def test_tranche_states() -> None:
    require_status("advance", "due", TrancheStatus.DUE)
    with pytest.raises(Conflict) as refused:
        require_status("advance", "scheduled", TrancheStatus.DUE)
    assert refused.value.code == "TRANCHE_STATE"
    # the bank failed the payment that paid it: due again; a stale failure changes nothing
    assert payment_failed("paid", "pay-1", "pay-1") is TrancheStatus.DUE
    assert payment_failed("paid", "pay-2", "pay-1") is TrancheStatus.PAID
    assert payment_failed("due", None, "pay-1") is TrancheStatus.DUE


# --------------------------------------------------------------------------- packages


def test_a_package_covers_service_items_of_its_line(ruyuan) -> None:  # type: ignore[no-untyped-def]
    items = checked_package_items(
        ruyuan, "public-service-system", ["livestream-center", "o2o-agritourism"]
    )
    assert sum(i.budget_fen for i in items) == 150_000_000
    for line, codes, code in [
        ("no-such-line", ["livestream-center"], "LINE_NOT_FOUND"),
        ("three-tier-logistics", ["livestream-center"], "ITEM_NOT_IN_LINE"),
        ("public-service-system", ["station-operation-reward"], "ITEM_NOT_SERVICE"),
        ("public-service-system", ["livestream-center", "livestream-center"], "DUPLICATE_CODE"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            checked_package_items(ruyuan, line, codes)
        assert refused.value.code == code


def test_a_package_budget_fits_what_its_items_have_not_committed(ruyuan) -> None:  # type: ignore[no-untyped-def]
    items = checked_package_items(ruyuan, "public-service-system", ["livestream-center"])
    require_package_within_items(items, 0, LIVESTREAM_FEN)  # the whole item
    require_package_within_items(items, 10_000_000, 80_000_000)  # 100,000.00 already contracted
    with pytest.raises(Conflict) as refused:
        require_package_within_items(items, 10_000_000, 80_000_001)
    assert (refused.value.code, refused.value.details["left_fen"]) == (
        "PACKAGE_EXCEEDS_BUDGET",
        80_000_000,
    )
    with pytest.raises(InvalidInput) as zero:
        require_package_within_items(items, 0, 0)
    assert zero.value.code == "AMOUNT_INVALID"


def test_a_renewal_names_what_it_renews() -> None:
    require_renewal_consistent(ProcurementMethod.RENEWAL, "RY-2021-FW-003 (首期)")
    require_renewal_consistent(ProcurementMethod.PUBLIC_TENDER, None)
    with pytest.raises(InvalidInput) as missing:
        require_renewal_consistent(ProcurementMethod.RENEWAL, None)
    assert (missing.value.code, missing.value.field) == ("RENEWAL_NEEDS_PREDECESSOR", "renews")
    with pytest.raises(InvalidInput) as stray:
        require_renewal_consistent(ProcurementMethod.COMPETITIVE_CONSULTATION, "首期")
    assert stray.value.code == "RENEWS_ONLY_FOR_RENEWAL"


def test_a_contract_under_a_package_is_with_its_winner_within_its_budget() -> None:
    package = Package("lot-3-livestream", ("livestream-center",), LIVESTREAM_FEN, WINNER)
    require_winner(package, "livestream-center", WINNER)
    require_within_package(package, 0, LIVESTREAM_FEN)
    with pytest.raises(InvalidInput) as other_item:
        require_winner(package, "regional-brand", WINNER)
    assert other_item.value.code == "ITEM_NOT_IN_PACKAGE"
    with pytest.raises(InvalidInput) as loser:
        require_winner(package, "livestream-center", "91440232MA4W000029")
    assert (loser.value.code, loser.value.field) == ("PROVIDER_NOT_WINNER", "provider_credit_code")
    with pytest.raises(InvalidInput) as nothing:
        require_within_package(package, 0, 0)
    assert nothing.value.code == "AMOUNT_INVALID"
    with pytest.raises(Conflict) as over:
        require_within_package(package, 50_000_000, 40_000_001)
    assert (over.value.code, over.value.details["left_fen"]) == (
        "CONTRACT_EXCEEDS_PACKAGE",
        40_000_000,
    )


# --------------------------------------------------------------------------- milestone acceptance


def test_an_acceptance_records_its_day_and_people() -> None:
    today, signed = date(2023, 9, 5), date(2023, 6, 20)
    day, people = acceptance_record(
        date(2023, 9, 1),
        ["张工", " 李专家 ", "张工"],
        recorder_name="Wang Admin",
        today=today,
        signed_on=signed,
    )
    assert (day, people) == (date(2023, 9, 1), ("张工", "李专家"))
    assert acceptance_record(
        None, [], recorder_name="Wang Admin", today=today, signed_on=signed
    ) == (
        today,
        ("Wang Admin",),
    )
    for when, code in [
        (date(2023, 9, 6), "ACCEPTED_ON_IN_FUTURE"),
        (date(2023, 6, 19), "ACCEPTED_ON_BEFORE_SIGNING"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            acceptance_record(when, [], recorder_name="x", today=today, signed_on=signed)
        assert (refused.value.code, refused.value.field) == (code, "accepted_on")


# -- issue 16: a package contract over two items, a tranche's hardware part ---------------------

SMART, NETWORK = "smart-logistics-center", "logistics-network-operation"
SPLIT = {SMART: 150_000_000, NETWORK: 70_000_000}  # 1,500,000.00 + 700,000.00 = 2,200,000.00


def _share(code: str, yuan: str) -> ItemShareIn:
    return ItemShareIn(item_code=code, amount_yuan=yuan)


def _logistics(advance=("450,000.00", "210,000.00"), instalment=("600,000.00", "280,000.00"),
               balance=("450,000.00", "210,000.00")) -> list[TrancheIn]:
    def t(code: str, kind: str, total: str, split: tuple[str, str], milestone: str | None = None) -> TrancheIn:
        return _t(code, kind, total, milestone, items=[_share(SMART, split[0]), _share(NETWORK, split[1])])

    return [t("advance", "advance", "660,000.00", advance),
            t("sorting", "instalment", "880,000.00", instalment, "fixed-studio"),
            t("balance", "balance", "660,000.00", balance)]


def test_a_package_contract_over_two_items_splits_every_tranche():
    checked = check_schedule(
        _logistics(), amount_fen=220_000_000, milestone_codes=MILESTONES, default_category="logistics",
        contract_split=SPLIT)
    assert [t.parts for t in checked] == [
        ((SMART, 45_000_000), (NETWORK, 21_000_000)),
        ((SMART, 60_000_000), (NETWORK, 28_000_000)),
        ((SMART, 45_000_000), (NETWORK, 21_000_000)),
    ]
    assert check_split([_share(SMART, "1,500,000.00"), _share(NETWORK, "700,000.00")],
                       amount_fen=220_000_000, allowed=(SMART, NETWORK), field="items", what_zh="合同") == SPLIT


@pytest.mark.parametrize("tranches,code,zh", [
    # the instalment's parts add up to 880,000.01, not 880,000.00
    (_logistics(instalment=("600,000.01", "280,000.00")), "SPLIT_SUM_MISMATCH", "880,000.01"),
    # every tranche adds up, but the smart centre gets 1,500,000.01 over the schedule
    (_logistics(instalment=("600,000.01", "279,999.99")), "SPLIT_SUM_MISMATCH", "1,500,000.01"),
    ([_t("advance", "advance", "660,000.00"), *_logistics()[1:]], "TRANCHE_SPLIT_REQUIRED", "660,000.00"),
])
def test_a_split_that_does_not_add_up_is_refused_with_the_figures_in_chinese(tranches, code, zh):
    with pytest.raises(InvalidInput) as e:
        check_schedule(tranches, amount_fen=220_000_000, milestone_codes=MILESTONES,
                       default_category="logistics", contract_split=SPLIT)
    assert e.value.code == code and e.value.title_zh and zh in e.value.detail_zh, e.value.detail_zh


def test_a_split_names_only_the_packages_items():
    with pytest.raises(InvalidInput) as e:
        check_split([_share("cloud-supermarket", "2,200,000.00")], amount_fen=220_000_000,
                    allowed=(SMART, NETWORK), field="items", what_zh="合同")
    assert e.value.code == "ITEM_NOT_IN_PACKAGE" and "cloud-supermarket" in e.value.detail_zh


def test_a_tranche_names_its_hardware_part():
    studio = _t("studio", "instalment", "360,000.00", "fixed-studio", hardware_yuan="300,000.00")
    checked = _check([LIVESTREAM[0], studio, LIVESTREAM[2]])
    assert (checked[1].hardware_fen, checked[1].spending_category) == (30_000_000, "livestream")
    assert checked[0].hardware_fen is None
    too_much = _t("studio", "instalment", "360,000.00", "fixed-studio", hardware_yuan="360,000.01")
    with pytest.raises(InvalidInput) as e:
        _check([LIVESTREAM[0], too_much, LIVESTREAM[2]])
    assert e.value.code == "HARDWARE_EXCEEDS_TRANCHE" and "360,000.01" in e.value.detail_zh
