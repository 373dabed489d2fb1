"""CR, LF and other control characters in names and contacts are refused at input (422 naming
the field), in every service that takes them: a line break in a name can add a header to a
mail or a line to a log, a bidi override makes a name read backwards on the public page. One
validator type (``ruralfund_common.text.SingleLine``) does it everywhere."""

from __future__ import annotations

import copy
from typing import Any, Final

import pytest
import yaml

pytestmark = pytest.mark.integration

# Inside the value (whitespace at the ends is trimmed, harmlessly, before the check).
UNSAFE: Final = (
    "\r\n", "\n", "\r", "\t", "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029",
    "\u202e", "\u2066",
)  # fmt: skip


def _with(body: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = out
    for key in parents:
        target = target[key]
    target[last] = value
    return out


def _spoiled(good: str, char: str) -> str:
    """``char`` inside ``good``, so trimming cannot remove it."""
    return good[:1] + char + good[1:]


async def test_claims_refuses_them_in_enterprise_names_contacts_and_bank(
    serve: Any, hostile: Any
) -> None:
    served = await serve("claims", seed=False)
    body = hostile.enterprise_body()
    fields = ("name", "contact.name", "contact.email", "contact.phone", "bank_account.bank_name")
    before = await served.sql("SELECT count(*) FROM enterprises")
    for field in fields:
        good = str(_value(body, field))
        for char in UNSAFE:
            r = await served.call("POST", "/enterprises", json=_with(body, field, _spoiled(good, char)))
            assert r.status_code == 422, (field, char, r.text)
            hostile.assert_refused(r, field)
    assert await served.sql("SELECT count(*) FROM enterprises") == before


async def test_claims_refuses_them_in_a_programs_names(serve: Any, hostile: Any) -> None:
    served = await serve("claims", seed=False)
    doc = yaml.safe_load((hostile.PROGRAMS / "xinping-2021.yaml").read_text(encoding="utf-8"))
    for path in ("name", "county.name", "lines.0.name", "lines.0.items.0.name"):
        for char in ("\n", "\u2028", "\u202e"):
            spoiled = copy.deepcopy(doc)
            target: Any = spoiled
            *parents, last = path.split(".")
            for key in parents:
                target = target[int(key)] if key.isdigit() else target[key]
            target[last] = _spoiled(target[last], char)
            r = await served.call("POST", "/programs", json=spoiled)
            assert r.status_code == 422, (path, char, r.text)
            body = hostile.assert_refused(r, None)
            assert body["code"] == "PROGRAM_INVALID"
            dotted = path.split(".")
            named = str(body.get("field") or "")
            assert all(part in named for part in dotted), (path, body)
    assert await served.sql("SELECT count(*) FROM programs") == 0


async def test_logistics_refuses_them_in_station_carrier_and_shipper_names(
    serve: Any, hostile: Any
) -> None:
    served = await serve("logistics")
    station = served.ids["station_id"]
    center = hostile.center_body()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/stations", center, field)
        for field in ("name", "address", "contact_name", "contact_phone")
    ]
    cases.append((f"/stations/{station}/carriers",
                   {"kind": "express", "name": "中国邮政", "settled_on": "2021-04-01"}, "name"))  # fmt: skip
    cases.append((f"/stations/{station}/certified-enterprises",
                  {"credit_code": hostile.LOCAL, "name": "新平礼好", "certified_on": "2021-04-01"},
                  "name"))  # fmt: skip
    for path, body, field in cases:
        for char in UNSAFE:
            spoiled = _with(body, field, _spoiled(str(body[field]), char))
            r = await served.call("POST", path, json=spoiled)
            assert r.status_code == 422, (path, field, char, r.text)
            hostile.assert_refused(r, field)
    assert await served.sql("SELECT count(*) FROM stations") == 1  # the seeded one


def _value(body: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        body = body[key]
    return body
