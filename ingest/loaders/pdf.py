"""PDF loader (pypdf): one page of text per PDF page; encrypted and scanned files are refused."""

from __future__ import annotations

import io
import logging
import warnings

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

from chatbot.domain import PageText, RawDocument
from chatbot.errors import DocumentLoadError
from ingest.loaders.base import register_loader

# pypdf logs and warns about every repaired cross-reference table or odd font; that is noise
# in the log of an ingest run over thousands of council PDFs. Real failures surface as
# DocumentLoadError with a short reason.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_ENCRYPTED = "encrypted PDF (password protected)"
_WORD_EXPORT_PREFIXES = ("Microsoft Word - ", "Microsoft Word – ")


@register_loader(".pdf")
def load_pdf(data: bytes, source: str) -> RawDocument:
    """Read a PDF's text layer page by page, keeping 1-based page numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not _opens_without_password(reader):
                raise DocumentLoadError(_ENCRYPTED)
            pages = [
                PageText(number, page.extract_text() or "")
                for number, page in enumerate(reader.pages, start=1)
            ]
            title = _metadata_title(reader)
        except DocumentLoadError:
            raise
        except (FileNotDecryptedError, DependencyError):
            raise DocumentLoadError(_ENCRYPTED) from None
        except RecursionError:
            raise DocumentLoadError("corrupt PDF: objects nested too deeply") from None
        except Exception as exc:  # pypdf raises many exception types for broken files
            raise DocumentLoadError(f"corrupt PDF: {_short_reason(exc)}") from None

    if not pages:
        raise DocumentLoadError("corrupt PDF: no pages")
    if not any(page.text.strip() for page in pages):
        raise DocumentLoadError("no text layer (scanned PDF?); OCR is not supported")
    return RawDocument(source=source, pages=pages, title=title)


def _opens_without_password(reader: PdfReader) -> bool:
    """True when only an owner password is set, so the empty user password decrypts the file."""
    try:
        return bool(reader.decrypt(""))
    except (DependencyError, PdfReadError, NotImplementedError):
        # e.g. AES without the optional 'cryptography' package: unreadable for us either way.
        return False


def _metadata_title(reader: PdfReader) -> str | None:
    """The title from the PDF info dictionary, without Word's export prefix; None if absent."""
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # a broken info dictionary must not cost us the text
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(title.split())
    for prefix in _WORD_EXPORT_PREFIXES:
        title = title.removeprefix(prefix)
    return title or None


def _short_reason(exc: Exception) -> str:
    """A single-line reason of bounded length from a parser exception."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
