"""What the public page shows of a person (公示 masking rules)."""

from __future__ import annotations

import pytest
from ruralfund_notify.domain.masking import (
    is_natural_person,
    mask_bank_account,
    mask_id_number,
    mask_person_name,
    mask_phone,
    public_awardee_name,
    redact_text,
)

COMPANY_CODE = "91530427MA6K123456"  # 9 = market regulation, 1 = enterprise
INDIVIDUAL_BUSINESS_CODE = "92530427MA6K654321"  # 2 = individual business (个体工商户)
COOPERATIVE_CODE = "93530427MA6K000011"  # 3 = farmers' cooperative


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张小三", "张*三"),
        ("李四", "李*"),
        ("欧阳小明", "欧**明"),
        ("王", "*"),
        ("  刀小红 ", "刀*红"),
        ("阿依古丽·买买提", "阿***·**提"),
    ],
)
def test_person_names_keep_only_first_and_last_character(name: str, masked: str) -> None:
    assert mask_person_name(name) == masked


def test_id_number_keeps_last_four() -> None:
    assert mask_id_number("53042719900101123X") == "**************123X"


def test_phone_keeps_last_four_and_drops_country_code() -> None:
    assert mask_phone("13812345678") == "*******5678"
    assert mask_phone("+86 138-1234-5678") == "*******5678"


def test_bank_account_keeps_last_four_without_spaces() -> None:
    assert mask_bank_account("6228 4801 2345 6789 012") == "***************9012"


def test_value_no_longer_than_the_visible_tail_is_masked_entirely() -> None:
    assert mask_bank_account("1234") == "****"


@pytest.mark.parametrize(
    ("name", "code", "person"),
    [
        ("新平礼好农业科技有限公司", COMPANY_CODE, False),
        ("新平县漠沙镇电商服务站", INDIVIDUAL_BUSINESS_CODE, False),  # shop name: shown in full
        ("新平县戛洒镇李四水果店", INDIVIDUAL_BUSINESS_CODE, False),
        ("张小三", INDIVIDUAL_BUSINESS_CODE, True),  # registered under the operator's own name
        ("新平县哀牢山柑橘种植专业合作社", COOPERATIVE_CODE, False),
        ("某某", COMPANY_CODE, False),  # not a 92 code: a legal person's registered name
        ("张小三", None, True),  # unknown code and not an organisation's name: mask
        ("云南新平供应链管理中心", None, False),
    ],
)
def test_only_natural_persons_are_masked(name: str, code: str | None, person: bool) -> None:
    assert is_natural_person(name, code) is person


def test_public_awardee_name_masks_a_person_and_shows_a_company_in_full() -> None:
    assert public_awardee_name("张小三", INDIVIDUAL_BUSINESS_CODE) == "张*三"
    assert (
        public_awardee_name("新平礼好农业科技有限公司", COMPANY_CODE) == "新平礼好农业科技有限公司"
    )


def test_numbers_inside_free_text_are_masked() -> None:
    text = (
        "负责人身份证53042719900101123X，电话13812345678，账号6228480123456789012，座机0877-7012345"
    )
    assert redact_text(text) == (
        "负责人身份证**************123X，电话*******5678，账号***************9012，座机*******2345"
    )


def test_ordinary_text_and_short_numbers_are_left_alone() -> None:
    text = "2026年第1季度使用包装箱12345个"
    assert redact_text(text) == text
