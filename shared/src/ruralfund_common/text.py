"""User text at the edges: what may be typed into a name or a contact, and what a spreadsheet
must never run.

- ``SingleLine``: a pydantic string type for names, contacts and e-mail addresses. CR, LF and
  every other control character (C0, DEL, C1), the Unicode line and paragraph separators and
  the bidirectional overrides are refused (422 naming the field): a line break in a name can
  add a header to a mail or a line to a log, a bidi override can make "evil.exe" read as
  "exe.live" on a public page.
- ``FORMULA_STARTS`` / ``spreadsheet_safe``: a cell starting with one of these is run as a
  formula by spreadsheet programs (CSV injection, OWASP), full-width forms included (a
  Chinese input method types them); a leading apostrophe makes it text again.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

__all__ = [
    "FORMULA_STARTS",
    "UNSAFE_CHARACTERS",
    "SingleLine",
    "check_single_line",
    "spreadsheet_safe",
]

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

# C0 controls (TAB, CR and LF among them), DEL, C1 controls, LINE/PARAGRAPH SEPARATOR, and the
# bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
UNSAFE_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def check_single_line(value: str) -> str:
    """The value if it holds no unsafe character; ValueError naming the first one if it does."""
    found = UNSAFE_CHARACTERS.search(value)
    if found is not None:
        raise ValueError(
            f"must be one line of text without control characters "
            f"(found U+{ord(found.group()):04X} at position {found.start()})"
        )
    return value


# In a request model: ``name: SingleLine = Field(max_length=200)``. A refused value is the usual
# 422 INVALID_INPUT problem naming the field.
SingleLine = Annotated[str, AfterValidator(check_single_line)]


def spreadsheet_safe(cell: str) -> str:
    """The cell as text a spreadsheet will not execute."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
