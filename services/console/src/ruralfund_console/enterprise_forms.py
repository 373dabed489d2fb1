"""The enterprise's forms as data: registration fields, the evidence a claim form's fields make,
refusals placed beside the field they name, and a rule's reasons in Chinese.

Pure functions (no I/O), so the pages stay thin and this is unit-tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .services import ServiceError

__all__ = [
    "REGISTRATION_FIELDS",
    "FormErrors",
    "chinese_part",
    "evidence_from_form",
    "form_values_of",
    "reason_zh",
    "refusal_errors",
    "registration_values",
]

REGISTRATION_FIELDS: Final = {
    "credit_code": "统一社会信用代码", "name": "企业名称", "kind": "主体类型", "program_code": "申报的示范项目",
    "contact_name": "联系人", "contact_phone": "联系电话", "contact_email": "电子邮箱",
    "bank_name": "开户银行", "account_no": "银行账号",
}  # fmt: skip
# what each field expects, said when the service refuses it without a Chinese detail
REGISTRATION_HINTS: Final = {
    "contact_phone": "联系电话只能包含数字、空格和“-”，6至20位，如 0877-7012345。",
    "contact_email": "电子邮箱格式不正确，如 lihua@example.cn。",
    "account_no": "银行账号只能包含数字（可用空格或“-”分隔），6至40位。",
    "bank_name": "开户银行至少2个字，如 中国农业银行新平县支行。",
}
# refusals whose detail lists every problem (in the validator's words): each field gets its own line
LISTING_CODES: Final = frozenset({"INVALID_INPUT", "EVIDENCE_INVALID"})
# the service's field paths (request bodies) as the form's field names
_SERVICE_FIELDS: Final = {
    "contact.name": "contact_name", "contact.email": "contact_email", "contact.phone": "contact_phone",
    "bank_account.bank_name": "bank_name", "bank_account.account_no": "account_no",
}  # fmt: skip


@dataclass
class FormErrors:
    """Chinese messages by form field; ``general`` for those that name no field of the form."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def get(self, name: str) -> str | None:
        return self.by_field.get(name)


def registration_values(enterprise: Mapping[str, Any]) -> dict[str, str]:
    contact = enterprise.get("contact") or {}
    return {
        "credit_code": enterprise["credit_code"], "name": enterprise["name"], "kind": enterprise["kind"],
        "program_code": (enterprise.get("programs") or [""])[0],
        "contact_name": contact.get("name") or "", "contact_phone": contact.get("phone") or "",
        "contact_email": contact.get("email") or "",
        "bank_name": enterprise["bank_name"], "account_no": enterprise["bank_account_no"],
    }  # fmt: skip


def _form_field(service_field: str, labels: Mapping[str, str]) -> str | None:
    """``evidence.months[2].sales_yuan`` → ``months``; ``contact.phone`` → ``contact_phone``."""
    name = service_field.removeprefix("body.").removeprefix("evidence.")
    name = _SERVICE_FIELDS.get(name, name)
    name = re.sub(r"(\[\d+\]|\.\d+).*$", "", name)  # a row of a list: the list's field
    if name in labels:
        return name
    parent = name.rsplit(".", 1)[0]
    return parent if parent in labels else None


def refusal_errors(exc: ServiceError, labels: Mapping[str, str]) -> FormErrors:
    """A service's refusal beside the field it names (its Chinese detail, else what the field
    expects); one that names no field of this form goes on top."""
    errors = FormErrors()
    named = [f for f in (exc.field, *exc.fields) if f]
    for service_field in named:
        name = _form_field(service_field, labels)
        if name is None:
            continue
        if exc.code not in LISTING_CODES and exc.detail_zh:
            errors.add(name, exc.detail_zh)
        else:
            errors.add(name, REGISTRATION_HINTS.get(name) or f"“{labels[name]}”填写有误，请按提示填写。")
    if not errors.by_field:
        errors.general.append(f"{exc.title_zh}：{exc.detail_zh}" if exc.detail_zh else exc.title_zh)
    return errors


# --------------------------------------------------------------------------- claim forms


def _input_name(name: str) -> str:
    return f"ev.{name}"


def form_values_of(form: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, str]:
    """The posted text of each of the item's fields (a re-shown form keeps what was typed)."""
    return {f["name"]: str(form.get(_input_name(f["name"])) or "").strip() for f in item["form"]["fields"]}


_NUMBER: Final = re.compile(r"^[0-9][0-9,，]*$")


def evidence_from_form(values: Mapping[str, str], item: Mapping[str, Any]) -> tuple[dict[str, Any], FormErrors]:
    """The evidence the claims API takes, built from the form's text; a field that cannot be
    read (an empty required one, a count that is not a whole number, a malformed row) is a
    Chinese error beside it. Amounts stay text: claims parses yuan itself."""
    evidence: dict[str, Any] = {}
    errors = FormErrors()
    for f in item["form"]["fields"]:
        name, label, kind, text = f["name"], f["label_zh"], f["input"], values.get(f["name"], "")
        if kind == "boolean":
            value: Any = text == "on"
        elif not text:
            if f.get("required"):
                errors.add(name, f"请填写“{label}”。")
            continue
        elif kind in ("integer", "year"):
            if not _NUMBER.match(text):
                errors.add(name, f"“{label}”须为整数（如 12345），不能填写“{text}”。")
                continue
            value = int(text.replace(",", "").replace("，", ""))
        elif kind == "yuan":
            value = text.removesuffix("元").strip()
        elif kind == "rows":
            value = _rows(text, f, errors)
            if value is None:
                continue
        else:
            # a listed choice typed as people read it (淘宝) is sent as its code (taobao)
            value = next((str(c["value"]) for c in f.get("choices") or [] if c["label_zh"] == text), text)
        target = evidence
        *parents, leaf = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return evidence, errors


def _rows(text: str, f: Mapping[str, Any], errors: FormErrors) -> list[dict[str, str]] | None:
    columns = f["columns"]
    rows = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        cells = line.split()
        if len(cells) != len(columns):
            shape = "、".join(c["label_zh"] for c in columns)
            errors.add(f["name"], f"“{f['label_zh']}”第 {number} 行应为：{shape}，以空格分隔（如 2023-01 52,000.00）。")
            return None
        rows.append({c["name"]: cell.removesuffix("元") for c, cell in zip(columns, cells, strict=True)})
    return rows


# --------------------------------------------------------------------------- reasons


def reason_zh(reason: Mapping[str, Any]) -> str:
    """One of a rule's reasons as a Chinese line: claims words the condition and the figures
    (``text_zh``); the console adds whether the claim met it."""
    verdict = "符合" if reason.get("passed") else "不符合"
    text = reason.get("text_zh") or f"{reason.get('label', '')}：{reason.get('actual', '')}"
    return f"{text}（{verdict}）"


def chinese_part(text: str | None) -> str:
    """A program's wording without the English gloss that follows it (criteria: the original's
    sentence, then a translation for developers that starts with a Latin letter)."""
    text = text or ""
    end = text.rfind("。")
    rest = text[end + 1 :].strip()
    return text[: end + 1] if end >= 0 and rest[:1].isascii() and rest[:1].isalpha() else text
