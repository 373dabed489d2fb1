"""The enterprise's forms as data: evidence built from a form's text (nested figures, month
rows, whole numbers), refusals placed beside the field they name, Chinese wording."""

from __future__ import annotations

from ruralfund_console.enterprise_forms import (
    REGISTRATION_FIELDS,
    chinese_part,
    evidence_from_form,
    reason_zh,
    refusal_errors,
)
from ruralfund_console.services import ServiceError

ITEM = {"form": {"fields": [
    {"name": "year", "label_zh": "申报年度", "input": "year", "required": True},
    {"name": "figures.storage_area_m2", "label_zh": "仓储面积（平方米）", "input": "integer", "required": True},
    {"name": "figures.full_functions", "label_zh": "功能完备", "input": "boolean", "required": True},
    {"name": "figures.turnover_yuan", "label_zh": "营业额（元）", "input": "yuan", "required": True},
    {"name": "store_name", "label_zh": "店铺名称", "input": "text", "required": False},
    {"name": "months", "label_zh": "逐月销售额", "input": "rows", "required": True, "columns": [
        {"name": "month", "label_zh": "月份"}, {"name": "sales_yuan", "label_zh": "销售额"}]},
]}}  # fmt: skip


def test_evidence_is_built_from_the_forms_text() -> None:
    evidence, errors = evidence_from_form({
        "year": "2023", "figures.storage_area_m2": "3,200", "figures.full_functions": "on",
        "figures.turnover_yuan": "1,500,000.00元", "store_name": "",
        "months": "2023-01 50,000.00\n\n2023-02  60,000.00元\n"}, ITEM)  # fmt: skip
    assert not errors
    assert evidence == {
        "year": 2023,
        "figures": {"storage_area_m2": 3200, "full_functions": True, "turnover_yuan": "1,500,000.00"},
        "months": [{"month": "2023-01", "sales_yuan": "50,000.00"}, {"month": "2023-02", "sales_yuan": "60,000.00"}],
    }


def test_what_cannot_be_read_is_a_chinese_error_beside_its_field() -> None:
    _, errors = evidence_from_form({"year": "", "figures.storage_area_m2": "三千", "figures.turnover_yuan": "1",
                                    "months": "2023-01"}, ITEM)  # fmt: skip
    assert errors.get("year") == "请填写“申报年度”。"
    assert errors.get("figures.storage_area_m2") == "“仓储面积（平方米）”须为整数（如 12345），不能填写“三千”。"
    assert "第 1 行应为：月份、销售额" in errors.get("months")
    assert errors.get("figures.full_functions") is None  # unticked is false, not missing


def test_a_refusal_goes_beside_the_field_it_names() -> None:
    phone = ServiceError(422, "输入有误", "contact.phone: String should match pattern", "INVALID_INPUT",
                         "contact.phone", ("contact.phone",))
    assert refusal_errors(phone, REGISTRATION_FIELDS).get("contact_phone").startswith("联系电话只能包含数字")
    county = ServiceError(422, "不是本县注册的企业", "本项目只受理县域内注册的企业。", "ENTERPRISE_NOT_IN_COUNTY",
                          "credit_code")
    assert refusal_errors(county, REGISTRATION_FIELDS).get("credit_code") == "本项目只受理县域内注册的企业。"
    row = ServiceError(422, "店铺的这些月份已申报过", "第2个月已申报过。", "MONTHS_ALREADY_CLAIMED", "evidence.months[1].month")
    assert refusal_errors(row, {"months": "逐月销售额"}).get("months") == "第2个月已申报过。"
    listed = ServiceError(422, "申报数据有误", "申报数据有以下问题：evidence.months.1.month: String should match",
                          "EVIDENCE_INVALID", "evidence.months.1.month", ("evidence.months.1.month", "evidence.store_id"))
    beside = refusal_errors(listed, {"months": "逐月销售额", "store_id": "店铺ID"})
    assert beside.by_field == {"months": "“逐月销售额”填写有误，请按提示填写。", "store_id": "“店铺ID”填写有误，请按提示填写。"}
    elsewhere = refusal_errors(ServiceError(409, "已申报过", "该季度已申报。", "DUPLICATE_CLAIM"), {"x": "x"})
    assert (elsewhere.by_field, elsewhere.general) == ({}, ["已申报过：该季度已申报。"])


def test_chinese_wording() -> None:
    assert chinese_part("按季度给予0.2元/个补助。 Local enterprise; 0.20 yuan per unit.") == "按季度给予0.2元/个补助。"
    assert chinese_part("按季度给予补助。") == "按季度给予补助。"
    assert reason_zh({"text_zh": "使用数量：12,345，要求不低于 10,000", "passed": True}) == (
        "使用数量：12,345，要求不低于 10,000（符合）")


async def test_a_body_larger_than_any_service_takes_is_refused_unread() -> None:
    import httpx
    from ruralfund_console.body_limit import BodyLimit

    reached = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        reached.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limited = BodyLimit(app, max_bytes=1024 * 1024)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://c") as client:
        big = await client.post("/enterprise/claims/x/files", content=b"x" * (1024 * 1024 + 1))
        assert big.status_code == 413 and "提交的内容超过 1 MB" in big.text and reached == []
        assert (await client.post("/x", content=b"x" * 1024 * 1024)).status_code == 204
