"""Response bodies as searchable text: HTML as is, JSON with Chinese unescaped, .xlsx as its cell values."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import load_workbook

from civicgrid.core.exports import XLSX_CONTENT_TYPE


def body_text(response: Any) -> str:
    """Everything a reader of the response could see, as one string."""
    content_type = response.get("Content-Type", "")
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if content_type.startswith(XLSX_CONTENT_TYPE):
        return xlsx_text(content)
    text = content.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def xlsx_text(content: bytes) -> str:
    """Every cell of every sheet of an .xlsx file, tab/newline separated."""
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    lines = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            lines.append("\t".join("" if value is None else str(value) for value in row))
    return "\n".join(lines)
