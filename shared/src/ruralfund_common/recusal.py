"""The one conflict-of-interest rule (回避): who must stay out of a decision about an enterprise.

A person must recuse from every decision that moves money to, or decides for or against, an
enterprise that is their own (the credit code their token is bound to) or one they are linked
to (relative, former employer, shareholder: ``linked_credit_codes``). Every service asks this
module, so claims decisions, contract acceptance, payment orders, payment approvals and
clawback decisions cannot drift apart again (funds once checked only the linked codes, so a
principal whose *own* code was the payee's co-signed its payment).

Pure: no I/O, no web framework, so domain packages may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

from .errors import Forbidden

__all__ = [
    "RECUSAL_REQUIRED",
    "RECUSAL_TITLE_ZH",
    "Decider",
    "RecusalRequired",
    "Stakes",
    "must_recuse",
    "recusal_codes",
    "require_no_conflict_of_interest",
]

RECUSAL_REQUIRED: Final = "RECUSAL_REQUIRED"
RECUSAL_TITLE_ZH: Final = "存在利害关系，须回避"


class Decider(Protocol):
    """What the rule needs of a person (``ruralfund_common.auth.Principal`` is one)."""

    @property
    def credit_code(self) -> str | None: ...

    @property
    def linked_credit_codes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Stakes:
    """A person's enterprises, detached from the token, for a service whose domain carries its
    own view of the caller (logistics' ``Actor``): ``Stakes.of(principal)``."""

    credit_code: str | None = None
    linked_credit_codes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, decider: Decider) -> Stakes:
        return cls(decider.credit_code, frozenset(decider.linked_credit_codes))


def _canonical(credit_code: str) -> str:
    return credit_code.strip().upper()


def recusal_codes(decider: Decider) -> frozenset[str]:
    """The enterprises this person may decide nothing about: own code ∪ linked codes."""
    own = {_canonical(decider.credit_code)} if decider.credit_code else set()
    return frozenset(own | {_canonical(c) for c in decider.linked_credit_codes})


def must_recuse(decider: Decider, credit_code: str) -> bool:
    """True when ``decider`` must stay out of a decision about enterprise ``credit_code``."""
    return _canonical(credit_code) in recusal_codes(decider)


class RecusalRequired(Forbidden):
    """403 ``RECUSAL_REQUIRED``: ``title_zh`` and ``detail_zh`` say, in Chinese, what the
    person may not do and for which enterprise; ``details`` carry the code for machines."""

    def __init__(self, credit_code: str, decision_zh: str) -> None:
        code = _canonical(credit_code)
        super().__init__(
            RECUSAL_REQUIRED,
            f"enterprise {code} is your own or one you are linked to: a person without that "
            "conflict of interest must decide this",
            details={"credit_code": code},
            title_zh=RECUSAL_TITLE_ZH,
            detail_zh=f"您本人所属或与您关联的企业（统一社会信用代码 {code}）是本事项的当事方，"
            f"按回避规定您不能{decision_zh}，请由与该企业无利害关系的其他人员办理。",
        )


def require_no_conflict_of_interest(
    decider: Decider, credit_code: str, *, decision_zh: str
) -> None:
    """Refuse (``RecusalRequired``) when ``decider`` must recuse from deciding about
    ``credit_code``. ``decision_zh`` names the act in Chinese, e.g. ``审批向该企业的付款``."""
    assert decision_zh.strip(), "say which decision the person must stay out of"
    if must_recuse(decider, credit_code):
        raise RecusalRequired(credit_code, decision_zh)
