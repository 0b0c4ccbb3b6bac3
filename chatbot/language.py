"""The asker's language (German or English) and the fixed sentences in each."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

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


@lru_cache(maxsize=1)
def _glossary() -> dict[str, list[str]]:
    text = resources.files("chatbot.data").joinpath("glossary_en_de.txt").read_text("utf-8")
    glossary: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        english, german = line.split("=", 1)
        for word in english.split():
            glossary.setdefault(word.lower(), []).extend(german.split())
    return glossary


def with_german_terms(question: str) -> str:
    """An English question followed by the German council terms for its words (for search)."""
    glossary = _glossary()
    german = [g for w in re.findall(r"[a-z]+", question.lower()) for g in glossary.get(w, [])]
    return f"{question} ({' '.join(dict.fromkeys(german))})" if german else question
