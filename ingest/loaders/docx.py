"""DOCX loader (python-docx): paragraphs and tables in body order, headings on their own lines."""

from __future__ import annotations

import io
import re

from docx import Document
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from chatbot.domain import PageText, RawDocument
from chatbot.errors import DocumentLoadError
from ingest.loaders.base import register_loader

_CELL_SEPARATOR = " | "
_HEADING_STYLES = ("heading", "überschrift", "title", "titel")
_LIST_STYLES = ("list", "liste", "aufzählung")
_SPACES = re.compile(r"[ \t\u00a0]+")


@register_loader(".docx")
def load_docx(data: bytes, source: str) -> RawDocument:
    """Read a Word document as one page: paragraphs, headings and table rows in order."""
    try:
        document = Document(io.BytesIO(data))
        blocks = [block for item in document.iter_inner_content() for block in _blocks(item)]
        title = (document.core_properties.title or "").strip() or None
    except RecursionError:
        raise DocumentLoadError("corrupt DOCX: tables nested too deeply") from None
    except Exception as exc:  # zipfile, lxml and python-docx raise many types for broken files
        raise DocumentLoadError(f"corrupt DOCX: {_short_reason(exc)}") from None
    text = _join_blocks(blocks)
    if not text.strip():
        raise DocumentLoadError("no text")
    return RawDocument(source=source, pages=[PageText(None, text)], title=title)


# A block is (kind, text): "para" blocks are separated by a blank line, consecutive "line"
# blocks (list items, table rows) by a single line break, so chunking sees the structure.
_Block = tuple[str, str]


def _blocks(item: Paragraph | Table) -> list[_Block]:
    if isinstance(item, Table):
        return [("line", row) for row in _table_rows(item)]
    text = _SPACES.sub(" ", item.text).strip()
    if not text:
        return []
    style = _style_name(item)
    if style.startswith(_HEADING_STYLES):
        return [("heading", text)]
    if any(word in style for word in _LIST_STYLES):
        return [("line", text if text.startswith(("-", "•")) else f"- {text}")]
    return [("para", text)]


def _style_name(paragraph: Paragraph) -> str:
    try:
        style = paragraph.style
    except (KeyError, ValueError):  # a dangling style id in a hand-edited file
        return ""
    return (style.name or "").lower() if style is not None else ""


def _table_rows(table: Table) -> list[str]:
    """Each row on one line; horizontally merged cells (repeated by python-docx) count once."""
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous: object = None
        for cell in row.cells:
            if cell._tc is previous:
                continue
            previous = cell._tc
            text = _cell_text(cell)
            if text:
                cells.append(text)
        if cells:
            rows.append(_CELL_SEPARATOR.join(cells))
    return rows


def _cell_text(cell: _Cell) -> str:
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Table):
            parts.extend(_table_rows(item))
        else:
            parts.append(item.text)
    return _SPACES.sub(" ", " ".join(parts).replace("\n", " ")).strip()


def _join_blocks(blocks: list[_Block]) -> str:
    out: list[str] = []
    previous_kind = ""
    for kind, text in blocks:
        if out:
            out.append("\n" if kind == "line" and previous_kind == "line" else "\n\n")
        out.append(text)
        previous_kind = kind
    return "".join(out)


def _short_reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
