"""Enterprises: companies, station operators, service providers and contractors that claim
awards or take part in a program, identified by their unified social credit code."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from ruralfund_common.credit_code import division_code, validate_credit_code
from ruralfund_common.errors import InvalidInput
from ruralfund_common.text import SingleLine

__all__ = [
    "ENTERPRISE_KINDS",
    "BankAccount",
    "Contact",
    "Enterprise",
    "EnterpriseChange",
    "check_registered_in_county",
]

ENTERPRISE_KINDS: Final = ("enterprise", "station_operator", "service_provider", "contractor")
EnterpriseKind = Literal["enterprise", "station_operator", "service_provider", "contractor"]
MAX_NAME_CHARS: Final = 200

_PHONE = r"^\+?[0-9][0-9 -]{5,19}$"
# Deliberately loose: the mail server is the real check; this only catches typos.
_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$"
_ACCOUNT_NO = r"^[0-9][0-9 -]{5,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Contact(_Strict):
    name: Annotated[SingleLine, Field(min_length=1, max_length=100)]
    email: Annotated[SingleLine, Field(pattern=_EMAIL, max_length=254)] | None = None
    phone: Annotated[SingleLine, Field(pattern=_PHONE)] | None = None


class BankAccount(_Strict):
    bank_name: Annotated[SingleLine, Field(min_length=2, max_length=MAX_NAME_CHARS, description="开户行")]
    account_no: Annotated[str, Field(pattern=_ACCOUNT_NO, description="账号")]


class Enterprise(_Strict):
    """A registered enterprise. ``county_code`` is where it was registered: characters 3-8 of
    its credit code, the registration authority's administrative division."""

    credit_code: str
    name: Annotated[SingleLine, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    kind: EnterpriseKind
    contact: Contact
    bank_account: BankAccount

    @field_validator("credit_code")
    @classmethod
    def _gb32100(cls, value: str) -> str:
        return validate_credit_code(value)

    @property
    def county_code(self) -> str:
        return division_code(self.credit_code)


class EnterpriseChange(_Strict):
    """What an enterprise (or the bureau) may change after registration."""

    name: Annotated[SingleLine, Field(min_length=1, max_length=MAX_NAME_CHARS)] | None = None
    contact: Contact | None = None
    bank_account: BankAccount | None = None

    def apply(self, current: Enterprise) -> Enterprise:
        changes = {
            k: v
            for k, v in (
                ("name", self.name),
                ("contact", self.contact),
                ("bank_account", self.bank_account),
            )
            if v is not None
        }
        if not changes:
            raise InvalidInput("NOTHING_TO_CHANGE", "give name, contact or bank_account",
                               title_zh="没有变更", detail_zh="请至少修改名称、联系人或银行账户中的一项。")
        return current.model_copy(update=changes)


def check_registered_in_county(
    enterprise: Enterprise, county_code: str, *, program_code: str
) -> None:
    """County-registered enterprises only (县域内注册的企业): characters 3-8 must be the county."""
    if enterprise.county_code != county_code:
        raise InvalidInput(
            "ENTERPRISE_NOT_IN_COUNTY",
            f"{enterprise.credit_code} was registered in division {enterprise.county_code}; "
            f"program {program_code} is for county {county_code}",
            field="credit_code",
            title_zh="不是本县注册的企业",
            detail_zh=f"统一社会信用代码 {enterprise.credit_code} 的登记机关区划为 {enterprise.county_code}，"
            f"本项目只受理县域（区划 {county_code}）内注册的企业。",
            details={
                "registration_division": enterprise.county_code,
                "program_county": county_code,
            },
        )
