"""What the public page may show of a person: masking rules for 公示.

Publicity must name who gets public money, but a natural person's full name, ID number,
phone or bank account must not be published.  Organisations (companies, cooperatives,
stations) are shown in full: their registered name is public anyway.

Who is a natural person: under GB 32100 the first two characters of the unified social
credit code are the registration authority and the entity type; ``92`` is an individual
business (个体工商户), the only kind registered under a person's own name.  An individual
business with a shop name (``新平县某某商店``) is shown in full; one named after its operator
is masked like a person.  Without a credit code we mask unless the name is clearly an
organisation's: a wrongly masked company costs a little clarity, an exposed person costs
their privacy.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "INDIVIDUAL_BUSINESS_PREFIX",
    "MASK_CHAR",
    "is_natural_person",
    "looks_like_organisation",
    "mask_bank_account",
    "mask_id_number",
    "mask_person_name",
    "mask_phone",
    "mask_tail",
    "public_awardee_name",
    "public_credit_code",
    "redact_text",
]

MASK_CHAR: Final = "*"
INDIVIDUAL_BUSINESS_PREFIX: Final = "92"
# How many trailing characters of a number stay visible (enough to recognise one's own).
KEEP_LAST_DIGITS: Final = 4

# Words that only an organisation's name contains ...
_ORGANISATION_WORDS: Final = (
    "公司",
    "合作社",
    "联合社",
    "有限",
    "集团",
    "协会",
    "商会",
    "中心",
    "基地",
    "工作室",
    "经营部",
    "服务部",
    "门市部",
    "商行",
    "商店",
    "超市",
    "驿站",
    "服务站",
    "农场",
    "牧场",
    "种植园",
    "加工厂",
    "学校",
    "医院",
    "委员会",
    "Co.",
    "Ltd",
    "Inc",
)
# ... and single characters that end one (a person's name never ends in 店, 厂, 社, 站, 场).
_ORGANISATION_ENDINGS: Final = ("店", "厂", "社", "站", "场", "馆", "部", "所")

_ID_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
_MOBILE: Final = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE: Final = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
# Bank card and account numbers: 12-30 digits, possibly grouped by spaces.
_ACCOUNT: Final = re.compile(r"(?<!\d)\d{4}(?:[ ]?\d){8,26}(?!\d)")


def looks_like_organisation(name: str) -> bool:
    text = name.strip()
    return any(word in text for word in _ORGANISATION_WORDS) or text.endswith(_ORGANISATION_ENDINGS)


def is_natural_person(name: str, credit_code: str | None) -> bool:
    """True when ``name`` is (or may be) a natural person's name and must be masked."""
    if looks_like_organisation(name):
        return False
    # Any other credit code belongs to a legal person or organisation: its registered name.
    return credit_code is None or credit_code.upper().startswith(INDIVIDUAL_BUSINESS_PREFIX)


def mask_person_name(name: str) -> str:
    """张三丰 → 张*丰, 李四 → 李*, 欧阳小明 → 欧**明; separators such as · are kept."""
    chars = list(name.strip())
    letters = [i for i, c in enumerate(chars) if not _is_separator(c)]
    if len(letters) <= 1:
        return MASK_CHAR * max(len(letters), 1)
    keep = {letters[0]} if len(letters) == 2 else {letters[0], letters[-1]}
    return "".join(c if i in keep or _is_separator(c) else MASK_CHAR for i, c in enumerate(chars))


def _is_separator(c: str) -> bool:
    return c in "·•・. -"


def mask_tail(value: str, keep_last: int = KEEP_LAST_DIGITS) -> str:
    """Mask all but the last ``keep_last`` characters (spaces and dashes dropped).

    A value no longer than ``keep_last`` is masked entirely: showing all of it would
    show everything.
    """
    assert keep_last >= 0
    compact = re.sub(r"[\s-]", "", value)
    if len(compact) <= keep_last:
        return MASK_CHAR * len(compact)
    return MASK_CHAR * (len(compact) - keep_last) + compact[len(compact) - keep_last :]


def mask_id_number(value: str) -> str:
    """53042719900101123X → **************123X."""
    return mask_tail(value)


def mask_phone(value: str) -> str:
    """13812345678 → *******5678; +86 prefixes are dropped first."""
    compact = re.sub(r"[\s-]", "", value)
    compact = compact.removeprefix("+86")
    return mask_tail(compact)


def mask_bank_account(value: str) -> str:
    """6222 0212 3456 7890 → ************7890."""
    return mask_tail(value)


def redact_text(text: str) -> str:
    """Mask ID numbers, phone numbers and account numbers inside free text.

    Applied to every text the public page shows, because names and item texts come from
    other systems and may carry such numbers by mistake.
    """
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group()), text)
    return _ACCOUNT.sub(lambda m: mask_bank_account(m.group()), text)


def public_awardee_name(name: str, credit_code: str | None) -> str:
    """The awardee's name as the public page shows it."""
    shown = mask_person_name(name) if is_natural_person(name, credit_code) else name.strip()
    return redact_text(shown)


def public_credit_code(name: str, credit_code: str) -> str:
    """The awardee's credit code as open data shows it.

    An organisation's code is on its public business licence; an individual business named
    after its operator is a person, and its code would tie the masked name back to them.
    """
    return mask_tail(credit_code) if is_natural_person(name, credit_code) else credit_code
