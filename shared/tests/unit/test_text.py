"""One line of text for names and contacts; spreadsheet cells that never run."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from ruralfund_common.text import SingleLine, check_single_line, spreadsheet_safe


class _Named(BaseModel):
    name: SingleLine


@pytest.mark.parametrize(
    "value",
    ["新平礼好农业有限公司", "O'Brien & Sons, Ltd.", "李华 (经理)", "Ａ＝１", "emoji 🍊", "a\u200db"],
)
def test_ordinary_names_pass(value: str) -> None:
    assert _Named(name=value).name == value


@pytest.mark.parametrize(
    "char",
    ["\r", "\n", "\t", "\x00", "\x1b", "\x7f", "\x80", "\x85", "\x9f"]
    + ["\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069"],
)
def test_controls_separators_and_bidi_overrides_are_refused(char: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _Named(name=f"新平{char}礼好")
    [error] = refused.value.errors()
    assert error["loc"] == ("name",) and f"U+{ord(char):04X}" in error["msg"]
    with pytest.raises(ValueError, match="position 2"):
        check_single_line(f"新平{char}")


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+1", "'=1+1"), ("＝1+1", "'＝1+1"), ("－1", "'－1"), ("\r=1", "'\r=1"), ("1-2", "1-2")],
)
def test_spreadsheet_cells_that_would_run_are_made_text(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe
