"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), organisation type (1), registration administrative
division (6, the county's code for a county-registered company), organisation code (9), and a
check character (1) computed over the first 17. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import InvalidInput

__all__ = [
    "CREDIT_CODE_CHARSET",
    "CREDIT_CODE_LENGTH",
    "CREDIT_CODE_PATTERN",
    "check_character",
    "division_code",
    "is_valid_credit_code",
    "validate_credit_code",
    "with_check_character",
]

# GB 32100 alphabet: no I, O, S, V, Z (they read like 1, 0, 5, U, 2).
CREDIT_CODE_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_LENGTH: Final = 18
_MODULUS: Final = len(CREDIT_CODE_CHARSET)  # 31
# Weight of position i is 3**i mod 31, as listed in the standard.
_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: The shape of a code (no check character test): also usable as a pydantic ``pattern``.
#: ``[0-9]``, not ``\d``: pydantic's (Rust) regex takes ``\d`` as any Unicode digit.
CREDIT_CODE_PATTERN: Final = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_SHAPE: Final = re.compile(CREDIT_CODE_PATTERN)

assert len(_WEIGHTS) == CREDIT_CODE_LENGTH - 1
assert all(w == pow(3, i, _MODULUS) for i, w in enumerate(_WEIGHTS))


def check_character(first_17: str) -> str:
    """The check character for the first 17 characters: 31 - (weighted sum mod 31), 31 -> 0."""
    if len(first_17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError(f"need {CREDIT_CODE_LENGTH - 1} characters, got {len(first_17)}")
    try:
        total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first_17, _WEIGHTS))
    except ValueError:
        raise ValueError(f"{first_17!r} has a character outside the GB 32100 alphabet") from None
    value = _MODULUS - total % _MODULUS
    return CREDIT_CODE_CHARSET[0 if value == _MODULUS else value]


def with_check_character(first_17: str) -> str:
    """Complete a code from its first 17 characters (fixtures, demo data)."""
    return first_17 + check_character(first_17)


def is_valid_credit_code(code: str) -> bool:
    if not isinstance(code, str) or not _SHAPE.fullmatch(code):
        return False
    return check_character(code[:17]) == code[17]


def validate_credit_code(code: str, *, field: str = "credit_code") -> str:
    """The code, upper-cased and checked; 422 ``CREDIT_CODE_INVALID`` naming what is wrong."""
    normalised = code.strip().upper() if isinstance(code, str) else ""
    if not _SHAPE.fullmatch(normalised):
        raise InvalidInput(
            "CREDIT_CODE_INVALID",
            f"{code!r} is not an 18-character unified social credit code (GB 32100)",
            field=field,
            title_zh="统一社会信用代码有误",
            detail_zh=f"“{code}”不是18位统一社会信用代码（GB 32100：数字和除 I、O、Z、S、V 以外的大写字母）。",
        )
    expected = check_character(normalised[:17])
    if normalised[17] != expected:
        raise InvalidInput(
            "CREDIT_CODE_INVALID",
            f"{normalised}: check character is {normalised[17]!r}, GB 32100 gives {expected!r}",
            field=field,
            title_zh="统一社会信用代码有误",
            detail_zh=f"{normalised} 的第18位校验码应为 {expected}，而不是 {normalised[17]}：请核对营业执照。",
        )
    return normalised


def division_code(code: str) -> str:
    """Characters 3-8: the administrative division where the entity was registered."""
    return code[2:8]
