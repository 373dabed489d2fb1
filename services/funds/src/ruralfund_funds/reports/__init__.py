"""Documents rendered from funds' read models (no I/O: bytes and text in memory)."""

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
