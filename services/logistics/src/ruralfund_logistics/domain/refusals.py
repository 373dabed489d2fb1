"""Logistics' refusals as the county and the stations read them (issue 17): a title per code
(the app hands the map to the problem handler), the network's tiers in Chinese, and what a
uniqueness race means when the database, not the rule before it, noticed the duplicate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["DUPLICATE_ZH", "TIER_ZH", "TITLES_ZH"]

TIER_ZH: Final[Mapping[str, str]] = {"county_center": "县级物流配送中心", "town": "乡镇服务站", "village": "村级服务点"}

TITLES_ZH: Final[Mapping[str, str]] = {
    "STATION_NOT_FOUND": "未找到该站点",
    "STATION_PARENT_NOT_FOUND": "未找到上级站点",
    "STATION_PARENT_INVALID": "上级站点不符合要求",
    "STATION_PARENT_CLOSED": "上级站点已关闭",
    "STATION_CENTER_EXISTS": "本县已有物流配送中心",
    "STATION_NAME_TAKEN": "站点名称已被使用",
    "STATION_CLOSED": "站点已关闭",
    "STATION_CLOSE_DATE_INVALID": "关闭日期有误",
    "STATION_HAS_ACTIVE_CHILDREN": "下级站点尚未关闭",
    "STATION_FIELD_INVALID": "站点信息有误",
    "STATION_NOT_A_CENTER": "该站点不是县级物流配送中心",
    "COUNTY_CODE_INVALID": "县级行政区划代码有误",
    "COUNTY_CENTER_NOT_FOUND": "本县尚无物流配送中心",
    "GEO_OUT_OF_RANGE": "经纬度超出范围",
    "NOT_STATION_OPERATOR": "只有站点运营方或商务局可以办理",
    "NOT_THE_CARRIER": "只有该快递企业或商务局可以发布价格",
    "PARTY_NAME_INVALID": "名称有误",
    "DATE_IN_FUTURE": "日期不能晚于今天",
    "DATE_BEFORE_OPENING": "日期早于中心启用日期",
    "DATE_BEFORE_START": "结束日期早于开始日期",
    "DATE_INVALID": "日期有误",
    "CARRIER_NOT_FOUND": "未找到该快递企业",
    "CARRIER_ALREADY_SETTLED": "该快递企业已入驻",
    "CARRIER_ALREADY_LEFT": "该快递企业已撤出",
    "CARRIER_NOT_PRESENT": "该快递企业未入驻中心",
    "PARTNERSHIP_NOT_FOUND": "未找到该合作",
    "PARTNERSHIP_EXISTS": "该合作正在进行",
    "PARTNERSHIP_ENDED": "该合作已结束",
    "PRICE_INVALID": "价格有误",
    "PRICE_BANDS_INVALID": "重量段有误",
    "PRICE_RANGE_INVALID": "价格区间有误",
    "PRICE_BACKDATED": "价格不能追溯生效",
    "PRICE_UNCHANGED": "价格与现行版本相同",
    "PRICE_TARGET_UNKNOWN": "没有该价格基准类别",
    "PRICE_BASELINE_NOT_SET": "本县尚未设定价格基准",
    "PRICE_PUBLISHED_CONCURRENTLY": "价格同时被他人发布",
    "BASELINE_SET_CONCURRENTLY": "价格基准同时被他人修改",
    "BASELINE_CORRECTION_REASON": "更正价格基准须说明理由",
    "TEXT_INVALID": "文字内容有误",
    "SHIPPER_NOT_FOUND": "未找到该认证企业",
    "SHIPPER_ALREADY_CERTIFIED": "该企业已认证",
    "SHIPPER_REVOKED": "该企业的认证已撤销",
    "PARCEL_NOT_FOUND": "未找到该包裹",
    "RATE_RANGE_INVALID": "统计区间有误",
    "VOLUME_AMOUNT_INVALID": "交易额有误",
    "VOLUME_PARCELS_INVALID": "包裹数有误",
    "VOLUME_PERIOD_INVALID": "报告期有误",
    "VOLUME_MONTH_NOT_ENDED": "该月尚未结束",
    "VOLUME_BEFORE_OPENING": "该月早于站点启用",
    "VOLUME_ALREADY_REPORTED": "该月已报告",
    "VOLUME_NOTHING_TO_CORRECT": "该月尚未报告，无需更正",
    "VOLUME_CORRECTION_REASON_INVALID": "更正理由有误",
    "VOLUME_CORRECTION_UNCHANGED": "更正与已报告的数据相同",
}

# The database noticed a duplicate two requests raced to create: the later one is refused.
DUPLICATE_ZH: Final[Mapping[str, str]] = {
    "STATION_CENTER_EXISTS": "本县已有一个在用的县级物流配送中心（可能有人同时提交了登记），未作任何更改。",
    "STATION_NAME_TAKEN": "上级站点下已有同名的在用站点（可能有人同时提交了登记），未作任何更改。",
    "VOLUME_ALREADY_REPORTED": "该月交易额刚被同时报告，请刷新后以更正方式提交（须填写更正理由）。",
    "CARRIER_ALREADY_SETTLED": "该快递企业已入驻（可能有人同时提交了登记），未作任何更改。",
    "PARTNERSHIP_EXISTS": "与该单位的合作正在进行（可能有人同时提交了登记），未作任何更改。",
    "PRICE_PUBLISHED_CONCURRENTLY": "另一版本的价格同时被发布，请刷新后重新发布。",
    "BASELINE_SET_CONCURRENTLY": "价格基准同时被他人修改，请刷新后重试。",
    "SHIPPER_ALREADY_CERTIFIED": "该企业已认证（可能有人同时提交了认证），未作任何更改。",
}
