"""HTML loader (BeautifulSoup, stdlib parser): visible text with block structure as line breaks."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, CData, NavigableString, Tag

from chatbot.domain import PageText, RawDocument
from chatbot.errors import DocumentLoadError
from ingest.loaders.base import register_loader
from ingest.loaders.text import decode_text

_NOISE_TAGS = (
    "head", "script", "style", "noscript", "template", "nav", "iframe", "svg", "canvas",
    "input", "button", "select", "textarea", "object", "embed",
)  # fmt: skip
# Blocks that end a paragraph ("\n\n") and blocks that end a line ("\n").
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "pre",
     "section", "article", "header", "footer", "main", "aside", "figure", "form", "fieldset",
     "hr", "address", "details", "summary", "caption"}
)  # fmt: skip
_LINE_TAGS = frozenset({"div", "li", "dt", "dd", "figcaption", "legend", "label"})
_CELL_TAGS = frozenset({"td", "th"})
_CELL_SEPARATOR = " | "
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# Structure marks while walking the tree, resolved at the end: nested blocks such as
# <ul><li> must not stack their breaks into several blank lines.
_PARAGRAPH, _LINE, _BREAK = "\x1e", "\x1f", "\x1d"
_MARKS = re.compile(r"[ \x1d\x1e\x1f]*[\x1d\x1e\x1f][ \x1d\x1e\x1f]*")
_MARK_CHARS = re.compile(r"[\x1d\x1e\x1f]")


@register_loader(".html", ".htm")
def load_html(data: bytes, source: str) -> RawDocument:
    """Read an HTML page (e.g. a RIS export) as one page of text without navigation noise."""
    markup = decode_text(data, declared=_declared_charset(data))
    try:
        soup = BeautifulSoup(markup, "html.parser")
        title = _title(soup)
        text = html_to_text(soup)
    except RecursionError:
        raise DocumentLoadError("corrupt HTML: elements nested too deeply") from None
    except Exception as exc:  # html.parser is lenient; this guards against pathological input
        raise DocumentLoadError(f"corrupt HTML: {type(exc).__name__}") from None
    if not text.strip():
        raise DocumentLoadError("no text")
    return RawDocument(source=source, pages=[PageText(None, text)], title=title)


def html_to_text(soup: BeautifulSoup) -> str:
    """The visible text of a parsed page: paragraphs split by blank lines, table cells by " | "."""
    # A checkbox becomes its glyph so that cleaning recognises the voting-form row it sits in.
    for box in soup.find_all("input", attrs={"type": "checkbox"}):
        box.replace_with(NavigableString(" ☐ "))
    for tag in soup.find_all(list(_NOISE_TAGS)):
        tag.decompose()
    parts: list[str] = []
    _walk(soup, parts)
    text = _MARKS.sub(_resolve_marks, "".join(parts))
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _resolve_marks(match: re.Match[str]) -> str:
    marks = match.group(0)
    if _PARAGRAPH in marks or marks.count(_BREAK) >= 2:
        return "\n\n"
    return "\n"


def _text(node: NavigableString) -> str:
    return _SPACES.sub(" ", _MARK_CHARS.sub("", str(node)))


def _walk(node: Tag, parts: list[str]) -> None:
    """Append the text of ``node`` to ``parts``, turning block tags into line breaks."""
    for child in node.children:
        if isinstance(child, NavigableString):
            # Comments, doctypes and processing instructions are subclasses: not visible text.
            if type(child) in (NavigableString, CData):
                parts.append(_text(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name == "br":
            parts.append(_BREAK)
        elif name == "tr":
            parts.append(_LINE + _row_text(child) + _LINE)
        elif name == "pre":
            lines = _MARK_CHARS.sub("", child.get_text()).split("\n")
            parts.append(_PARAGRAPH + _LINE.join(lines) + _PARAGRAPH)
        elif name in _PARAGRAPH_TAGS:
            parts.append(_PARAGRAPH)
            _walk(child, parts)
            parts.append(_PARAGRAPH)
        elif name in _LINE_TAGS:
            parts.append(_LINE)
            _walk(child, parts)
            parts.append(_LINE)
        else:
            _walk(child, parts)


def _row_text(row: Tag) -> str:
    """One table row on one line, cells separated; empty cells (e.g. checkboxes) are skipped."""
    cells: list[str] = []
    for cell in row.find_all(_CELL_TAGS, recursive=False):
        parts: list[str] = []
        _walk(cell, parts)
        text = _SPACES.sub(" ", _MARK_CHARS.sub(" ", "".join(parts))).strip()
        if text:
            cells.append(text)
    return _CELL_SEPARATOR.join(cells)


def _title(soup: BeautifulSoup) -> str | None:
    tag = soup.find("title")
    if not isinstance(tag, Tag):
        return None
    title = _SPACES.sub(" ", tag.get_text()).strip()
    return title or None


def _declared_charset(data: bytes) -> str | None:
    """The charset named in a <meta> tag near the start of the page, if any."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii", errors="ignore") if match else None
