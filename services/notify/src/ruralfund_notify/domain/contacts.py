"""Whom notify writes to about an enterprise: its contact, keyed by credit code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Contact", "is_deliverable_address", "replaced_address"]

# RFC 5321 limits an address to 254 characters; the pattern only catches obvious typos.
MAX_ADDRESS_CHARS: Final = 254
_ADDRESS: Final = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def is_deliverable_address(address: str) -> bool:
    return len(address) <= MAX_ADDRESS_CHARS and _ADDRESS.fullmatch(address) is not None


@dataclass(frozen=True, slots=True)
class Contact:
    credit_code: str
    name: str  # the enterprise's name
    kind: str
    county_code: str
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None

    def __post_init__(self) -> None:
        if len(self.credit_code) != 18:
            raise ValueError(f"credit code must have 18 characters, got {self.credit_code!r}")
        email = (self.contact_email or "").strip() or None
        object.__setattr__(self, "contact_email", email)

    @property
    def deliverable_email(self) -> str | None:
        """The address to write to, or None when there is none or it cannot be right."""
        email = self.contact_email
        return email if email is not None and is_deliverable_address(email) else None


def replaced_address(before: Contact | None, after: Contact) -> str | None:
    """The address on record that a new contact replaces, if it could be written to.

    Replacing the contact first and the bank account next would send the account-change
    warning to the new contact only: so the old address is told of the contact change itself.
    """
    old = before.deliverable_email if before is not None else None
    if old is None or (after.contact_email or "").lower() == old.lower():
        return None
    return old
