"""The asker's language (German or English) and the fixed sentences in each."""

from __future__ import annotations

import re

REFUSALS = {
    "de": "Dazu habe ich in den vorliegenden Dokumenten keine Information gefunden.",
    "en": "I could not find information on this in the available documents.",
}
_ENGLISH = frozenset(
    "the what which who when where why how is are was were does do did will would can could "
    "of to for about and with from this that there many much cost costs council city "
    "decided decision school building ".split()
)
_GERMAN = frozenset(
    "der die das was welche welcher wer wann wo warum wie ist sind wurde wurden hat haben "
    "und mit von für zum zur den dem des ein eine im am gibt beschlossen kostet stadt rat ".split()
)


def detect_language(text: str) -> str:
    """'en' when the text reads as English, else 'de' (German is the default)."""
    tokens = re.findall(r"[a-zäöüß]+", text.lower())
    english = sum(t in _ENGLISH for t in tokens)
    german = sum(t in _GERMAN for t in tokens) + 2 * bool(re.search(r"[äöüß]", text.lower()))
    return "en" if english > german else "de"


def refusal(language: str) -> str:
    """The refusal sentence in the asker's language."""
    return REFUSALS.get(language, REFUSALS["de"])


def is_refusal(text: str) -> bool:
    """True when an answer text is (or starts with) a refusal sentence."""
    normalised = " ".join(text.split()).lower()
    return any(normalised.startswith(r.lower()[:40]) for r in REFUSALS.values())
