"""Notify's refusal titles by code, as the public, the bureau and webhook integrators read
them (issue 17); the app hands the map to the problem handler, each refusal says its own
detail_zh."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["TITLES_ZH"]

TITLES_ZH: Final[Mapping[str, str]] = {
    "NOTICE_NOT_FOUND": "未找到该公示",
    "NOTICE_ALREADY_PUBLISHED": "公示已发布",
    "NOTICE_REVOKED": "该项奖补已撤销",
    "OBJECTION_WINDOW_CLOSED": "公示期已结束",
    "OBJECTION_INVALID": "异议表单有误",
    "OBJECTION_NOT_FOUND": "未找到该异议",
    "OBJECTION_ALREADY_RESOLVED": "该异议已处理",
    "FORM_TOO_LARGE": "提交的内容过长",
    "FORM_MEDIA_TYPE": "请在公示页面提交异议",
    "CROSS_SITE_FORM": "请在公示页面提交异议",
    "FORM_TOKEN_INVALID": "表单已失效",
    "RATE_LIMITED": "提交过于频繁，请稍后再试",
    "CALENDAR_FILE_INVALID": "工作日历文件有误",
    "AWARD_RESERVED_WITHOUT_NOTICE_FIELDS": "奖补事件缺少公示所需信息",
    "WEBHOOK_TARGET_FORBIDDEN": "不接受该接收地址",
    "INVALID_SECRET": "签名密钥格式有误",
    "INVALID_EVENT_TYPES": "订阅的事件类型有误",
    "UNKNOWN_EVENT_TYPE": "没有该事件类型",
    "SUBSCRIPTION_NOT_FOUND": "未找到该订阅",
    "DELIVERY_NOT_FOUND": "未找到该投递记录",
}
