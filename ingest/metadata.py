"""Metadata of a council document read from the header block of its cleaned text.

Only what the text states is extracted; unknown fields stay empty, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chatbot.domain import CommitteeSession, DocumentMetadata
from chatbot.references import DOC_TYPES, find_references

# Heading words that name a document type, with the code used when no reference gives one.
_HEADING_TYPES: tuple[tuple[str, str], ...] = (
    ("beschlussvorlage", "BV"),
    ("unterrichtungsvorlage", "UV"),
    ("mitteilungsvorlage", "MV"),
    ("informationsvorlage", "IV"),
    ("dringlichkeitsvorlage", "DV"),
    ("stellungnahme", "ST"),
    ("antrag", "AT"),
    ("anfrage", "AF"),
    ("antwort", "AW"),
    ("niederschrift", "NI"),
    ("protokoll", "NI"),
)
_HEADING_LINES = 4  # the type heading stands in the first lines, before the header block

_MONTHS = {
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5,
    "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11,
    "dezember": 12,
}  # fmt: skip

_OWN_REFERENCE = re.compile(
    r"^(?:Vorlage|Drucksache)(?:\s*-?\s*Nr\.?)?\s*:\s*(?P<rest>.*)$"
    r"|^(?:Vorlage|Drucksache)\s*-?\s*Nr\.?\s*(?P<rest2>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_DATE_LABEL = re.compile(r"\bDatum\s*:\s*(?P<value>[^\n]{0,40})", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})(?!\d)")
_WORD_DATE = re.compile(r"(?<!\d)(\d{1,2})\.\s*([A-Za-zÄÖÜäöü]+)\s+(\d{4})(?!\d)")
_LABEL = re.compile(r"^(?P<label>[A-ZÄÖÜ][\w ./-]{1,40}?)\s*:\s*(?P<rest>.*)$")
# Labels of the RIS header block and body sections: they end the Betreff and Gremienweg.
_KNOWN_LABELS = frozenset(
    {"vorlage", "drucksache", "datum", "verfasser", "betreff", "gremienweg", "beratungsfolge",
     "az.", "az", "aktenzeichen", "dezernat", "federführend", "beschlussempfehlung",
     "beschlussvorschlag", "beschluss", "begründung", "sachverhalt", "sachstand", "anlage",
     "anlagen", "unterrichtung", "stellungnahme", "antwort", "anfrage", "antrag", "protokoll",
     "finanzielle auswirkungen", "mitteilung", "information", "sitzung", "ort", "beginn", "ende",
     "tagesordnung", "anwesend", "abstimmungsergebnis", "ergebnis", "vorsitz"}
)  # fmt: skip
_HEADING_PREFIX = re.compile(r"^(?:nicht\s*)?öffentliche\s+", re.IGNORECASE)
_OFFICE_END = re.compile(
    r"\s+(?:Az\.?|Aktenzeichen|Datum|Tel\.?|Telefon|E-Mail)\s*:.*$", re.IGNORECASE
)
_GREMIENWEG = ("gremienweg", "beratungsfolge")
_MEETING = re.compile(
    r"Sitzung (?:des|der) (?P<committee>[A-ZÄÖÜ][\w\- ]+?(?: für [\w ]+?)?)"
    r" (?:am|vom) (?P<date>\d{1,2}\.\s?\d{1,2}\.\s?\d{4})"
)
_SESSION_LINE = re.compile(r"^(?P<date>\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2}))\s*(?P<rest>.*)$")
_SESSION_NOISE = re.compile(
    r"(?:\s+(?:einstimmig|mehrheitl(?:ich|\.)?|Kenntnis(?:nahme)?|Vorberatung|Entscheidung"
    r"|Beratung|TOP|nicht\s*öffentlich|öffentlich|Ö|N))+\s*$",
    re.IGNORECASE,
)
_TITLE_MAX = 200
_FIRST_SENTENCE = re.compile(r"(?<=[a-zäöüß)][.!?])\s+(?=[A-ZÄÖÜ])")


@dataclass(frozen=True)
class _Line:
    """A non-empty line and whether a blank line (paragraph break) precedes it."""

    text: str
    after_blank: bool


def extract_metadata(
    text: str, *, document_id: str, source: str, title_hint: str | None = None
) -> DocumentMetadata:
    """Metadata from the cleaned text of one document (visibility, url and hash stay default)."""
    lines = _lines(text)
    reference = _own_reference(text)
    type_code, doc_type = _document_type(reference, lines)
    return DocumentMetadata(
        document_id=document_id,
        title=_title(lines, title_hint),
        doc_type=doc_type,
        type_code=type_code,
        reference=reference,
        references=[ref for ref in find_references(text) if ref != reference],
        date=_document_date(text),
        office=_office(lines),
        committees=_committees(lines),
        source=source,
    )


def parse_german_date(value: str) -> str:
    """The first date in "10.09.2018" or "10. September 2018" form as ISO, "" if none."""
    candidates: list[tuple[int, str]] = []
    for match in _NUMERIC_DATE.finditer(value):
        day, month, year = (int(part) for part in match.groups())
        candidates.append((match.start(), _iso(year, month, day)))
    for match in _WORD_DATE.finditer(value):
        month = _MONTHS.get(match.group(2).lower(), 0)
        candidates.append((match.start(), _iso(int(match.group(3)), month, int(match.group(1)))))
    valid = sorted((pos, iso) for pos, iso in candidates if iso)
    return valid[0][1] if valid else ""


# --- helpers ----------------------------------------------------------------------------------
def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    blank = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            blank = True
            continue
        out.append(_Line(line, blank))
        blank = False
    return out


def _iso(year: int, month: int, day: int) -> str:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def _own_reference(text: str) -> str:
    """The number after "Vorlage:" in the header; "" when the document states none."""
    for match in _OWN_REFERENCE.finditer(text):
        refs = find_references(match.group("rest") or match.group("rest2") or "")
        if refs:
            return refs[0]
    return ""


def _document_type(reference: str, lines: list[_Line]) -> tuple[str, str]:
    code = reference.split("/", 1)[0] if reference else ""
    if code in DOC_TYPES:
        return code, DOC_TYPES[code]
    heading_code = _heading_type(lines)
    if heading_code:
        return heading_code, DOC_TYPES[heading_code]
    return "", ""


def _heading_type(lines: list[_Line]) -> str:
    """The type named by one of the first lines ("Stellungnahme", "Antrag der …", "Protokoll:")."""
    for line in lines[:_HEADING_LINES]:
        if _OWN_REFERENCE.match(line.text):
            break  # the header block starts; headings stand above it
        heading = _HEADING_PREFIX.sub("", line.text).lower()
        first = re.split(r"[\s:]+", heading, maxsplit=1)[0]
        for word, code in _HEADING_TYPES:
            if first == word:
                return code
    return ""


def _document_date(text: str) -> str:
    match = _DATE_LABEL.search(text)
    return parse_german_date(match.group("value")) if match else ""


def _label(line: _Line) -> tuple[str, str] | None:
    """(label, value) of a header or section line such as "Betreff: …"; None for other lines."""
    match = _LABEL.match(line.text)
    if match is None:
        return None
    label = " ".join(match.group("label").lower().split())
    if label not in _KNOWN_LABELS:
        return None
    return label, match.group("rest").strip()


def _label_value(lines: list[_Line], *labels: str) -> tuple[int, str] | None:
    """Index and same-line value of the first line labelled with one of ``labels``."""
    for index, line in enumerate(lines):
        found = _label(line)
        if found is not None and found[0] in labels:
            return index, found[1]
    return None


def _is_label(line: _Line) -> bool:
    return _label(line) is not None


def _office(lines: list[_Line]) -> str:
    found = _label_value(lines, "verfasser")
    if found is None:
        return ""
    index, value = found
    if not value and index + 1 < len(lines) and not _is_label(lines[index + 1]):
        value = lines[index + 1].text
    return _OFFICE_END.sub("", value).strip(" ,;")


def _title(lines: list[_Line], title_hint: str | None) -> str:
    betreff = _betreff(lines)
    if betreff:
        return betreff
    if title_hint and title_hint.strip():
        return " ".join(title_hint.split())
    heading_words = {word for word, _ in _HEADING_TYPES}
    for line in lines:
        text = line.text.strip(" :")
        if _is_label(line) or text.lower() in heading_words:
            continue
        if sum(ch.isalpha() for ch in text) >= 3:
            return _shorten(_FIRST_SENTENCE.split(text, maxsplit=1)[0])
    return ""


def _betreff(lines: list[_Line]) -> str:
    found = _label_value(lines, "betreff")
    if found is None:
        return ""
    index, value = found
    parts = [value] if value else []
    for line in lines[index + 1 :]:
        if _is_label(line) or (parts and line.after_blank):
            break
        parts.append(line.text)
    return _shorten(" ".join(parts))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TITLE_MAX:
        return text
    return text[: _TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


def _committees(lines: list[_Line]) -> list[CommitteeSession]:
    """The Gremienweg: one session per dated line; undated lines continue a wrapped name."""
    found = _label_value(lines, *_GREMIENWEG)
    if found is None:
        return _meeting_of_minutes(lines)
    index, value = found
    block = ([_Line(value, False)] if value else []) + _block_after(lines, index)
    dated = any(_SESSION_LINE.match(line.text) for line in block)
    sessions: list[tuple[str, str | None]] = []
    for line in block:
        match = _SESSION_LINE.match(line.text)
        if match:
            sessions.append((match.group("rest"), parse_german_date(match.group("date")) or None))
        elif sessions and dated:
            name, when = sessions[-1]
            sessions[-1] = (f"{name} {line.text}", when)
        else:
            sessions.append((line.text, None))
    result: list[CommitteeSession] = []
    for name, when in sessions:
        name = _SESSION_NOISE.sub("", name).strip(" ,;|")
        if name:
            result.append(CommitteeSession(committee=name, date=when))
    return result


def _meeting_of_minutes(lines: list[_Line]) -> list[CommitteeSession]:
    """Minutes name their meeting instead of a Gremienweg: "Sitzung des Stadtrates am …"."""
    for line in lines[: _HEADING_LINES + 6]:
        match = _MEETING.search(line.text)
        if match:
            return [
                CommitteeSession(
                    committee=_nominative(match.group("committee").strip()),
                    date=parse_german_date(match.group("date")) or None,
                )
            ]
    return []


def _nominative(committee: str) -> str:
    """ "Haupt- und Finanzausschusses" → "Haupt- und Finanzausschuss", "Stadtrates" → "Stadtrat"."""
    words = committee.split(" ")
    for i, word in enumerate(words):
        for genitive, base in (("usses", "uss"), ("rates", "rat"), ("rats", "rat"), ("ates", "at")):
            if word.endswith(genitive):
                words[i] = word[: -len(genitive)] + base
                return " ".join(words)
    return committee


def _block_after(lines: list[_Line], index: int) -> list[_Line]:
    """Lines after a label up to the next label or paragraph break.

    A paragraph break inside an open quotation ("Werkausschuss "Kommunales … Koblenz"")
    does not end the block: PDF exports wrap long committee names."""
    block: list[_Line] = []
    for line in lines[index + 1 :]:
        if _is_label(line):
            break
        if block and line.after_blank and not _open_quote(" ".join(b.text for b in block)):
            break
        block.append(line)
    return block


def _open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("„") > text.count("“")
