"""Money as integer fen (分, 0.01 yuan): exact, never float.

Every amount in ruralfund is a whole number of fen that fits a PostgreSQL ``bigint``
(``*_fen`` columns).  Rates are exact too: a percentage as ``Decimal``/``str``/``int``
("5" means 5 %), or integer basis points.  The only rounding anywhere is to the fen,
ROUND_HALF_UP, done with ``Decimal`` in a context wide enough to be exact before rounding.

Rounding of negative amounts: ``ROUND_HALF_UP`` rounds half *away from zero*
(-0.5 fen -> -1 fen), so the rules are symmetric: ``percent_of(-x, p) == -percent_of(x, p)``.
A clawback of a reward therefore reverses exactly the amount that was awarded.

Text amounts accept thousands separators only in correct groups of three ("2,469.00"):
"2,46" is refused because in some locales the comma is the decimal mark and guessing would
move money by a factor of 100.

This module does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)

__all__ = [
    "FEN_PER_YUAN",
    "MAX_AMOUNT_TEXT_CHARS",
    "MAX_FEN",
    "MAX_RATE_DIGITS",
    "MIN_FEN",
    "AmountOutOfRange",
    "Money",
    "basis_points_of",
    "format_yuan",
    "parse_yuan",
    "per_unit",
    "percent_of",
    "yuan_zh",
]

# Limits: the ledger stores fen in PostgreSQL bigint columns.
MAX_FEN: int = 2**63 - 1
MIN_FEN: int = -(2**63)
FEN_PER_YUAN: int = 100
# Longest amount text accepted; the largest bigint in yuan with separators is ~30 chars.
MAX_AMOUNT_TEXT_CHARS: int = 64
# Most significant digits a rate (percent) may carry; keeps every product exact below.
MAX_RATE_DIGITS: int = 20

_BASIS_POINTS_PER_UNIT = 10_000
_PERCENT_PER_UNIT = 100
# 19 digits of fen x 20 digits of rate fit easily: products are exact, never silently rounded.
_EXACT_PRECISION = 100

_YUAN_TEXT = re.compile(
    r"""
    (?P<sign1>[-+]?)                          # sign may precede the currency symbol...
    (?P<currency>[¥￥]?)
    (?P<sign2>[-+]?)                          # ...or follow it ("¥-12.00")
    (?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+) # strict groups of three, or plain digits
    (?:\.(?P<frac>[0-9]+))?
    """,
    re.VERBOSE,
)


class AmountOutOfRange(OverflowError, ValueError):
    """An amount (or a result) outside the bigint range of fen.

    An OverflowError, which it is, and a ValueError, which is what code parsing input
    catches: "92233720368547758.08" typed into a form is bad input (a 4xx naming the field),
    not a server error, even where the caller only thought of malformed text.
    """


def _require_int(value: object, name: str) -> int:
    """Refuse bool (an int subclass that is never a quantity of money) and anything not int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return value


def _check_fen_range(fen: int, what: str = "amount") -> int:
    if not MIN_FEN <= fen <= MAX_FEN:
        raise AmountOutOfRange(
            f"{what} of {fen} fen is outside the bigint range [{MIN_FEN}, {MAX_FEN}]"
        )
    return fen


def _exact_context() -> Context:
    """A context in which any rounding is an error: used for products and shifts."""
    return Context(prec=_EXACT_PRECISION, traps=[InvalidOperation, Inexact])


def _round_half_up_to_fen(value: Decimal) -> int:
    """Round an exact Decimal number of fen to a whole fen, half away from zero."""
    # Checked before quantize, which would otherwise fail with an obscure InvalidOperation.
    if value.copy_abs() > MAX_FEN + 1:
        raise AmountOutOfRange(f"result of {value} fen is outside the bigint range")
    with localcontext(Context(prec=_EXACT_PRECISION, traps=[InvalidOperation])):
        rounded = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _check_fen_range(int(rounded), "result")


def _shorten(text: str, limit: int = 40) -> str:
    """Keep error messages readable when the offending input is huge."""
    return text if len(text) <= limit else text[:limit] + "..."


def _decimal_yuan_to_fen(amount: Decimal, shown: str) -> int:
    """Convert an exact Decimal of yuan to fen, refusing anything finer than one fen."""
    if not amount.is_finite():
        raise ValueError(f"yuan amount must be a finite number, got {shown!r}")
    # Bounded first so that int() never has to build a gigantic number from "1E+999999".
    if amount.copy_abs() > Decimal(MAX_FEN + 1).scaleb(-2):
        raise AmountOutOfRange(f"yuan amount {shown!r} is outside the bigint range of fen")
    with localcontext(_exact_context()):
        try:
            fen = amount * FEN_PER_YUAN
            whole = fen == fen.to_integral_value()
        except Inexact:  # more significant digits than any real amount has
            whole = False
    if not whole:
        raise ValueError(
            f"yuan amount {shown!r} has more than 2 decimal places: "
            "amounts are exact to the fen (0.01 yuan)"
        )
    return _check_fen_range(int(fen))


def parse_yuan(text: str) -> int:
    """Parse a yuan amount written as text into fen.

    Accepts "2469", "2469.5", "2,469.00", "¥2,469.00", "￥2469", "-1,234.50", "¥-1.00".
    Refuses floats (TypeError), more than 2 decimal places, badly grouped separators
    and anything else (ValueError naming the problem).
    """
    if isinstance(text, float):
        raise TypeError("float amounts are refused: pass the amount as text, e.g. '0.20'")
    if not isinstance(text, str):
        raise TypeError(f"parse_yuan expects str, got {type(text).__name__}")
    if len(text) > MAX_AMOUNT_TEXT_CHARS:
        raise ValueError(f"yuan amount text is longer than {MAX_AMOUNT_TEXT_CHARS} characters")
    match = _YUAN_TEXT.fullmatch(text.strip())
    if match is None or (match["sign1"] and match["sign2"]):
        raise ValueError(
            f"not a yuan amount: {text!r} (expected e.g. '2469', '2,469.00' or '¥2,469.00')"
        )
    sign = "-" if "-" in (match["sign1"], match["sign2"]) else ""
    # The sign goes in before conversion: the magnitude of MIN_FEN alone is out of range.
    digits = sign + match["whole"].replace(",", "") + "." + (match["frac"] or "0")
    return _decimal_yuan_to_fen(Decimal(digits), text)


def format_yuan(fen: int) -> str:
    """Format fen as yuan with thousands separators and always 2 decimals: "-1,234.50"."""
    _check_fen_range(_require_int(fen, "fen"))
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def yuan_zh(fen: int) -> str:
    """Money as people read it in Chinese text: ``9753100`` → ``97,531.00 元``."""
    return f"{format_yuan(fen)} 元"


def _rate_as_decimal(rate: Decimal | str | int, name: str) -> Decimal:
    """Turn a non-negative rate into an exact Decimal; floats are refused."""
    if isinstance(rate, float):
        raise TypeError(f"float {name} is refused: pass it as str or Decimal, e.g. '5'")
    if isinstance(rate, bool) or not isinstance(rate, (Decimal, str, int)):
        raise TypeError(f"{name} must be Decimal, str or int, got {type(rate).__name__}")
    try:
        value = Decimal(rate.strip() if isinstance(rate, str) else rate)
    except InvalidOperation:
        raise ValueError(f"{name} is not a number: {rate!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {rate!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {rate!r}")
    if len(value.as_tuple().digits) > MAX_RATE_DIGITS:
        raise ValueError(f"{name} {rate!r} has more than {MAX_RATE_DIGITS} significant digits")
    return value


def percent_of(amount_fen: int, percent: Decimal | str | int) -> int:
    """``percent`` % of ``amount_fen``, rounded half up to the fen ("5" means 5 %)."""
    _check_fen_range(_require_int(amount_fen, "amount_fen"))
    rate = _rate_as_decimal(percent, "percent")
    with localcontext(_exact_context()):
        exact = Decimal(amount_fen) * rate / _PERCENT_PER_UNIT
    return _round_half_up_to_fen(exact)


def basis_points_of(amount_fen: int, bps: int) -> int:
    """``bps`` basis points (1 bp = 0.01 %) of ``amount_fen``, rounded half up to the fen."""
    _check_fen_range(_require_int(amount_fen, "amount_fen"))
    if _require_int(bps, "bps") < 0:
        raise ValueError(f"bps must not be negative, got {bps}")
    product = amount_fen * bps  # exact int; bounded before Decimal sees it
    if abs(product) > (MAX_FEN + 1) * _BASIS_POINTS_PER_UNIT:
        raise AmountOutOfRange(f"{bps} bps of {amount_fen} fen is outside the bigint range")
    with localcontext(_exact_context()):
        exact = Decimal(product) / _BASIS_POINTS_PER_UNIT
    return _round_half_up_to_fen(exact)


def per_unit(rate_fen: int, units: int) -> int:
    """``units`` times a per-unit rate in fen: 12,345 boxes x 20 fen = 246,900 fen. Exact."""
    if _require_int(rate_fen, "rate_fen") < 0:
        raise ValueError(f"rate_fen must not be negative, got {rate_fen}")
    if _require_int(units, "units") < 0:
        raise ValueError(f"units must not be negative, got {units}")
    return _check_fen_range(rate_fen * units, "per-unit total")


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An exact amount of money in fen; ordered, hashable, immutable.

    Arithmetic stays in Money: ``Money + Money``, ``Money - Money``, ``Money * int``.
    Mixing with plain numbers is a TypeError so that a fen count and a yuan count
    can never be added by mistake.
    """

    fen: int

    def __post_init__(self) -> None:
        _check_fen_range(_require_int(self.fen, "fen"))

    @classmethod
    def from_fen(cls, fen: int) -> Money:
        return cls(fen)

    @classmethod
    def from_yuan(cls, amount: str | Decimal | int) -> Money:
        """From yuan given as text ("¥2,469.00"), Decimal or int; float is refused."""
        if isinstance(amount, float):
            raise TypeError("float amounts are refused: pass the amount as str or Decimal")
        if isinstance(amount, str):
            return cls(parse_yuan(amount))
        if isinstance(amount, Decimal):
            return cls(_decimal_yuan_to_fen(amount, _shorten(str(amount))))
        yuan = _require_int(amount, "yuan")
        return cls(_check_fen_range(yuan * FEN_PER_YUAN))

    @property
    def yuan(self) -> Decimal:
        """The amount in yuan, exactly, with 2 decimal places: Decimal('2469.00')."""
        return Decimal(self.fen).scaleb(-2)

    def format_yuan(self) -> str:
        return format_yuan(self.fen)

    def is_zero(self) -> bool:
        return self.fen == 0

    def __str__(self) -> str:
        return format_yuan(self.fen)

    def __bool__(self) -> bool:
        # Like numbers: zero is falsy.
        return self.fen != 0

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(_check_fen_range(self.fen + other.fen, "sum"))

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(_check_fen_range(self.fen - other.fen, "difference"))

    def __mul__(self, quantity: object) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return NotImplemented
        return Money(_check_fen_range(self.fen * quantity, "product"))

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(_check_fen_range(-self.fen, "negation"))

    def __abs__(self) -> Money:
        return Money(_check_fen_range(abs(self.fen), "absolute value"))
