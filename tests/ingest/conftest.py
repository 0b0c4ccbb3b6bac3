"""Factories that write real input files (PDF, DOCX, HTML, text) into a test's tmp_path."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

KOBLENZ = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "koblenz"

_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)

PdfFactory = Callable[..., Path]
DocxFactory = Callable[..., Path]
FileFactory = Callable[[str, bytes], Path]


def unicode_font() -> Path | None:
    """A TrueType font with German glyphs, if the system or a package ships one."""
    for candidate in _FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    try:
        import matplotlib
    except ImportError:
        return None
    bundled = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return bundled if bundled.is_file() else None


def pdf_bytes(pages: Sequence[str | None], *, title: str | None = None) -> bytes:
    """A PDF with one page per entry; ``None`` makes a page with only a drawn rectangle."""
    from fpdf import FPDF

    pdf = FPDF()
    font = unicode_font()
    if font is not None:
        pdf.add_font("Body", fname=str(font))
        pdf.set_font("Body", size=11)
    else:  # the core font covers latin-1, which includes the German umlauts
        pdf.set_font("Helvetica", size=11)
    if title is not None:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 80, 40)
        else:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def encrypted_pdf_bytes(plain: bytes, *, user_password: str, owner_password: str) -> bytes:
    """``plain`` encrypted with pypdf (RC4, which needs no optional crypto package)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def write_file(tmp_path: Path) -> FileFactory:
    """Write bytes to a file named ``name`` in tmp_path and return its path."""

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def make_pdf(write_file: FileFactory) -> PdfFactory:
    """Write a PDF: ``make_pdf(["page 1", None, "page 3"], title=…, name=…)``."""

    def make(
        pages: Sequence[str | None], *, title: str | None = None, name: str = "vorlage.pdf"
    ) -> Path:
        return write_file(name, pdf_bytes(pages, title=title))

    return make


@pytest.fixture
def make_docx(tmp_path: Path) -> DocxFactory:
    """Write a DOCX of a heading, paragraphs and an optional table (rows of cells)."""

    def make(
        *,
        heading: str,
        paragraphs: Sequence[str],
        table: Sequence[Sequence[str]] = (),
        closing: str = "",
        title: str | None = None,
        name: str = "antrag.docx",
    ) -> Path:
        from docx import Document

        document = Document()
        if title is not None:
            document.core_properties.title = title
        document.add_heading(heading, level=1)
        for text in paragraphs:
            document.add_paragraph(text)
        if table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for row, values in zip(grid.rows, table, strict=True):
                for cell, value in zip(row.cells, values, strict=True):
                    cell.text = value
        if closing:
            document.add_paragraph(closing)
        path = tmp_path / name
        document.save(str(path))
        return path

    return make


@pytest.fixture
def koblenz_texts() -> dict[str, str]:
    """The real Koblenz RIS texts by file-name prefix ("004"); skips when ../shared is absent."""
    if not KOBLENZ.is_dir():
        pytest.skip("the shared Koblenz corpus is not available")
    texts = {path.name[:3]: path.read_text(encoding="utf-8") for path in KOBLENZ.glob("*.txt")}
    if not texts:
        pytest.skip("the shared Koblenz corpus is empty")
    return texts
