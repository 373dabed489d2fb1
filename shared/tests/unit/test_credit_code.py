"""GB 32100 check character: known codes, generated codes, and every single-character error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_common.credit_code import (
    CREDIT_CODE_CHARSET,
    check_character,
    division_code,
    is_valid_credit_code,
    validate_credit_code,
    with_check_character,
)
from ruralfund_common.errors import InvalidInput

# The worked example printed in GB 32100-2015, and a published company code.
KNOWN_VALID = ["91350100M000100Y43", "91440300708461136T"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)
    assert validate_credit_code(code.lower()) == code


def test_check_character_worked_by_hand() -> None:
    # 9*1 + 1*3 + 3*9 + 5*27 + 1*26 + M(21)*20 + 1*8 + Y(30)*30 + 4*28 = 1640; 1640 mod 31 = 28; 31 - 28 = 3
    assert check_character("91350100M000100Y4") == "3"


def test_check_value_31_maps_to_zero() -> None:
    # A sum divisible by 31 would give 31, which the standard writes as 0.
    first_17 = "00000000000000000"
    assert check_character(first_17) == "0"


@pytest.mark.parametrize(
    "first_17", ["91530427MA6K5XQ21", "92530427MA6T00012", "12530427MB0000001"]
)
def test_generated_codes_validate(first_17: str) -> None:
    code = with_check_character(first_17)
    assert len(code) == 18 and is_valid_credit_code(code)
    assert division_code(code) == "530427"


@pytest.mark.parametrize(
    "bad",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100M000100I43",  # I is not in the alphabet
        "913501O0M000100Y43",  # letter O in the division code
        "9135A100M000100Y43",  # letter in the division code
    ],
)
def test_corrupted_codes_are_refused(bad: str) -> None:
    assert not is_valid_credit_code(bad)
    with pytest.raises(InvalidInput) as refused:
        validate_credit_code(bad)
    assert refused.value.code == "CREDIT_CODE_INVALID"


def test_refusal_names_the_expected_check_character() -> None:
    with pytest.raises(InvalidInput, match="GB 32100 gives '3'"):
        validate_credit_code("91350100M000100Y44")


@given(
    first_2=st.text(alphabet=CREDIT_CODE_CHARSET, min_size=2, max_size=2),
    division=st.text(alphabet="0123456789", min_size=6, max_size=6),
    rest=st.text(alphabet=CREDIT_CODE_CHARSET, min_size=9, max_size=9),
    position=st.integers(0, 17),
    shift=st.integers(1, len(CREDIT_CODE_CHARSET) - 1),
)
def test_every_single_character_substitution_is_detected(
    first_2: str, division: str, rest: str, position: int, shift: int
) -> None:
    code = with_check_character(first_2 + division + rest)
    assert is_valid_credit_code(code)
    alphabet = "0123456789" if 2 <= position < 8 else CREDIT_CODE_CHARSET
    replacement = alphabet[(alphabet.index(code[position]) + shift) % len(alphabet)]
    corrupted = code[:position] + replacement + code[position + 1 :]
    if corrupted != code:
        assert not is_valid_credit_code(corrupted)
