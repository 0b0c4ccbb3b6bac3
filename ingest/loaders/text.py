"""Plain-text loader (.txt, .md): UTF-8 with or without BOM, else Windows-1252."""

from __future__ import annotations

import codecs
import unicodedata

from chatbot.domain import PageText, RawDocument
from chatbot.errors import DocumentLoadError
from ingest.loaders.base import register_loader

# Council exports are German: UTF-8 or Windows-1252. charset_normalizer may only choose among
# encodings that can plausibly hold German text; anything else falls back to cp1252.
_PLAUSIBLE_ENCODINGS = ["cp1252", "iso8859_15", "latin_1", "cp1250", "iso8859_2", "cp850"]
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"})
_MAX_BINARY_SHARE = 0.01  # control characters and U+FFFD allowed before a file counts as binary


@register_loader(".txt", ".md")
def load_text(data: bytes, source: str) -> RawDocument:
    """Read a text file as one page without a page number."""
    text = decode_text(data)
    if not text.strip():
        raise DocumentLoadError("no text")
    return RawDocument(source=source, pages=[PageText(None, text)], title=None)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode bytes of a German text: BOM, UTF-8, declared charset, a guess, else cp1252."""
    text = _decode(data, declared)
    if _looks_binary(text):
        raise DocumentLoadError("binary content, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, declared: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data:
        raise DocumentLoadError("binary content, not text")
    # Valid UTF-8 with umlauts is practically never meant as cp1252, whatever a label says.
    decoded = _try_decode(data, "utf-8")
    if decoded is not None:
        return decoded
    if declared:
        # As browsers do (WHATWG): pages labelled latin-1 or ASCII are really Windows-1252.
        if declared.lower().replace("_", "-") in _WINDOWS_1252_LABELS:
            declared = "cp1252"
        decoded = _try_decode(data, declared)
        if decoded is not None:
            return decoded
    if _mostly_utf8(data):
        # A UTF-8 file with a few stray bytes (pasted from a cp1252 source): keep the UTF-8.
        return data.decode("utf-8", errors="replace")
    return _guess_single_byte(data)


def _mostly_utf8(data: bytes) -> bool:
    """True when valid multi-byte UTF-8 sequences clearly outnumber the invalid bytes."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return multibyte >= 3 * invalid


def _guess_single_byte(data: bytes) -> str:
    """Let charset_normalizer choose among Western single-byte encodings; default cp1252."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_PLAUSIBLE_ENCODINGS).best()
    # For German letters cp1252, latin-1 and cp1250 agree; cp1252 also has „ “ – €.
    encoding = best.encoding if best is not None else "cp1252"
    if encoding in {"latin_1", "iso8859_15"}:
        encoding = "cp1252"
    decoded = _try_decode(data, encoding)
    return decoded if decoded is not None else data.decode("cp1252", errors="replace")


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _looks_binary(text: str) -> bool:
    """True when control characters or replacement marks make up more than a trace of the text."""
    if not text:
        return False
    sample = text[:200_000]
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    )
    return bad / len(sample) > _MAX_BINARY_SHARE
