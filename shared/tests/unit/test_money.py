"""Money in fen: the seed numbers, rounding half up, refusals, round trips."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_common.money import (
    MAX_FEN,
    MIN_FEN,
    Money,
    basis_points_of,
    format_yuan,
    parse_yuan,
    per_unit,
    percent_of,
    yuan_zh,
)

fens = st.integers(min_value=MIN_FEN, max_value=MAX_FEN)


def _reference_half_up(numerator: int, denominator: int) -> int:
    """Independent oracle: round a rational to an int, half away from zero, with Fraction."""
    exact = Fraction(numerator, denominator)
    magnitude = abs(exact)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if exact >= 0 else -whole


# ---------------------------------------------------------------- seed numbers (Xinping)


def test_brand_packaging_12345_boxes_at_0_20_yuan_is_2469_yuan() -> None:
    rate = Money.from_yuan("0.20")
    assert per_unit(rate.fen, 12_345) == 246_900
    assert rate * 12_345 == Money.from_yuan("2,469.00")
    assert 12_345 * rate == Money.from_fen(246_900)
    assert (rate * 12_345).format_yuan() == "2,469.00"


def test_sales_reward_5_percent_of_152345_67_rounds_to_7617_28() -> None:
    sales_fen = parse_yuan("152,345.67")
    assert sales_fen == 15_234_567
    # exact 761,728.35 fen -> 761,728 fen
    assert percent_of(sales_fen, "5") == 761_728
    assert percent_of(sales_fen, Decimal(5)) == 761_728
    assert percent_of(sales_fen, 5) == 761_728
    assert format_yuan(percent_of(sales_fen, "5")) == "7,617.28"
    assert basis_points_of(sales_fen, 500) == 761_728


def test_half_fen_rounds_up_and_just_below_half_rounds_down() -> None:
    assert percent_of(10, "5") == 1  # 5 % of 0.10 yuan = 0.005 yuan -> 0.01
    assert percent_of(9, "5") == 0  # 0.45 fen -> 0: rounding, not ceiling
    assert percent_of(30, "2.5") == 1  # 0.75 fen -> 1
    assert basis_points_of(1, 5_000) == 1  # 0.5 fen
    assert basis_points_of(1, 4_999) == 0  # 0.4999 fen


def test_negative_amounts_round_half_away_from_zero_symmetrically() -> None:
    assert percent_of(-10, "5") == -1
    assert percent_of(-9, "5") == 0
    assert percent_of(-15_234_567, "5") == -761_728
    assert basis_points_of(-1, 5_000) == -1


@given(amount=fens, percent=st.decimals(min_value=0, max_value=200, places=4))
def test_percent_of_matches_a_fraction_oracle(amount: int, percent: Decimal) -> None:
    numerator, denominator = percent.as_integer_ratio()
    expected = _reference_half_up(amount * numerator, denominator * 100)
    if MIN_FEN <= expected <= MAX_FEN:
        assert percent_of(amount, percent) == expected
        if amount != MIN_FEN:  # -MIN_FEN does not fit a bigint
            assert percent_of(-amount, percent) == -expected
    else:
        with pytest.raises(OverflowError):
            percent_of(amount, percent)


@given(amount=st.integers(-(10**15), 10**15), bps=st.integers(0, 100_000))
def test_basis_points_match_a_fraction_oracle(amount: int, bps: int) -> None:
    assert basis_points_of(amount, bps) == _reference_half_up(amount * bps, 10_000)


# ---------------------------------------------------------------- parsing and formatting


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("2,469.00", 246_900),
        ("2469", 246_900),
        ("2469.5", 246_950),
        ("¥2,469.00", 246_900),
        ("￥2,469.00", 246_900),
        ("  0.20 ", 20),
        ("-1,234.50", -123_450),
        ("¥-1,234.50", -123_450),
        ("-¥0.05", -5),
        ("1,000,000", 100_000_000),
        ("92,233,720,368,547,758.07", MAX_FEN),
        ("1.500", 150),  # exact to the fen: trailing zeros are not extra precision
    ],
)
def test_parse_yuan_accepts(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen
    assert Money.from_yuan(text) == Money(fen)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.005", "more than 2 decimal places"),
        ("0.001", "more than 2 decimal places"),
        ("2,46", "not a yuan amount"),  # a European decimal comma must not become 246 yuan
        ("1,2345", "not a yuan amount"),
        ("12,34,567", "not a yuan amount"),
        ("", "not a yuan amount"),
        ("¥", "not a yuan amount"),
        ("1.", "not a yuan amount"),
        (".5", "not a yuan amount"),
        ("--1", "not a yuan amount"),
        ("-¥-1", "not a yuan amount"),
        ("1e3", "not a yuan amount"),
        ("１２", "not a yuan amount"),  # full-width digits
        ("NaN", "not a yuan amount"),
        ("1" * 80, "longer than"),
    ],
)
def test_parse_yuan_refuses(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_yuan(text)


def test_parse_beyond_bigint_overflows() -> None:
    with pytest.raises(OverflowError):
        parse_yuan("92,233,720,368,547,758.08")
    assert parse_yuan("-92,233,720,368,547,758.08") == MIN_FEN


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (246_900, "2,469.00"),
        (0, "0.00"),
        (5, "0.05"),
        (-5, "-0.05"),
        (-123_450, "-1,234.50"),
        (100_000_000_00, "100,000,000.00"),
        (MAX_FEN, "92,233,720,368,547,758.07"),
    ],
)
def test_format_yuan(fen: int, text: str) -> None:
    assert format_yuan(fen) == text
    assert str(Money(fen)) == text


@given(fens)
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen
    money = Money(fen)
    assert Money.from_yuan(money.yuan) == money
    assert Money.from_yuan(str(money)) == money
    assert Money.from_yuan("¥" + money.format_yuan()) == money


@given(st.integers(0, 10**12), st.integers(0, 99))
def test_parse_then_format_normalises(whole: int, cents: int) -> None:
    plain = f"{whole}.{cents:02d}"
    assert format_yuan(parse_yuan(plain)) == f"{whole:,}.{cents:02d}"


# ---------------------------------------------------------------- refusals


def test_float_is_refused_everywhere() -> None:
    with pytest.raises(TypeError, match="float"):
        Money.from_yuan(0.2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        parse_yuan(0.2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(20.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        percent_of(100, 5.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _ = Money(20) * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        format_yuan(1.0)  # type: ignore[arg-type]


def test_bool_and_plain_numbers_do_not_mix_with_money() -> None:
    with pytest.raises(TypeError):
        Money(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _ = Money(1) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money(1) * True
    with pytest.raises(TypeError):
        _ = Money(1) < 2  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money(1) * Decimal(2)  # type: ignore[operator]
    assert Money(1) != 1


def test_from_yuan_decimal_and_int() -> None:
    assert Money.from_yuan(Decimal("2469.5")) == Money(246_950)
    assert Money.from_yuan(2469) == Money(246_900)
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        Money.from_yuan(Decimal("0.125"))
    with pytest.raises(ValueError, match="finite"):
        Money.from_yuan(Decimal("NaN"))
    with pytest.raises(OverflowError):
        Money.from_yuan(Decimal("1E+30"))


@pytest.mark.parametrize("percent", ["-5", "abc", "Infinity", "1" * 21])
def test_bad_percent_refused(percent: str) -> None:
    with pytest.raises(ValueError):
        percent_of(100, percent)


def test_negative_rates_and_units_refused() -> None:
    with pytest.raises(ValueError, match="units"):
        per_unit(20, -1)
    with pytest.raises(ValueError, match="rate_fen"):
        per_unit(-20, 1)
    with pytest.raises(ValueError, match="bps"):
        basis_points_of(100, -1)


def test_limits_raise_overflow() -> None:
    with pytest.raises(OverflowError):
        Money(MAX_FEN + 1)
    with pytest.raises(OverflowError):
        Money(MAX_FEN) + Money(1)
    with pytest.raises(OverflowError):
        Money(MIN_FEN) - Money(1)
    with pytest.raises(OverflowError):
        -Money(MIN_FEN)
    with pytest.raises(OverflowError):
        per_unit(MAX_FEN, 2)
    with pytest.raises(OverflowError):
        percent_of(MAX_FEN, "101")
    with pytest.raises(OverflowError):
        basis_points_of(MAX_FEN, 20_000)
    assert percent_of(MAX_FEN, "100") == MAX_FEN


# ---------------------------------------------------------------- the value type


def test_arithmetic_and_order() -> None:
    a, b = Money.from_yuan("10.00"), Money.from_yuan("2.50")
    assert a + b == Money(1_250)
    assert b - a == Money(-750)
    assert -a == Money(-1_000)
    assert abs(b - a) == Money(750)
    assert sorted([a, b, Money(0)]) == [Money(0), b, a]
    assert b < a and a >= b and max(a, b) is a
    assert Money(0).is_zero() and not Money(1).is_zero()
    assert not Money(0) and Money(-1)
    assert len({Money(5), Money.from_fen(5)}) == 1


def test_yuan_is_a_two_place_decimal() -> None:
    assert Money(246_900).yuan == Decimal("2469.00")
    assert str(Money(246_900).yuan) == "2469.00"
    assert str(Money(-5).yuan) == "-0.05"
    assert str(Money(0).yuan) == "0.00"


def test_money_is_frozen_and_slotted() -> None:
    m = Money(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.fen = 2  # type: ignore[misc]
    assert not hasattr(m, "__dict__")


def test_money_in_chinese_text_reads_as_yuan_with_separators() -> None:
    assert yuan_zh(9_753_100) == "97,531.00 元"
    assert yuan_zh(1) == "0.01 元" and yuan_zh(-246_900) == "-2,469.00 元"
