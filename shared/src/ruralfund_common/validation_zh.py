"""Pydantic's validation errors as Chinese sentences naming the field as the API names it
(缺少必填项“amount_yuan”). Pure text: the HTTP edge and the domain's own evidence checks both use
it, and domain code may not import the HTTP layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["validation_message_zh"]

_LOCATION_ZH: Final[Mapping[str, str]] = {
    "body": "", "query": "查询参数", "path": "地址中的", "header": "请求头", "cookie": "Cookie ",
}
# Pydantic's error types as a sentence about the field ({f}: “amount_yuan”); the figures a
# type carries (a length, a bound) come from its ctx. A type not listed says the value is wrong.
_VALIDATION_ZH: Final[Mapping[str, str]] = {
    "missing": "缺少必填项{f}",
    "extra_forbidden": "{f}不是此接口接受的字段",
    "json_invalid": "请求内容不是有效的 JSON",
    "json_type": "请求内容须为 JSON",
    "model_type": "{f}须为 JSON 对象",
    "model_attributes_type": "{f}须为 JSON 对象",
    "dict_type": "{f}须为 JSON 对象",
    "list_type": "{f}须为列表",
    "string_type": "{f}须为文本",
    "string_too_short": "{f}至少须有 {min_length} 个字符",
    "string_too_long": "{f}最多 {max_length} 个字符",
    "string_pattern_mismatch": "{f}格式有误",
    "string_unicode": "{f}须为有效的文本",
    "too_short": "{f}至少须有 {min_length} 项",
    "too_long": "{f}最多 {max_length} 项",
    "int_type": "{f}须为整数",
    "int_parsing": "{f}须为整数",
    "int_from_float": "{f}须为整数",
    "float_type": "{f}须为数字",
    "float_parsing": "{f}须为数字",
    "decimal_type": "{f}须为数字",
    "decimal_parsing": "{f}须为数字",
    "decimal_max_digits": "{f}的位数过多（最多 {max_digits} 位）",
    "decimal_max_places": "{f}最多 {decimal_places} 位小数",
    "finite_number": "{f}须为有限的数字",
    "greater_than": "{f}须大于 {gt}",
    "greater_than_equal": "{f}不能小于 {ge}",
    "less_than": "{f}须小于 {lt}",
    "less_than_equal": "{f}不能大于 {le}",
    "multiple_of": "{f}须为 {multiple_of} 的整数倍",
    "bool_type": "{f}须为 true 或 false",
    "bool_parsing": "{f}须为 true 或 false",
    "date_type": "{f}须为日期（如 2026-10-13）",
    "date_parsing": "{f}须为日期（如 2026-10-13）",
    "date_from_datetime_parsing": "{f}须为日期（如 2026-10-13）",
    "date_from_datetime_inexact": "{f}须为日期，不含时刻",
    "datetime_type": "{f}须为带时区的时刻（如 2026-10-13T09:00:00+08:00）",
    "datetime_parsing": "{f}须为带时区的时刻（如 2026-10-13T09:00:00+08:00）",
    "datetime_from_date_parsing": "{f}须为带时区的时刻（如 2026-10-13T09:00:00+08:00）",
    "timezone_aware": "{f}须带时区（如 +08:00）",
    "uuid_type": "{f}须为 UUID",
    "uuid_parsing": "{f}须为 UUID",
    "enum": "{f}须为以下之一：{expected}",
    "literal_error": "{f}须为以下之一：{expected}",
    "url_type": "{f}须为网址",
    "url_parsing": "{f}须为有效的网址",
    "url_scheme": "{f}的网址协议须为 {expected_schemes}",
    "value_error": "{f}的值有误",
    "assertion_error": "{f}的值有误",
    "union_tag_invalid": "{f}的类型须为以下之一：{expected_tags}",
    "union_tag_not_found": "{f}缺少类型字段 {discriminator}",
    "bytes_too_long": "{f}过长（最多 {max_length} 字节）",
    "bytes_too_short": "{f}过短（至少 {min_length} 字节）",
    "recursion_loop": "{f}嵌套过深",
}


def validation_message_zh(kind: str, field: str | None, location: str | None, ctx: Mapping[str, Any]) -> str:
    """One pydantic error as a Chinese sentence naming the field as the API names it:
    ``missing`` of ``amount_yuan`` → 缺少必填项“amount_yuan”."""
    where = _LOCATION_ZH.get(location or "", "")
    named = f"{where}“{field}”" if field else "请求内容"
    template = _VALIDATION_ZH.get(kind, "{f}的值有误")
    figures = {k: (" 或 ".join(v.replace("'", "").split(" or ")) if k == "expected" and isinstance(v, str) else v)
               for k, v in ctx.items()}
    try:
        return template.format(f=named, **figures)
    except (KeyError, IndexError, ValueError):  # a ctx without the figure the sentence needs
        return f"{named}的值有误"
