"""Reference numbers of council documents ("BV/0123/2024") and the type codes they carry."""

from __future__ import annotations

import re

# Type codes of reference numbers and the document types they stand for.
DOC_TYPES: dict[str, str] = {
    "BV": "Beschlussvorlage",
    "UV": "Unterrichtungsvorlage",
    "MV": "Mitteilungsvorlage",
    "IV": "Informationsvorlage",
    "DV": "Dringlichkeitsvorlage",
    "AT": "Antrag",
    "AN": "Antrag",
    "ST": "Stellungnahme",
    "AF": "Anfrage",
    "AW": "Antwort",
    "NI": "Niederschrift",
    "NS": "Niederschrift",
}
# "BV/0123/2024", "BV / 123 / 2024", "bv/123/2024" (typed questions), and "BV 123/2024"
# with a known code only: "KW 12/2024" is a calendar week, "an 12/2024" a preposition.
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9/])(?P<code>[A-Za-z]{2,3})(?P<sep>\s?/\s?|\s)"
    r"(?P<number>\d{1,4})\s?/\s?(?P<year>(?:19|20)\d{2})(?![0-9])"
)


def find_references(text: str) -> list[str]:
    """All reference numbers in a text as canonical "BV/0123/2024", deduplicated, in order."""
    found: list[str] = []
    for match in _REFERENCE.finditer(text):
        code = match.group("code")
        known = code.upper() in DOC_TYPES
        if "/" in match.group("sep"):
            if not (code.isupper() or known):
                continue
        elif not (code.isupper() and known):
            continue
        ref = f"{code.upper()}/{int(match.group('number')):04d}/{match.group('year')}"
        if ref not in found:
            found.append(ref)
    return found
