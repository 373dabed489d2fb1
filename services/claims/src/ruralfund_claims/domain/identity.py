"""Identities that decide "once only": a product, a store, a livestream base.

People type the same name in many ways: full-width letters (ＡＢＣ), a space in the middle
(``新平橙 礼盒``), a different dash or bracket, upper or lower case. Xinping's new-product award
is paid once per product (一次性), so ``新平橙礼盒`` and ``新平橙 礼盒`` must be one product: the
identity is the name after NFKC (width), case folding, and with every space, punctuation mark,
symbol and control character removed.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["normalised_identity"]

# Unicode categories dropped: P* punctuation, S* symbols, Z* separators (spaces), C* controls.
_DROPPED: Final = frozenset("PSZC")


def normalised_identity(text: str) -> str:
    """``"新平橙 礼盒（ＸＬ）"`` → ``"新平橙礼盒xl"``; empty when nothing but marks was given."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in _DROPPED)
