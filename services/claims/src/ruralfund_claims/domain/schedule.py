"""A service contract's payment schedule (付款计划): the advance on signing (前期资金拨付),
instalments when their milestones are accepted, the balance on the final acceptance (验收).

A schedule adds up to the contract amount to the fen; it has at most one advance and one
balance; each instalment names one of the contract's milestones, and no milestone pays twice.
A tranche's life: ``scheduled`` → ``due`` (claims asks funds to pay it) → ``paid``; funds may
refuse it (``refused``); a payment the bank failed or returned makes it ``due`` again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.errors import Conflict, InvalidInput
from ruralfund_common.money import format_yuan, parse_yuan

__all__ = [
    "MAX_TRANCHES",
    "Tranche",
    "TrancheIn",
    "TrancheKind",
    "TrancheStatus",
    "check_schedule",
    "payment_failed",
    "require_status",
]

MAX_TRANCHES: Final = 33  # an advance, a balance and one instalment per contract milestone

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
TrancheKind = Literal["advance", "instalment", "balance"]
FIELD: Final = "payment_schedule"


class TrancheStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"  # payable: funds was told (claims.evt.contract_payment_due.v1)
    PAID = "paid"
    REFUSED = "refused"  # funds could not reserve it (e.g. ITEM_BUDGET_EXCEEDED)


class TrancheIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    code: Code
    kind: TrancheKind
    amount_yuan: Annotated[str, Field(max_length=40, description='e.g. "270,000.00"')]
    milestone_code: Code | None = Field(
        default=None, description="instalments: paid on its acceptance"
    )
    spending_category: Code | None = Field(
        default=None, description="e.g. hardware; default: the item's spending category"
    )


@dataclass(frozen=True)
class Tranche:
    code: str
    kind: TrancheKind
    amount_fen: int
    milestone_code: str | None
    spending_category: str | None


def _fen(text: str, code: str) -> int:
    try:
        fen = parse_yuan(text)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput("AMOUNT_INVALID", f"tranche {code}: {exc}", field=FIELD) from None
    if fen <= 0:
        raise InvalidInput(
            "AMOUNT_INVALID", f"tranche {code}: an amount must be positive", field=FIELD
        )
    return fen


def check_schedule(
    tranches: Iterable[TrancheIn],
    *,
    amount_fen: int,
    milestone_codes: Iterable[str],
    default_category: str | None,
) -> list[Tranche]:
    """The checked tranches, or the first refusal (every one has its own code)."""
    given = list(tranches)
    if len(given) > MAX_TRANCHES:
        raise InvalidInput("SCHEDULE_TOO_LONG", f"at most {MAX_TRANCHES} tranches", field=FIELD)
    codes = Counter(t.code for t in given)
    twice = sorted(c for c, n in codes.items() if n > 1)
    if twice:
        raise InvalidInput(
            "DUPLICATE_CODE", f"tranche codes used twice: {', '.join(twice)}", field=FIELD
        )
    kinds = Counter(t.kind for t in given)
    for kind in ("advance", "balance"):
        if kinds[kind] > 1:
            raise InvalidInput(
                f"SCHEDULE_{kind.upper()}_TWICE", f"a schedule has at most one {kind}", field=FIELD
            )
    known = set(milestone_codes)
    paying: dict[str, str] = {}
    for t in given:
        if t.kind != "instalment":
            if t.milestone_code is not None:
                raise InvalidInput(
                    "MILESTONE_ONLY_FOR_INSTALMENT",
                    f"tranche {t.code}: an {t.kind} is not paid on a milestone",
                    field=FIELD,
                )
            continue
        if t.milestone_code is None:
            raise InvalidInput(
                "INSTALMENT_NEEDS_MILESTONE",
                f"instalment {t.code} must name the contract milestone whose acceptance pays it",
                field=FIELD,
            )
        if t.milestone_code not in known:
            raise InvalidInput(
                "UNKNOWN_MILESTONE",
                f"instalment {t.code}: the contract has no milestone {t.milestone_code!r}",
                field=FIELD,
            )
        if t.milestone_code in paying:
            raise InvalidInput(
                "MILESTONE_PAID_TWICE",
                f"milestone {t.milestone_code} already pays instalment {paying[t.milestone_code]}",
                field=FIELD,
            )
        paying[t.milestone_code] = t.code
    checked = [
        Tranche(t.code, t.kind, _fen(t.amount_yuan, t.code), t.milestone_code,
                t.spending_category or default_category)
        for t in given
    ]  # fmt: skip
    total = sum(t.amount_fen for t in checked)
    if total != amount_fen:
        raise InvalidInput(
            "SCHEDULE_SUM_MISMATCH",
            f"the tranches add up to {format_yuan(total)} yuan, the contract is "
            f"{format_yuan(amount_fen)} (difference {format_yuan(total - amount_fen)})",
            field=FIELD,
            details={"tranches_fen": total, "amount_fen": amount_fen},
        )
    return checked


def require_status(code: str, status: str, *expected: TrancheStatus) -> None:
    if status not in expected:
        raise Conflict(
            "TRANCHE_STATE",
            f"tranche {code} is {status}, not {' or '.join(e.value for e in expected)}",
        )


def payment_failed(status: str, paid_by: str | None, failed_payment_id: str) -> TrancheStatus:
    """After the bank failed ``failed_payment_id``: due again if that payment paid the tranche,
    otherwise unchanged (a later payment may already have paid it)."""
    if status == TrancheStatus.PAID and paid_by == failed_payment_id:
        return TrancheStatus.DUE
    return TrancheStatus(status)
