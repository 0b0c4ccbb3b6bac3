"""Loaders read real files written by the factories in conftest.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chatbot.errors import DocumentLoadError
from ingest.cleaning import clean_text
from ingest.loaders import load_file, loader_for
from ingest.loaders.base import supported_suffixes
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_text
from tests.ingest.conftest import (
    DocxFactory,
    FileFactory,
    PdfFactory,
    encrypted_pdf_bytes,
    pdf_bytes,
)

GERMAN = "Größe, Übergänge, Maßnahme"

RIS_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Vorlage BV/0123/2024</title>
<style>p { color: red }</style><script>var tracking = "nicht lesen";</script></head>
<body>
<nav><a href="/">Startseite</a> | <a href="/suche">Suche</a></nav>
<h1>Beschlussvorlage</h1>
<p>Vorlage: BV/0123/2024<br>Datum: 12.03.2024</p>
<table>
  <tr><td>19.03.2024</td><td>Stadtrat</td>
      <td><input type="checkbox"/> einstimmig</td><td><input type="checkbox"/> abgelehnt</td></tr>
</table>
<div>Begründung:</div>
<p>Die Verwaltung schlägt vor,
   den Radweg an der Mosel zu verbreitern.</p>
<ul><li>Abschnitt Nord</li><li>Abschnitt Süd</li></ul>
<!-- interner Kommentar -->
</body></html>
"""


# --- PDF --------------------------------------------------------------------------------------
def test_pdf_pages_keep_their_numbers_and_umlauts(make_pdf: PdfFactory) -> None:
    path = make_pdf([f"Seite eins: {GERMAN}", "Seite zwei", "Seite drei"], title="Radwege")

    document = load_file(path)

    assert [page.number for page in document.pages] == [1, 2, 3]
    assert GERMAN in document.pages[0].text
    assert "zwei" in document.pages[1].text
    assert "drei" in document.pages[2].text
    assert document.title == "Radwege"
    assert document.source == str(path)


def test_pdf_without_title_metadata_has_no_title(make_pdf: PdfFactory) -> None:
    assert load_file(make_pdf(["Text ohne Titel"])).title is None


def test_pdf_page_without_text_stays_an_empty_page(make_pdf: PdfFactory) -> None:
    document = load_file(make_pdf(["Erste Seite", None, "Dritte Seite"]))

    assert [page.number for page in document.pages] == [1, 2, 3]
    assert document.pages[1].text.strip() == ""
    assert "Dritte" in document.pages[2].text


def test_encrypted_pdf_is_reported_not_read(write_file: FileFactory) -> None:
    secret = encrypted_pdf_bytes(
        pdf_bytes(["Vertraulich"]), user_password="geheim", owner_password="owner"
    )

    with pytest.raises(DocumentLoadError, match=r"encrypted PDF \(password protected\)"):
        load_file(write_file("geheim.pdf", secret))


def test_pdf_with_only_an_owner_password_is_read(write_file: FileFactory) -> None:
    restricted = encrypted_pdf_bytes(
        pdf_bytes([f"Öffentlich: {GERMAN}"]), user_password="", owner_password="owner"
    )

    document = load_file(write_file("eingeschraenkt.pdf", restricted))

    assert GERMAN in document.pages[0].text


def test_truncated_pdf_is_reported_as_corrupt(write_file: FileFactory) -> None:
    data = pdf_bytes(["Dieser Text wird abgeschnitten"] * 3)

    with pytest.raises(DocumentLoadError, match=r"^corrupt PDF: \S"):
        load_file(write_file("kaputt.pdf", data[: len(data) // 2]))


def test_garbage_with_pdf_suffix_is_reported_as_corrupt(write_file: FileFactory) -> None:
    garbage = random.Random(7).randbytes(4096)

    with pytest.raises(DocumentLoadError, match=r"^corrupt PDF"):
        load_file(write_file("zufall.pdf", garbage))


def test_scanned_pdf_without_text_layer_asks_for_ocr(make_pdf: PdfFactory) -> None:
    with pytest.raises(DocumentLoadError, match=r"no text layer \(scanned PDF\?\)"):
        load_file(make_pdf([None, None]))


def test_pdf_loader_logs_nothing_for_a_broken_file(
    write_file: FileFactory, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    data = pdf_bytes(["Text"])

    with pytest.raises(DocumentLoadError):
        load_file(write_file("kaputt.pdf", data[:-300]))

    assert not [record for record in caplog.records if record.name.startswith("pypdf")]
    assert capfd.readouterr().err == ""


# --- DOCX -------------------------------------------------------------------------------------
def test_docx_keeps_body_order_with_table_rows_and_heading(make_docx: DocxFactory) -> None:
    path = make_docx(
        heading="Antrag der Fraktion",
        paragraphs=["Die Fraktion beantragt:", f"Prüfung der {GERMAN}."],
        table=[["Maßnahme", "Kosten"], ["Radweg Mosel", "120.000 €"]],
        closing="Begründung folgt mündlich.",
        title="Antrag Radweg",
    )

    document = load_file(path)

    assert [page.number for page in document.pages] == [None]
    text = document.pages[0].text
    assert text.splitlines()[0] == "Antrag der Fraktion"
    assert "Maßnahme | Kosten\nRadweg Mosel | 120.000 €" in text
    assert text.index("Die Fraktion") < text.index("Radweg Mosel") < text.index("Begründung")
    assert document.title == "Antrag Radweg"


def test_corrupt_docx_is_reported(write_file: FileFactory) -> None:
    with pytest.raises(DocumentLoadError, match=r"^corrupt DOCX"):
        load_file(write_file("kaputt.docx", b"PK\x03\x04 this is no zip archive"))


def test_docx_without_text_is_reported(tmp_path: Path) -> None:
    from docx import Document

    path = tmp_path / "leer.docx"
    Document().save(str(path))

    with pytest.raises(DocumentLoadError, match=r"^no text$"):
        load_docx(path.read_bytes(), str(path))


# --- HTML -------------------------------------------------------------------------------------
def test_html_export_keeps_blocks_and_drops_noise(write_file: FileFactory) -> None:
    document = load_file(write_file("vorlage.html", RIS_HTML.encode("utf-8")))

    text = document.pages[0].text
    assert document.title == "Vorlage BV/0123/2024"
    assert "<input" not in text and "checkbox" not in text
    assert "tracking" not in text and "color" not in text and "Startseite" not in text
    assert "interner Kommentar" not in text
    assert "Vorlage: BV/0123/2024\nDatum: 12.03.2024" in text
    # Checkboxes become glyphs, so cleaning can recognise and drop the voting row after the date.
    assert "19.03.2024 | Stadtrat | ☐ einstimmig | ☐ abgelehnt" in text
    assert "19.03.2024 | Stadtrat" in clean_text(text)
    assert "einstimmig" not in clean_text(text)
    assert "Die Verwaltung schlägt vor, den Radweg an der Mosel zu verbreitern." in text
    assert "Abschnitt Nord\nAbschnitt Süd" in text
    assert text.startswith("Beschlussvorlage\n\n")


def test_html_in_windows_1252_is_decoded_by_its_meta_charset(write_file: FileFactory) -> None:
    page = f'<html><head><meta charset="windows-1252"></head><body><p>{GERMAN}</p></body></html>'

    document = load_file(write_file("alt.htm", page.encode("cp1252")))

    assert document.pages[0].text == GERMAN


def test_html_without_charset_is_decoded_by_detection() -> None:
    page = f"<html><body><p>{GERMAN} – „Zitat“</p></body></html>"

    document = load_html(page.encode("cp1252"), "ohne-charset.html")

    assert document.pages[0].text == f"{GERMAN} – „Zitat“"


def test_html_without_visible_text_is_reported(write_file: FileFactory) -> None:
    with pytest.raises(DocumentLoadError, match=r"^no text$"):
        load_file(write_file("leer.html", b"<html><head><title>T</title></head><body></body>"))


# --- text -------------------------------------------------------------------------------------
def test_windows_1252_text_keeps_umlauts(write_file: FileFactory) -> None:
    data = f"{GERMAN}\r\nKosten: 500 € „netto“\r\n".encode("cp1252")

    document = load_file(write_file("alt.txt", data))

    assert document.pages[0].text == f"{GERMAN}\nKosten: 500 € „netto“\n"
    assert document.pages[0].number is None


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "with-bom"])
def test_utf8_text_is_read_with_or_without_bom(write_file: FileFactory, bom: bytes) -> None:
    document = load_file(write_file("neu.txt", bom + f"{GERMAN}\n".encode()))

    assert document.pages[0].text == f"{GERMAN}\n"


def test_markdown_is_read_as_text(write_file: FileFactory) -> None:
    document = load_file(write_file("notiz.md", f"# Überschrift\n\n{GERMAN}\n".encode()))

    assert document.pages[0].text.startswith("# Überschrift")


def test_binary_garbage_with_text_suffix_is_reported(write_file: FileFactory) -> None:
    png = b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(2048)

    with pytest.raises(DocumentLoadError, match="binary"):
        load_file(write_file("bild.txt", png))


def test_random_bytes_without_nul_are_not_taken_for_text() -> None:
    noise = bytes(b for b in random.Random(5).randbytes(4096) if b != 0)

    with pytest.raises(DocumentLoadError, match="binary"):
        load_text(noise, "rauschen.txt")


def test_whitespace_only_text_is_reported_as_empty() -> None:
    with pytest.raises(DocumentLoadError, match=r"^no text$"):
        load_text(b" \n\t\n", "leer.txt")


# --- registry ---------------------------------------------------------------------------------
def test_unknown_suffix_is_reported_with_the_supported_types(write_file: FileFactory) -> None:
    path = write_file("tabelle.xlsx", b"PK\x03\x04")

    with pytest.raises(
        DocumentLoadError, match=r"unsupported file type \.xlsx; supported: .*\.pdf"
    ):
        load_file(path)


def test_every_builtin_format_is_registered() -> None:
    assert {".pdf", ".docx", ".html", ".htm", ".txt", ".md"} <= set(supported_suffixes())
    assert loader_for("VORLAGE.PDF") is load_pdf


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html", ".txt"])
def test_loaders_raise_only_document_load_error_for_bad_input(suffix: str) -> None:
    loader = loader_for(f"x{suffix}")
    rng = random.Random(suffix)
    inputs = [
        b"\x00\xff" * 64,
        rng.randbytes(1024),
        b"PK\x03\x04" + rng.randbytes(512),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>",
        b"<" * 5000,
        b"\xff\xfe",
    ]

    for data in inputs:
        try:
            document = loader(data, f"bad{suffix}")
        except DocumentLoadError as exc:
            assert str(exc)  # a reason the operator can read
        else:  # some inputs are legitimate text for the text-like formats
            assert suffix in {".html", ".txt"} and document.pages
