"""Evidence files over HTTP: stored with their SHA-256 and size limit, type checked by magic
bytes, downloadable by the claimant and staff only, closed once the leading group decides."""

from __future__ import annotations

import hashlib
from functools import partial

import pytest
from ruralfund_claims.app import create_app
from ruralfund_claims.settings import ClaimsSettings
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.services import running_service, service_settings

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n" + "新平礼好 入库单 2021Q3".encode() + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100


async def _claim(claims) -> str:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    return (await claims.submit()).json()["id"]


async def _upload(
    claims,
    claim_id,
    content,
    name="入库单.pdf",
    headers=None,
    content_type="application/pdf",
    key=None,
):  # type: ignore[no-untyped-def]
    extra = {"Content-Type": content_type} | ({"Idempotency-Key": key} if key else {})
    return await claims.http.post(
        f"/claims/{claim_id}/files", params={"filename": name}, content=content,
        headers={**(headers or claims.ENTERPRISE), **extra},
    )  # fmt: skip


async def test_the_claimant_attaches_a_pdf_and_staff_download_the_same_bytes(claims) -> None:  # type: ignore[no-untyped-def]
    claim_id = await _claim(claims)
    response = await _upload(claims, claim_id, PDF)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["filename"], stored["content_type"], stored["size_bytes"]) == (
        "入库单.pdf",
        "application/pdf",
        len(PDF),
    )
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()

    for who in (claims.ENTERPRISE, claims.ADMIN, claims.AUDITOR, claims.MEMBER):
        download = await claims.http.get(f"/claims/{claim_id}/files/{stored['id']}", headers=who)
        assert download.status_code == 200
        assert download.content == PDF and download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-sha256"] == stored["sha256"]
        assert download.headers["x-content-type-options"] == "nosniff"
        assert (
            "filename*=UTF-8''%E5%85%A5%E5%BA%93%E5%8D%95.pdf"
            in download.headers["content-disposition"]
        )
    listed = (await claims.http.get(f"/claims/{claim_id}/files", headers=claims.ADMIN)).json()
    assert [f["id"] for f in listed] == [stored["id"]]


async def test_another_enterprise_neither_sees_nor_adds_files(claims) -> None:  # type: ignore[no-untyped-def]
    claim_id = await _claim(claims)
    file_id = (await _upload(claims, claim_id, PDF)).json()["id"]
    other = claims.OTHER_ENTERPRISE
    assert (
        await claims.http.get(f"/claims/{claim_id}/files/{file_id}", headers=other)
    ).status_code == 404
    assert (await claims.http.get(f"/claims/{claim_id}/files", headers=other)).status_code == 404
    added = await _upload(
        claims, claim_id, PNG, name="x.png", headers=other, content_type="image/png"
    )
    assert (added.status_code, added.json()["code"]) == (404, "CLAIM_NOT_FOUND")
    auditor = await _upload(
        claims, claim_id, PNG, name="x.png", headers=claims.AUDITOR, content_type="image/png"
    )
    assert (auditor.status_code, auditor.json()["code"]) == (403, "READ_ONLY")
    assert await claims.sql("SELECT count(*) FROM evidence_files") == 1


async def test_types_are_checked_by_their_bytes(claims) -> None:  # type: ignore[no-untyped-def]
    claim_id = await _claim(claims)
    disguised = await _upload(claims, claim_id, b"MZ\x90\x00 not a pdf", name="invoice.pdf")
    assert (disguised.status_code, disguised.json()["code"]) == (415, "EVIDENCE_TYPE_UNSUPPORTED")
    assert "“invoice.pdf”不是可接受的文件：请上传 PDF" in disguised.json()["detail_zh"]
    mismatch = await _upload(claims, claim_id, PDF, content_type="image/png")
    assert (mismatch.status_code, mismatch.json()["code"]) == (415, "EVIDENCE_TYPE_MISMATCH")
    assert await claims.sql("SELECT count(*) FROM evidence_files") == 0


async def test_duplicates_and_replays(claims) -> None:  # type: ignore[no-untyped-def]
    claim_id = await _claim(claims)
    first = await _upload(claims, claim_id, PDF, key="upload-1")
    replay = await _upload(claims, claim_id, PDF, key="upload-1")
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    again = await _upload(claims, claim_id, PDF, name="copy.pdf")
    assert (again.status_code, again.json()["code"]) == (409, "EVIDENCE_FILE_EXISTS")


async def test_evidence_closes_with_the_decision(claims) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    late = await _upload(claims, claim["id"], PDF)
    assert (late.status_code, late.json()["code"]) == (409, "EVIDENCE_CLOSED")


async def test_the_size_limit_is_enforced(
    nats_url, database_url, namespace, claims_factory
) -> None:  # type: ignore[no-untyped-def]
    settings = service_settings(
        "claims", nats_url=nats_url, database_url=database_url, namespace=namespace
    )
    small = partial(
        create_app,
        claims_settings=ClaimsSettings(
            evidence_max_file_bytes=len(PDF), evidence_max_files_per_claim=1
        ),
    )
    async with running_service(small, settings) as http:
        claims = claims_factory(http)
        claim_id = await _claim(claims)
        big = await _upload(claims, claim_id, PDF + b" ")
        assert (big.status_code, big.json()["code"]) == (413, "EVIDENCE_FILE_TOO_LARGE")
        assert big.json()["title_zh"] == "文件过大" and "不得超过" in big.json()["detail_zh"]
        assert (await _upload(claims, claim_id, PDF)).status_code == 201  # exactly the limit
        second = await _upload(claims, claim_id, PDF.replace(b"1.7", b"1.6"), name="b.pdf")
        assert (second.status_code, second.json()["code"]) == (409, "TOO_MANY_FILES")


async def _contract(claims) -> str:  # type: ignore[no-untyped-def]
    """An anchor-training contract under Xinping (already loaded)."""
    provider = with_check_character("91530427MA6P00071")
    await claims.register(provider, name="新平县主播培训有限公司", kind="service_provider")
    body = {
        "item_code": "anchor-training", "contract_no": "XP-2023-FW-009",
        "provider_credit_code": provider, "amount_yuan": "480,000.00",
        "signed_on": "2023-05-10", "ends_on": "2023-12-31",
        "milestones": [{"code": "final-report", "name": "项目总结报告", "due_on": "2023-12-20"}],
    }  # fmt: skip
    response = await claims.http.post(
        "/programs/xinping-2021/contracts", json=body, headers=claims.ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_name_that_hides_its_type_is_stored_and_served_with_the_detected_one(
    claims,
) -> None:  # type: ignore[no-untyped-def]
    """``invoice.pdf.hta`` with PDF bytes would run as an HTML application once saved on
    Windows: it is stored and served as ``invoice.pdf.hta.pdf``, for a claim and a contract
    (one upload path), and a name stored before the rule is served safely too."""
    claim_id = await _claim(claims)
    uploaded = await _upload(claims, claim_id, PDF, name="invoice.pdf.hta")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["filename"] == "invoice.pdf.hta.pdf"
    url = f"/claims/{claim_id}/files/{uploaded.json()['id']}"
    served = await claims.http.get(url, headers=claims.ADMIN)
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-disposition"] == (
        "attachment; filename=\"invoice.pdf.hta.pdf\"; filename*=UTF-8''invoice.pdf.hta.pdf"
    )
    old_id = await claims.sql(  # a file stored before names were checked (rows never change)
        "INSERT INTO evidence_files (id, claim_id, credit_code, filename, content_type,"
        " size_bytes, sha256, content, uploaded_by, uploaded_at)"
        " SELECT gen_random_uuid(), claim_id, credit_code, 'old\"name.hta', content_type,"
        " size_bytes, repeat('0', 64), content, uploaded_by, uploaded_at FROM evidence_files"
        " RETURNING id"
    )
    served = await claims.http.get(f"/claims/{claim_id}/files/{old_id}", headers=claims.ADMIN)
    assert served.headers["content-disposition"] == (
        "attachment; filename=\"old_name.hta.pdf\"; filename*=UTF-8''old%22name.hta.pdf"
    )

    contract_id = await _contract(claims)
    uploaded = await claims.http.post(
        f"/contracts/{contract_id}/files", params={"filename": "验收报告.pdf.hta"}, content=PDF,
        headers={**claims.ADMIN, "Content-Type": "application/pdf"},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["filename"] == "验收报告.pdf.hta.pdf"
    served = await claims.http.get(
        f"/contracts/{contract_id}/files/{uploaded.json()['id']}", headers=claims.ADMIN
    )
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-disposition"].endswith(".pdf.hta.pdf")
    assert "filename=\"____.pdf.hta.pdf\"" in served.headers["content-disposition"]
