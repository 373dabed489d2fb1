"""Evidence files of a claim (invoices, photos, spreadsheets): what is accepted, judged by the
bytes themselves, never by the name or the declared type alone.

Accepted: PDF, PNG, JPEG, WebP, XLSX (a ZIP whose directory holds ``xl/workbook.xml``), XLS
(an OLE2 compound file named ``.xls``) and CSV (text without NUL bytes, UTF-8 or GB 18030 as
Excel in China writes it, named ``.csv``). A declared Content-Type that disagrees with the
bytes is refused: a PDF uploaded as ``image/png`` is a mistake or a trick either way.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Final

from ruralfund_common.errors import DomainError, InvalidInput
from ruralfund_common.text import UNSAFE_CHARACTERS

__all__ = [
    "ACCEPTED_TYPES",
    "ACCEPTED_ZH",
    "MAX_FILENAME_CHARS",
    "CheckedFile",
    "check_evidence_file",
    "clean_filename",
    "detect_content_type",
    "file_too_large",
    "served_filename",
]

MAX_FILENAME_CHARS: Final = 200
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS: Final = "application/vnd.ms-excel"
ACCEPTED_TYPES: Final = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    XLSX,
    XLS,
    "text/csv",
)
# The extensions a name may end in for each type; the first is added when it ends in none.
EXTENSIONS: Final = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    XLSX: (".xlsx",),
    XLS: (".xls",),
    "text/csv": (".csv",),
}
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CSV_SAMPLE_BYTES: Final = 64 * 1024


ACCEPTED_ZH: Final = "PDF、图片（PNG、JPEG、WebP）或表格（XLSX、XLS、CSV）"


def file_too_large(max_bytes: int) -> InvalidInput:
    """413 ``EVIDENCE_FILE_TOO_LARGE`` with the limit in MB, as people read it."""
    return InvalidInput(
        "EVIDENCE_FILE_TOO_LARGE", f"an evidence file has at most {max_bytes} bytes", status=413,
        field="file", title_zh="文件过大",
        detail_zh=f"单个证明材料文件不得超过 {max_bytes / 1024 / 1024:g} MB，请压缩或拆分后上传。",
    )  # fmt: skip


class UnsupportedMediaType(DomainError):
    status = 415


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


def detect_content_type(content: bytes, filename: str) -> str | None:
    """The type the bytes are, or None when they are none of the accepted ones."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"PK\x03\x04") and _is_xlsx(content):
        return XLSX
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if content.startswith(_OLE2) and suffix == "xls":
        return XLS  # OLE2 is also .doc/.msg: only a name that says spreadsheet is accepted
    if suffix == "csv" and _is_text(content):
        return "text/csv"
    return None


def _is_xlsx(content: bytes) -> bool:
    # Reads only the ZIP's central directory: nothing is decompressed (no zip bomb).
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _is_text(content: bytes) -> bool:
    sample = content[:_CSV_SAMPLE_BYTES]
    if not sample or b"\x00" in sample:
        return False
    # A multi-byte character may be cut at the sample's end: allow up to 3 bytes of it off.
    cuts = range(4) if len(content) > len(sample) else range(1)
    for encoding in ("utf-8", "gb18030"):
        for cut in cuts:
            try:
                sample[: len(sample) - cut].decode(encoding)
                return True
            except UnicodeDecodeError:
                continue
    return False


def clean_filename(name: str) -> str:
    """The last path component, without control characters or bidi overrides, at most
    MAX_FILENAME_CHARS."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = UNSAFE_CHARACTERS.sub("", base)  # controls, and bidi overrides ("fdp.exe" reversed)
    if not base or base in {".", ".."}:
        raise InvalidInput("FILENAME_INVALID", "give the file's name", field="filename",
                           title_zh="缺少文件名", detail_zh="请选择要上传的文件（文件须有文件名）。")
    if len(base) > MAX_FILENAME_CHARS:
        raise InvalidInput(
            "FILENAME_INVALID",
            f"a file name has at most {MAX_FILENAME_CHARS} characters",
            field="filename",
            title_zh="文件名过长",
            detail_zh=f"文件名最多 {MAX_FILENAME_CHARS} 个字符，请改短后再上传。",
        )
    return base


def served_filename(name: str, content_type: str) -> str:
    """The name ending in an extension of the detected type, so whoever saves and opens the
    file gets what the bytes are: ``invoice.pdf.hta`` holding a PDF is ``invoice.pdf.hta.pdf``
    (Windows would run an .hta by its name, whatever the bytes). Kept within
    MAX_FILENAME_CHARS by shortening the part before the added extension."""
    extensions = EXTENSIONS.get(content_type, (".bin",))
    if name.lower().endswith(extensions):
        return name
    extension = extensions[0]
    return name[: MAX_FILENAME_CHARS - len(extension)] + extension


def check_evidence_file(
    content: bytes, filename: str, declared_type: str | None, *, max_bytes: int
) -> CheckedFile:
    """The file's name, true type, size and SHA-256, or a refusal naming what is wrong."""
    name = clean_filename(filename)
    if len(content) > max_bytes:
        raise file_too_large(max_bytes)
    if not content:
        raise InvalidInput("EVIDENCE_FILE_EMPTY", "the file is empty", field="file",
                           title_zh="文件为空", detail_zh=f"“{name}”是空文件，请选择有内容的文件。")
    detected = detect_content_type(content, name)
    if detected is None:
        raise UnsupportedMediaType(
            "EVIDENCE_TYPE_UNSUPPORTED",
            "send a PDF, an image (PNG, JPEG, WebP) or a spreadsheet (XLSX, XLS, CSV)",
            field="file",
            title_zh="不支持的文件类型",
            detail_zh=f"“{name}”不是可接受的文件：请上传 {ACCEPTED_ZH}。",
            details={"accepted": list(ACCEPTED_TYPES)},
        )
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in {"", "application/octet-stream", detected}:
        raise UnsupportedMediaType(
            "EVIDENCE_TYPE_MISMATCH",
            f"the file was sent as {declared} but its content is {detected}",
            field="file",
            title_zh="文件类型与内容不符",
            detail_zh=f"“{name}”声明为 {declared}，实际内容是 {detected}，请核对后重新上传。",
            details={"declared": declared, "detected": detected},
        )
    return CheckedFile(
        served_filename(name, detected), detected, len(content), hashlib.sha256(content).hexdigest()
    )
