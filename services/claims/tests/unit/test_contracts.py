"""Service contracts in the domain: budget room, deliverables met (with alternatives), what
stands between a contract and its acceptance."""

from __future__ import annotations

import pytest
from ruralfund_claims.domain.contracts import (
    ContractIn,
    DeliverableState,
    acceptance_gaps,
    require_within_budget,
)
from ruralfund_claims.domain.program import Item
from ruralfund_claims.domain.targets import TargetValue
from ruralfund_common.errors import Conflict, InvalidInput

ITEM = Item("anchor-training", "带货主播孵化培训", "brand-promotion", 50_000_000, "service", None)


def _state(code: str, bound: TargetValue, actual: int | None, alternative: str | None = None):
    return DeliverableState(code, code, bound, actual, alternative)


AT_LEAST_100 = TargetValue("at_least", 100)
AT_MOST_24 = TargetValue("at_most", 24)


def test_the_budget_left_is_the_limit_to_the_fen() -> None:
    require_within_budget(ITEM, 2_000_000, 48_000_000)  # exactly what is left
    with pytest.raises(Conflict) as refused:
        require_within_budget(ITEM, 2_000_001, 48_000_000)
    assert refused.value.code == "CONTRACT_EXCEEDS_BUDGET"
    assert refused.value.details["left_fen"] == 2_000_000
    with pytest.raises(InvalidInput):
        require_within_budget(ITEM, 0, 0)


@pytest.mark.parametrize(
    ("bound", "actual", "met"),
    [
        (AT_LEAST_100, 99, False),
        (AT_LEAST_100, 100, True),
        (AT_MOST_24, 24, True),
        (AT_MOST_24, 25, False),
        (AT_LEAST_100, None, None),
        (TargetValue(None, None), None, True),
    ],
)
def test_a_deliverable_is_met_at_its_bound(bound: TargetValue, actual, met) -> None:  # type: ignore[no-untyped-def]
    assert _state("d", bound, actual).met is met


def test_either_of_a_pair_suffices() -> None:
    pair = [
        _state("anchors-10k-fans", TargetValue("at_least", 15), 3, "anchor-team"),
        _state("anchor-team", TargetValue("at_least", 1), None, "anchors-10k-fans"),
    ]
    (gap,) = acceptance_gaps(pair, [])
    assert gap.startswith("deliverable anchors-10k-fans") and "— or anchor-team" in gap
    pair[1] = _state("anchor-team", TargetValue("at_least", 1), 1, "anchors-10k-fans")
    assert acceptance_gaps(pair, []) == []


def test_pending_milestones_are_gaps() -> None:
    done = [_state("trainee-times", AT_LEAST_100, 120)]
    assert acceptance_gaps(done, [("plan", "accepted"), ("report", "pending")]) == [
        "milestone report is not accepted"
    ]


def test_a_contract_cannot_end_before_it_is_signed() -> None:
    with pytest.raises(ValueError, match="ends_on"):
        ContractIn(
            contract_no="x", provider_credit_code="9" * 18, amount_yuan="1.00",
            signed_on="2023-05-10", ends_on="2023-05-09",
        )  # fmt: skip
