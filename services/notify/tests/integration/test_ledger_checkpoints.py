"""Issue 15: funds' signed ledger checkpoints are public (公开): the publicity page shows the
latest with Chinese labels, open data lists them all exactly as signed, so anyone can keep a
copy and later run ``ruralfund ledger verify --checkpoint`` against it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from ruralfund_common.contracts.funds.ledger_checkpoint import LedgerCheckpoint
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

SIGNED_AT = datetime(2026, 3, 2, 2, 0, 1, 1978, tzinfo=UTC)


def checkpoint(n: int, size: int) -> LedgerCheckpoint:
    return LedgerCheckpoint(
        checkpoint_id=n,
        origin="ruralfund funds ledger",
        tree_size=size,
        root_hash=f"{n:02x}" * 32,
        signed_at=SIGNED_AT,
        county_day=date(2026, 3, 2),
        reason="daily" if n % 2 else "on_demand",
        key_id="dev-funds",
        signature="-" + "A" * 85,  # base64url may start with "-"
    )


async def _listed(h, count: int) -> list[dict] | None:
    r = await h.client.get("/open-data/ledger-checkpoints.json")
    assert r.status_code == 200, r.text
    found = r.json()["checkpoints"]
    return found if len(found) == count else None


async def test_checkpoints_are_on_the_page_and_in_open_data_exactly_as_signed(harness) -> None:
    h = harness
    page = (await h.client.get("/publicity")).text
    assert "共管账户账本校验点" in page and "暂无校验点" in page
    for n, size in ((1, 57), (2, 1234)):
        await h.funds.emit(checkpoint(n, size), f"ledger-checkpoint-{n}")
    await h.funds.emit(checkpoint(2, 1234), "ledger-checkpoint-2")  # a redelivery changes nothing
    listed = await eventually(lambda: _listed(h, 2), description="two checkpoints in open data")

    assert [c["tree_size"] for c in listed] == [1234, 57]  # newest first
    newest = listed[0]
    assert newest["root_hash"] == "02" * 32 and newest["signature"] == "-" + "A" * 85
    assert newest["signed_at"] == SIGNED_AT.isoformat()  # the exact text the signature covers
    assert newest["origin"] == "ruralfund funds ledger" and newest["key_id"] == "dev-funds"
    body = (await h.client.get("/open-data/ledger-checkpoints.json")).json()
    assert (
        body["fields"]["root_hash"].startswith("根哈希")
        and "ruralfund ledger verify" in body["how_to_verify"]
    )

    page = (await h.client.get("/publicity")).text
    assert "暂无校验点" not in page
    for label in ("签署时间", "记录数", "根哈希", "签名密钥"):
        assert label in page
    assert "02" * 32 in page and "1,234" in page and "2026年3月2日 10:00" in page
    assert 'href="/open-data/ledger-checkpoints.json"' in page

    r = await h.client.get("/open-data/ledger-checkpoints.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["校验点编号", "账本名称", "记录数"]
    assert rows[1][2] == "1234" and rows[1][8] == "'-" + "A" * 85  # never a formula
