from __future__ import annotations

from typing import Literal

from ...messaging.envelope import Event
from .._types import CountyCode, CreditCode


class EnterpriseRegistered(Event):
    """An enterprise (company, station operator, service provider or contractor) was registered
    or its details changed. Carries the contact that notify writes to."""

    SUBJECT = "claims.evt.enterprise_registered.v1"
    credit_code: CreditCode
    name: str
    kind: Literal["enterprise", "station_operator", "service_provider", "contractor"]
    county_code: CountyCode
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None
