"""The program execution report (执行情况报告) for the acceptance review (验收) and the
performance evaluation (绩效评价).

``model`` builds a pure dataclass tree from plain inputs (no I/O: unit tests need no
database); ``xlsx`` and ``pdf`` render that tree; ``queries`` reads the inputs from the claims
schema for the HTTP endpoint (``entrypoints/reports_api.py``).
"""

from typing import Final

# Here, not in the renderers, so the API can name them without importing openpyxl/reportlab.
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE: Final = "application/pdf"
