"""Field types shared by event contracts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

__all__ = ["Code", "CountyCode", "CreditCode", "Fen", "ItemMode", "PositiveFen"]

# Money in integer fen; bounded by PostgreSQL bigint.
Fen = Annotated[int, Field(ge=0, le=2**63 - 1)]
PositiveFen = Annotated[int, Field(gt=0, le=2**63 - 1)]
CreditCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
CountyCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
ItemMode = Literal["reward", "service"]
