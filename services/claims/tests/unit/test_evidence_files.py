"""Evidence file types are judged by their bytes; names and declared types only narrow them."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from ruralfund_claims.domain.evidence_files import (
    XLS,
    XLSX,
    check_evidence_file,
    clean_filename,
    detect_content_type,
    served_filename,
)
from ruralfund_common.errors import DomainError

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


XLSX_BYTES = _zip("[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml")
DOCX_BYTES = _zip("[Content_Types].xml", "word/document.xml")


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (PDF, "发票.pdf", "application/pdf"),
        (PDF, "invoice.png", "application/pdf"),  # the bytes decide, not the name
        (PNG, "x.png", "image/png"),
        (JPEG, "入库单.jpg", "image/jpeg"),
        (WEBP, "x.webp", "image/webp"),
        (XLSX_BYTES, "销售明细.xlsx", XLSX),
        (DOCX_BYTES, "a.xlsx", None),  # a ZIP, but not a workbook
        (OLE2, "old.xls", XLS),
        (OLE2, "letter.doc", None),  # OLE2 is also Word: only a spreadsheet name is accepted
        ("月份,销售额\n2021-07,50000.00\n".encode(), "sales.csv", "text/csv"),
        ("月份,销售额\n".encode("gb18030"), "sales.csv", "text/csv"),
        (b"a,b\x00c", "bad.csv", None),
        (b"MZ\x90\x00 an executable", "invoice.pdf", None),
        (b"<html><script>", "page.csv.html", None),
    ],
)
def test_detect_content_type(content: bytes, name: str, expected: str | None) -> None:
    assert detect_content_type(content, name) == expected


def test_a_checked_file_has_its_sha256_and_size() -> None:
    checked = check_evidence_file(PDF, "C:\\scans\\发票.pdf", "application/pdf", max_bytes=1024)
    assert (checked.filename, checked.content_type, checked.size_bytes) == (
        "发票.pdf",
        "application/pdf",
        len(PDF),
    )
    assert checked.sha256 == hashlib.sha256(PDF).hexdigest()


def test_size_limit_is_inclusive() -> None:
    assert check_evidence_file(PDF, "a.pdf", None, max_bytes=len(PDF)).size_bytes == len(PDF)
    with pytest.raises(DomainError) as refused:
        check_evidence_file(PDF, "a.pdf", None, max_bytes=len(PDF) - 1)
    assert (refused.value.code, refused.value.status) == ("EVIDENCE_FILE_TOO_LARGE", 413)


@pytest.mark.parametrize(
    ("content", "declared", "code"),
    [
        (PDF, "image/png", "EVIDENCE_TYPE_MISMATCH"),
        (b"MZ\x90\x00", "application/pdf", "EVIDENCE_TYPE_UNSUPPORTED"),
        (b"", None, "EVIDENCE_FILE_EMPTY"),
    ],
)
def test_refusals(content: bytes, declared: str | None, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_evidence_file(content, "a.pdf", declared, max_bytes=1024)
    assert refused.value.code == code


def test_octet_stream_and_parameters_are_accepted_as_declarations() -> None:
    assert check_evidence_file(PDF, "a.pdf", "application/octet-stream", max_bytes=1024)
    assert check_evidence_file(PNG, "a.png", "image/png; charset=binary", max_bytes=1024)


@pytest.mark.parametrize("name", ["", "..", "a/b/", "x" * 201])
def test_bad_file_names(name: str) -> None:
    with pytest.raises(DomainError):
        clean_filename(name)


def test_file_names_lose_paths_and_control_characters() -> None:
    assert clean_filename("../../etc/pass\x00wd\r\n.pdf") == "passwd.pdf"


@pytest.mark.parametrize(
    ("content", "name", "stored"),
    [
        (PDF, "invoice.pdf.hta", "invoice.pdf.hta.pdf"),  # Windows runs an .hta by its name
        (PDF, "invoice.png", "invoice.png.pdf"),
        (PDF, "发票", "发票.pdf"),
        (PDF, "发票.PDF", "发票.PDF"),
        (JPEG, "photo.jpeg", "photo.jpeg"),
        (JPEG, "photo.svg", "photo.svg.jpg"),
        (PNG, "x.png.exe", "x.png.exe.png"),
        (XLSX_BYTES, "销售.xlsm", "销售.xlsm.xlsx"),
        (PDF, "a" * 200, "a" * 196 + ".pdf"),  # still at most MAX_FILENAME_CHARS
        (PDF, "发票\u202efdp.hta", "发票fdp.hta.pdf"),  # a bidi override would show "atah.pdf"
    ],
)
def test_a_stored_name_ends_in_its_detected_types_extension(
    content: bytes, name: str, stored: str
) -> None:
    checked = check_evidence_file(content, name, None, max_bytes=1 << 20)
    assert checked.filename == stored
    assert served_filename(stored, checked.content_type) == stored  # idempotent
